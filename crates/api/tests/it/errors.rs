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

/// The one field a 422 problem names.
async fn refused_field(response: reqwest::Response) -> String {
    let body = problem(response, 422).await;
    assert_eq!(body["code"], "validation_failed", "{body}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    errors[0]["field"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn control_characters_in_any_string_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();

    // Before sign-in too: the login's e-mail would otherwise reach the database.
    let login = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ali\u{0}ce@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(refused_field(login).await, "email");
    let signup = app
        .request(
            Method::POST,
            "/api/v1/auth/signup",
            None,
            Some(json!({"email": "nul@example.com", "password": "correct horse battery", "name": "A\u{0}nn"})),
        )
        .await;
    assert_eq!(refused_field(signup).await, "name");

    let cases = [
        (
            "/api/v1/orgs".to_owned(),
            json!({"name": "Ac\u{0}me"}),
            "name",
        ),
        (
            format!("/api/v1/orgs/{org}/api-keys"),
            json!({"name": "CI\u{1b}[31m", "scopes": ["integrations:read"]}),
            "name",
        ),
        (
            format!("/api/v1/orgs/{org}/api-keys"),
            json!({"name": "CI", "scopes": ["integrations:read", "x\u{0}"]}),
            "scopes[1]",
        ),
        (
            format!("/api/v1/orgs/{org}/members"),
            json!({"email": "bob\u{0}@example.com", "role": "member"}),
            "email",
        ),
        (
            format!("/api/v1/orgs/{org}/invitations"),
            json!({"email": "bob@example.com\u{7f}", "role": "member"}),
            "email",
        ),
    ];
    for (path, body, field) in cases {
        assert_eq!(
            refused_field(app.post(&path, token, body).await).await,
            field
        );
    }
    let onboarding = app
        .patch(
            &format!("/api/v1/orgs/{org}/onboarding/steps/basic_info"),
            token,
            json!({"action": "complete", "data": {"name": "Acme\u{0}", "timezone": "UTC"}}),
        )
        .await;
    assert_eq!(refused_field(onboarding).await, "data.name");
    let config = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/openai"),
            token,
            json!({"config": {"organization": "org\u{0}1"}}),
        )
        .await;
    assert_eq!(refused_field(config).await, "config.organization");
    let query = app
        .get(
            &format!("/api/v1/orgs/{org}/integrations/openai/events?cursor=a%00b"),
            token,
        )
        .await;
    assert_eq!(refused_field(query).await, "cursor");

    // Line breaks and tabs are text (a PEM key, a message), not control codes to refuse.
    let multiline = app
        .post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            token,
            json!({"name": "CI\tkey", "scopes": ["integrations:read"]}),
        )
        .await;
    assert_eq!(multiline.status(), 201);

    // Nothing was stored by any refused request.
    let names = app.column_text("organizations", "name").await;
    assert!(names.iter().all(|n| !n.contains('\u{0}')), "{names:?}");

    // Another organization's path does not exist for this caller, whatever the body holds:
    // the tenant check comes before any body is read.
    let (_, other_org) = app.owner_with_org().await;
    let cross = app
        .post(
            &format!("/api/v1/orgs/{other_org}/api-keys"),
            token,
            json!({"name": "\u{0}", "scopes": ["integrations:read"]}),
        )
        .await;
    assert_eq!(problem(cross, 404).await["code"], "not_found");
}

#[tokio::test]
async fn every_wrong_method_is_a_problem_naming_the_allowed_ones() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (Method::TRACE, "/healthz", "GET"),
        (Method::POST, "/healthz", "GET"),
        (Method::DELETE, "/readyz", "GET"),
        (Method::POST, "/metrics", "GET"),
        (Method::POST, "/api/openapi.json", "GET"),
        (Method::PUT, "/api/v1/auth/login", "POST"),
    ] {
        let response = app.request(method.clone(), path, None, None).await;
        assert_eq!(
            response.headers().get("allow").map(|v| v.to_str().unwrap()),
            Some(allow),
            "{method} {path}"
        );
        let body = problem(response, 405).await;
        assert_eq!(body["code"], "method_not_allowed", "{method} {path}");
    }
}

/// A body over the limit is a 413 problem on every kind of route: outside an organization, an
/// organization's JSON body, and a raw body read whole (OAuth start), whatever the size.
#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_on_every_route_kind() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    for size in [70 * 1024, 300 * 1024, 1024 * 1024] {
        let big = "x".repeat(size);
        let routes = [
            (
                Method::POST,
                "/api/v1/auth/signup".to_owned(),
                json!({"email": "a@example.com", "password": "correct horse battery", "name": big}),
            ),
            (
                Method::PATCH,
                format!("/api/v1/orgs/{org}/integrations/openai"),
                json!({"credentials": {"api_key": big}}),
            ),
            (
                Method::POST,
                format!("/api/v1/orgs/{org}/integrations/shopify/oauth/start"),
                json!({"return_to": big}),
            ),
            (
                Method::POST,
                "/api/v1/orgs".to_owned(),
                json!({"name": big}),
            ),
        ];
        for (method, path, body) in routes {
            let answer = app
                .request(method, &path, Some(&owner.token), Some(body))
                .await;
            let found = problem(answer, 413).await;
            assert_eq!(found["code"], "body_too_large", "{path} at {size} bytes");
        }
    }
}

/// Sends `body` after headers whose `Content-Length` claims `claimed` bytes, then closes the
/// sending side; the raw answer.
async fn send_cut_short(
    app: &crate::helpers::TestApp,
    path: &str,
    token: &str,
    body: &str,
    claimed: usize,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {claimed}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A client that closes before sending all the bytes its `Content-Length` promised gets a 400
/// problem, and what it did send is not acted on, even when it parses as a whole document.
#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_a_400_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (owner, _) = app.owner_with_org().await;
    let signup = r#"{"email":"cut@example.com","password":"correct horse battery","name":"Cut"}"#;
    let answer = send_cut_short(&app, "/api/v1/auth/signup", "", signup, signup.len() + 40).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    let org = r#"{"name":"Cut short"}"#;
    let answer = send_cut_short(&app, "/api/v1/orgs", &owner.token, org, org.len() + 10).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    let login = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "cut@example.com", "password": "correct horse battery"})),
        )
        .await;
    problem(login, 401).await;
    assert!(
        app.column_text("organizations", "name")
            .await
            .iter()
            .all(|n| n != "Cut short")
    );
}
