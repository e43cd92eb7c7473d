use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{json_body, problem, spawn_app};

#[tokio::test]
async fn partner_keys_open_their_own_organization_only() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let keys = format!("/api/v1/orgs/{org}/api-keys");
    let created = json_body(
        app.post(
            &keys,
            &owner.token,
            json!({"name": "Partner", "scopes": ["integrations:read"]}),
        )
        .await,
        201,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pb_"));

    // Listed without the secret; the stored hash is not the key.
    let list = json_body(app.get(&keys, &owner.token).await, 200).await;
    assert!(!list.to_string().contains(&secret));
    assert_eq!(list["data"][0]["prefix"], &secret[..10]);
    let hashes = app.column_text("api_keys", "key_hash").await;
    assert_eq!(hashes.len(), 1);
    assert!(!hashes[0].contains(&secret[3..]));

    let integrations = format!("/api/v1/orgs/{org}/integrations");
    let read = json_body(app.get(&integrations, &secret).await, 200).await;
    assert!(!read["data"].as_array().unwrap().is_empty());
    let last_used = json_body(app.get(&keys, &owner.token).await, 200).await;
    assert!(last_used["data"][0]["last_used_at"].is_string());

    // Read scope cannot write, and keys never manage keys or members.
    problem(
        app.patch(
            &format!("{integrations}/openai"),
            &secret,
            json!({"enabled": false}),
        )
        .await,
        403,
    )
    .await;
    problem(app.get(&keys, &secret).await, 403).await;
    // Nor does an integrations scope open who belongs to the organization.
    let members = format!("/api/v1/orgs/{org}/members");
    let invitations = format!("/api/v1/orgs/{org}/invitations");
    for path in [&members, &invitations] {
        let refused = problem(app.get(path, &secret).await, 403).await;
        assert!(
            refused["detail"].as_str().unwrap().contains("members:read"),
            "{refused}"
        );
    }
    // A key with `members:read` reads them, and nothing else.
    let people = json_body(
        app.post(
            &keys,
            &owner.token,
            json!({"name": "Directory", "scopes": ["members:read"]}),
        )
        .await,
        201,
    )
    .await;
    let people = people["secret"].as_str().unwrap();
    let listed = json_body(app.get(&members, people).await, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    json_body(app.get(&invitations, people).await, 200).await;
    let refused = problem(app.get(&integrations, people).await, 403).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("integrations:read"),
        "{refused}"
    );

    // Another organization does not exist for this key, as for any non-member.
    let (_, other_org) = app.owner_with_org().await;
    problem(
        app.get(&format!("/api/v1/orgs/{other_org}/integrations"), &secret)
            .await,
        404,
    )
    .await;
    // A key nobody issued is not a key at all.
    problem(
        app.get(&integrations, "pb_not-a-key-anyone-issued").await,
        401,
    )
    .await;

    // Revoked keys stop at once.
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.request(
            Method::DELETE,
            &format!("{keys}/{id}"),
            Some(&owner.token),
            None
        )
        .await
        .status(),
        204
    );
    problem(app.get(&integrations, &secret).await, 401).await;
    problem(
        app.request(
            Method::DELETE,
            &format!("{keys}/{id}"),
            Some(&owner.token),
            None,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_write_key_connects_providers() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let created: Value = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            &owner.token,
            json!({"name": "CI", "scopes": ["integrations:write"]}),
        )
        .await,
        201,
    )
    .await;
    let secret = created["secret"].as_str().unwrap();
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", "Bearer sk-test-partnerkey0000001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&app.provider)
        .await;
    let saved = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/openai"),
            secret,
            json!({"credentials": {"api_key": "sk-test-partnerkey0000001"}}),
        )
        .await;
    assert_eq!(json_body(saved, 200).await["status"], "connected");
    let events = json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations/openai/events"),
            &owner.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(events["data"][0]["actor_type"], "api_key");
    assert_eq!(events["data"][0]["actor_id"], created["id"]);
}

#[tokio::test]
async fn bad_key_requests_are_explained() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let keys = format!("/api/v1/orgs/{org}/api-keys");
    let body = problem(
        app.post(
            &keys,
            &owner.token,
            json!({"name": "x", "scopes": ["everything"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "scopes");
    let member = app.add_member(&owner, &org, "member").await;
    problem(
        app.post(
            &keys,
            &member.token,
            json!({"name": "x", "scopes": ["integrations:read"]}),
        )
        .await,
        403,
    )
    .await;
    let (other, _) = app.owner_with_org().await;
    problem(app.get(&keys, &other.token).await, 404).await;
}

#[tokio::test]
async fn a_partner_front_end_on_an_allowed_origin_may_call_from_a_browser() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        configure: |s| s.cors_origins = vec!["https://partner.example".to_owned()],
        ..Default::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    let integrations = app.url(&format!("/api/v1/orgs/{org}/integrations"));
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, &integrations)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header(
                "Access-Control-Request-Headers",
                "authorization, if-none-match",
            )
            .send()
    };
    let allowed = preflight("https://partner.example").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://partner.example"
    );
    let read = app
        .client
        .get(&integrations)
        .bearer_auth(&owner.token)
        .header("Origin", "https://partner.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.headers()["access-control-allow-origin"],
        "https://partner.example"
    );
    let exposed = read.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    // Every header the document says a client reads, it can read from a page.
    for header in [
        "etag",
        "location",
        "retry-after",
        "ratelimit",
        "ratelimit-policy",
        "idempotent-replayed",
    ] {
        assert!(
            exposed.split(',').any(|h| h.trim() == header),
            "{header} not in {exposed}"
        );
    }
    // Another origin is not allowed.
    let other = preflight("https://elsewhere.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Off by default: no origin is allowed.
    let closed = spawn_app().await;
    let (owner, org) = closed.owner_with_org().await;
    let read = closed
        .client
        .get(closed.url(&format!("/api/v1/orgs/{org}/integrations")))
        .bearer_auth(&owner.token)
        .header("Origin", "https://partner.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert!(read.headers().get("access-control-allow-origin").is_none());
}

/// Every 201 says where the new thing is, and the path answers for it.
#[tokio::test]
async fn what_is_created_is_located() {
    let app = spawn_app().await;
    let location = |response: &reqwest::Response| {
        assert_eq!(response.status(), 201);
        response.headers()["location"].to_str().unwrap().to_owned()
    };
    let signup = app
        .request(
            Method::POST,
            "/api/v1/auth/signup",
            None,
            Some(json!({"email": "lou@example.com", "password": "correct horse battery", "name": "Lou"})),
        )
        .await;
    assert_eq!(location(&signup), "/api/v1/me");
    let token = json_body(signup, 201).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    json_body(app.get("/api/v1/me", &token).await, 200).await;

    let created = app
        .post("/api/v1/orgs", &token, json!({"name": "Lou's"}))
        .await;
    let org_at = location(&created);
    let org = json_body(created, 201).await;
    assert_eq!(
        org_at,
        format!("/api/v1/orgs/{}", org["id"].as_str().unwrap())
    );
    assert_eq!(
        json_body(app.get(&org_at, &token).await, 200).await["id"],
        org["id"]
    );

    let created = app
        .post(
            &format!("{org_at}/api-keys"),
            &token,
            json!({"name": "Partner", "scopes": ["integrations:read"]}),
        )
        .await;
    let key_at = location(&created);
    let key = json_body(created, 201).await;
    assert_eq!(
        key_at,
        format!("{org_at}/api-keys/{}", key["id"].as_str().unwrap())
    );
    let revoked = app
        .request(Method::DELETE, &key_at, Some(&token), None)
        .await;
    assert_eq!(revoked.status(), 204);

    for (route, email) in [
        ("invitations", "ana@example.com"),
        ("members", "bo@example.com"),
    ] {
        let created = app
            .post(
                &format!("{org_at}/{route}"),
                &token,
                json!({"email": email, "role": "member"}),
            )
            .await;
        let invitation_at = location(&created);
        let invitation = json_body(created, 201).await;
        assert_eq!(
            invitation_at,
            format!(
                "{org_at}/invitations/{}",
                invitation["id"].as_str().unwrap()
            ),
            "{route}"
        );
        let revoked = app
            .request(Method::DELETE, &invitation_at, Some(&token), None)
            .await;
        assert_eq!(revoked.status(), 204, "{route}");
    }
}
