use reqwest::Method;
use serde_json::json;

use crate::helpers::{json_body, problem, spawn_app};

/// A member of org B meets 404 on every org-A route, and org A's data stays as it was.
#[tokio::test]
async fn another_tenants_routes_do_not_exist_for_you() {
    let app = spawn_app().await;
    app.answer("GET", "/v1/models", 200, json!({"data": []}))
        .await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let saved = app
        .patch(
            &format!("/api/v1/orgs/{org_a}/integrations/openai"),
            &owner_a.token,
            json!({"credentials": {"api_key": "sk-test-tenantaaaaaaaaaaaa"}}),
        )
        .await;
    json_body(saved, 200).await;
    let before = json_body(
        app.get(
            &format!("/api/v1/orgs/{org_a}/integrations"),
            &owner_a.token,
        )
        .await,
        200,
    )
    .await;
    let (owner_b, _org_b) = app.owner_with_org().await;

    let a = format!("/api/v1/orgs/{org_a}");
    let routes: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, a.clone(), None),
        (Method::GET, format!("{a}/members"), None),
        (
            Method::POST,
            format!("{a}/members"),
            Some(json!({"email": owner_b.email, "role": "owner"})),
        ),
        (
            Method::PATCH,
            format!("{a}/members/{}", owner_a.id),
            Some(json!({"role": "member"})),
        ),
        (Method::DELETE, format!("{a}/members/{}", owner_a.id), None),
        (Method::GET, format!("{a}/api-keys"), None),
        (
            Method::POST,
            format!("{a}/api-keys"),
            Some(json!({"name": "x", "scopes": ["integrations:write"]})),
        ),
        (
            Method::DELETE,
            format!("{a}/api-keys/{}", uuid::Uuid::new_v4()),
            None,
        ),
        (Method::GET, format!("{a}/integrations"), None),
        (Method::GET, format!("{a}/integrations/openai"), None),
        (
            Method::PATCH,
            format!("{a}/integrations/openai"),
            Some(json!({"enabled": false})),
        ),
        (
            Method::POST,
            format!("{a}/integrations/openai/test"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("{a}/integrations/openai/disconnect"),
            Some(json!({})),
        ),
        (Method::GET, format!("{a}/integrations/openai/events"), None),
        // Even malformed bodies and unknown paths answer 404 before anything is parsed.
        (
            Method::PATCH,
            format!("{a}/integrations/openai"),
            Some(json!("not an object")),
        ),
        (Method::GET, format!("{a}/no-such-thing"), None),
    ];
    for (method, path, body) in routes {
        let response = app
            .request(method.clone(), &path, Some(&owner_b.token), body)
            .await;
        let body = problem(response, 404).await;
        assert_eq!(body["code"], "not_found", "{method} {path}");
    }
    let after = json_body(
        app.get(
            &format!("/api/v1/orgs/{org_a}/integrations"),
            &owner_a.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(before, after);
    assert_eq!(
        json_body(app.get(&format!("{a}/members"), &owner_a.token).await, 200).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A made-up organization id is no different from someone else's.
    problem(
        app.get(
            &format!("/api/v1/orgs/{}/integrations", uuid::Uuid::new_v4()),
            &owner_b.token,
        )
        .await,
        404,
    )
    .await;
    problem(
        app.get("/api/v1/orgs/not-a-uuid/integrations", &owner_b.token)
            .await,
        404,
    )
    .await;
}
