//! One notice per incident: a revoked grant turns the connection `expired` and the org's
//! webhook gets one signed `broken` event; failing again sends nothing more; reconnecting sends
//! one `recovered` event naming the incident it closes. Another org hears nothing.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{Options, TestApp, json_body, spawn_app_with};
use crate::sandbox::{SANDBOX_ADMIN, connect, set_mode};

async fn app() -> TestApp {
    spawn_app_with(Options {
        sandbox: true,
        admin_emails: vec![SANDBOX_ADMIN.to_owned()],
        allow_private_network: true,
        configure: |s| {
            s.background.enabled = true;
            s.background.delivery_interval = Duration::from_millis(200);
        },
        ..Options::default()
    })
    .await
}

/// The events the receiver got, once it has `count` of them.
async fn received(receiver: &MockServer, count: usize) -> Vec<Request> {
    for _ in 0..100 {
        let got = receiver.received_requests().await.unwrap();
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the receiver never got {count} requests");
}

fn signed_body(secret: &str, request: &Request) -> Value {
    let header = |name: &str| request.headers[name].to_str().unwrap().to_owned();
    assert!(domain::webhooks::verify(
        &SecretString::from(secret.to_owned()),
        &header("webhook-id"),
        header("webhook-timestamp").parse().unwrap(),
        &request.body,
        &header("webhook-signature"),
        chrono::Utc::now().timestamp(),
    ));
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn a_revoked_grant_sends_one_broken_event_and_reconnecting_one_recovered_event() {
    let app = app().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (owner, org) = app.owner_with_org().await;
    let saved = json_body(
        app.request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/notification-settings"),
            Some(&owner.token),
            Some(json!({"webhook_url": receiver.uri()})),
        )
        .await,
        200,
    )
    .await;
    let secret = saved["webhook_secret"].as_str().unwrap().to_owned();
    // Another organization with the same provider and no receiver of its own.
    let (other, other_org) = app.owner_with_org().await;
    connect(&app, &other.token, &other_org, "linkedin", json!({})).await;

    connect(&app, &owner.token, &org, "linkedin", json!({})).await;
    set_mode(&app, "linkedin", "revoked").await;
    let refresh = format!("/api/v1/orgs/{org}/integrations/linkedin/refresh");
    let expired = json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
    assert_eq!(expired["status"], "expired");
    // Failing again is the same incident: no second notice.
    let again = json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
    assert_eq!(again["status"], "expired");

    let first = received(&receiver, 1).await;
    let broken = signed_body(&secret, &first[0]);
    assert_eq!(broken["type"], "connection.broken");
    let data = &broken["data"];
    assert_eq!(data["org_id"], org);
    assert_eq!(data["org_name"], "Acme Brand");
    assert_eq!(data["provider"], "linkedin");
    assert_eq!(data["old_status"], "connected");
    assert_eq!(data["new_status"], "expired");
    assert_eq!(data["error"]["code"], "refresh_refused");
    assert!(
        data["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Reconnect LinkedIn")
    );
    assert_eq!(
        data["settings_url"],
        app.url("/settings/integrations/linkedin")
    );
    let incident = data["incident_id"].as_str().unwrap().to_owned();

    // Reconnecting closes the incident with one recovered event that names it.
    let back = connect(&app, &owner.token, &org, "linkedin", json!({})).await;
    assert_eq!(back["status"], "connected");
    let both = received(&receiver, 2).await;
    let recovered = signed_body(&secret, &both[1]);
    assert_eq!(recovered["type"], "connection.recovered");
    assert_eq!(recovered["data"]["incident_id"], incident);
    assert_eq!(recovered["data"]["old_status"], "expired");
    assert_eq!(recovered["data"]["new_status"], "connected");
    assert_ne!(both[0].headers["webhook-id"], both[1].headers["webhook-id"]);

    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received_requests().await.unwrap().len(),
        2,
        "one notice each"
    );
    // The list shows both, delivered, and the connection's history has each delivery.
    let list = json_body(
        app.get(&format!("/api/v1/orgs/{org}/notifications"), &owner.token)
            .await,
        200,
    )
    .await;
    let kinds: Vec<(&str, &str)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("recovered", "delivered"), ("broken", "delivered")]);
    let history = json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations/linkedin/events"),
            &owner.token,
        )
        .await,
        200,
    )
    .await;
    let notified = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "notification" && e["success"] == true)
        .count();
    assert_eq!(notified, 2);
    // The other organization's connection is untouched and it was sent nothing.
    let theirs = app.integration(&other.token, &other_org, "linkedin").await;
    assert_eq!(theirs["status"], "connected");
    let none = json_body(
        app.get(
            &format!("/api/v1/orgs/{other_org}/notifications"),
            &other.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(none["data"], json!([]));
}
