//! `Idempotency-Key`: a retried POST gets the first answer (a key shown once stays shown once,
//! and is kept sealed), the same key with another body is a 422, a retry while the first
//! request runs is a 409; keys belong to one caller in one organization.

use std::time::Duration;

use reqwest::Response;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, json_body, problem, spawn_app};

async fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retried_post_gets_the_first_answer_and_does_the_work_once() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let keys = format!("/api/v1/orgs/{org}/api-keys");
    let body = json!({"name": "Warehouse", "scopes": ["integrations:read"]});
    let first = post_with_key(&app, &keys, &owner.token, "retry-1", body.clone()).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_body(first, 201).await;
    let again = post_with_key(&app, &keys, &owner.token, "retry-1", body.clone()).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let again = json_body(again, 201).await;
    assert_eq!(again, first, "the same key, shown the same once more");
    let listed = json_body(app.get(&keys, &owner.token).await, 200).await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "one key was made"
    );
    // The kept answer holds the secret sealed, never in the clear.
    let secret = first["secret"].as_str().unwrap();
    let kept = app.column_text("idempotency_keys", "body").await;
    assert_eq!(kept.len(), 1);
    assert!(!kept[0].contains(secret) && !kept[0].contains(&secret[3..]));

    // The same key with another request is refused; nothing is made.
    let other = post_with_key(
        &app,
        &keys,
        &owner.token,
        "retry-1",
        json!({"name": "Other", "scopes": ["integrations:read"]}),
    )
    .await;
    let refused = problem(other, 422).await;
    assert_eq!(refused["code"], "idempotency_key_reused");
    // Without a key, every POST does the work.
    json_body(app.post(&keys, &owner.token, body.clone()).await, 201).await;
    json_body(app.post(&keys, &owner.token, body.clone()).await, 201).await;
    let listed = json_body(app.get(&keys, &owner.token).await, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3);
    // A key that is not one is a 400.
    let bad = post_with_key(&app, &keys, &owner.token, &"k".repeat(256), body.clone()).await;
    assert_eq!(problem(bad, 400).await["code"], "invalid_idempotency_key");
    // An answer that was a refusal is kept too.
    let invalid = json!({"name": "", "scopes": []});
    let first = post_with_key(&app, &keys, &owner.token, "retry-2", invalid.clone()).await;
    assert_eq!(first.status(), 422);
    let again = post_with_key(&app, &keys, &owner.token, "retry-2", invalid).await;
    assert_eq!(again.status(), 422);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
}

#[tokio::test]
async fn keys_belong_to_one_caller_in_one_organization() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let admin = app.add_member(&owner, &org, "admin").await;
    let (other, other_org) = app.owner_with_org().await;
    let body = json!({"name": "Partner", "scopes": ["integrations:read"]});
    let path = |org: &str| format!("/api/v1/orgs/{org}/api-keys");
    let mine = json_body(
        post_with_key(&app, &path(&org), &owner.token, "shared", body.clone()).await,
        201,
    )
    .await;
    // Another admin of the same organization with the same key does its own work.
    let theirs = json_body(
        post_with_key(&app, &path(&org), &admin.token, "shared", body.clone()).await,
        201,
    )
    .await;
    assert_ne!(mine["id"], theirs["id"]);
    // Another organization's owner too, and never sees this one's answer.
    let foreign = json_body(
        post_with_key(
            &app,
            &path(&other_org),
            &other.token,
            "shared",
            body.clone(),
        )
        .await,
        201,
    )
    .await;
    assert_ne!(foreign["id"], mine["id"]);
    assert_ne!(foreign["secret"], mine["secret"]);
    // A key belongs to one operation: the same value sent elsewhere is another key.
    let invited = post_with_key(
        &app,
        &format!("/api/v1/orgs/{org}/invitations"),
        &owner.token,
        "shared",
        json!({"email": "guest@example.com", "role": "member"}),
    )
    .await;
    assert_eq!(invited.status(), 201);
    assert!(invited.headers().get("idempotent-replayed").is_none());
    // And a stranger's key on this organization is still a 404.
    problem(
        post_with_key(&app, &path(&org), &other.token, "shared", body).await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_retry_while_the_first_request_runs_is_a_409() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "linkedin", "at-1", &[])
        .await;
    // The provider takes a while to answer the check.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"sub": "member-1", "name": "Acme"}))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&app.provider)
        .await;
    let test = format!("/api/v1/orgs/{org}/integrations/linkedin/test");
    let first = post_with_key(&app, &test, &owner.token, "check-1", json!({}));
    let second = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        post_with_key(&app, &test, &owner.token, "check-1", json!({})).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status(), 200);
    let busy = problem(second, 409).await;
    assert_eq!(busy["code"], "idempotency_in_flight");
    // Once it has finished, the retry gets its answer; the provider was asked once.
    let replayed = post_with_key(&app, &test, &owner.token, "check-1", json!({})).await;
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.status(), 200);
    assert_eq!(app.provider.received_requests().await.unwrap().len(), 1);
}
