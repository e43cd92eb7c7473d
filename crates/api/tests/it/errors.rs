use reqwest::Method;
use serde_json::json;

use crate::helpers::{json_body, problem, spawn_app};

#[tokio::test]
async fn bad_requests_get_problem_documents() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let url = app.url(&format!("/api/v1/orgs/{org}/integrations/openai"));

    let malformed = app
        .client
        .patch(&url)
        .bearer_auth(&owner.token)
        .header("content-type", "application/json")
        .body("{\"credentials\":")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(malformed, 400).await["code"], "malformed_json");

    let unknown = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/openai"),
            &owner.token,
            json!({"credentialz": {}}),
        )
        .await;
    let body = problem(unknown, 422).await;
    assert!(
        body["detail"].as_str().unwrap().contains("credentialz"),
        "{body}"
    );

    let huge = json!({"config": {"organization": "x".repeat(100 * 1024)}});
    assert_eq!(
        problem(
            app.patch(
                &format!("/api/v1/orgs/{org}/integrations/openai"),
                &owner.token,
                huge
            )
            .await,
            413
        )
        .await["code"],
        "body_too_large"
    );

    let text = app
        .client
        .patch(&url)
        .bearer_auth(&owner.token)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    problem(text, 415).await;

    let query = app
        .get(
            &format!("/api/v1/orgs/{org}/integrations/openai/events?limit=lots"),
            &owner.token,
        )
        .await;
    assert_eq!(problem(query, 400).await["code"], "invalid_query");
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    problem(app.get("/api/v1/nothing-here", &owner.token).await, 404).await;
    problem(
        app.request(Method::GET, "/definitely/not/here", None, None)
            .await,
        404,
    )
    .await;
    let wrong = app
        .request(
            Method::DELETE,
            &format!("/api/v1/orgs/{org}/integrations"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(wrong.headers().get("allow").unwrap(), "GET");
    assert_eq!(problem(wrong, 405).await["code"], "method_not_allowed");
    let wrong = app
        .request(Method::PUT, "/api/v1/auth/login", None, None)
        .await;
    problem(wrong, 405).await;
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let app = spawn_app().await;
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert!(health.headers().get("x-request-id").is_some());
    let health = json_body(health, 200).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["sandbox"], false,
        "the sandbox is off unless asked for"
    );
    assert_eq!(
        json_body(app.request(Method::GET, "/readyz", None, None).await, 200).await["status"],
        "ready"
    );
    let docs = app.request(Method::GET, "/api/docs/", None, None).await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let spec = json_body(
        app.request(Method::GET, "/api/openapi.json", None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(spec["openapi"], "3.1.0");
    // The served document is the committed one, shared answers included.
    assert_eq!(
        spec,
        serde_json::from_str::<serde_json::Value>(&api::openapi::document_json().unwrap()).unwrap()
    );
}
