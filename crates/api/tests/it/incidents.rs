//! One notice per incident: a revoked grant turns the connection `expired` and the org's
//! webhook gets one signed `broken` event; failing again sends nothing more; reconnecting sends
//! one `recovered` event naming the incident it closes. Another org hears nothing.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};
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

/// The messages in one of the sandbox workspace's channels, read through the proxy.
async fn slack_history(app: &TestApp, token: &str, org: &str, channel: &str) -> Vec<String> {
    let url = format!(
        "/api/v1/orgs/{org}/integrations/slack/proxy/conversations.history?channel={channel}"
    );
    let history = json_body(app.get(&url, token).await, 200).await;
    assert_eq!(history["ok"], true, "{history}");
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn slack_routed(app: &TestApp, token: &str, org: &str, channel: &str, notices: Value) {
    connect(app, token, org, "slack", json!({})).await;
    let pointed = json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/slack"),
            token,
            json!({"config": {"channel_id": channel}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(pointed["config"]["channel_id"], channel);
    let saved = json_body(
        app.request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/notification-settings"),
            Some(token),
            Some(json!({"slack_app_notices": notices})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(saved["slack_app_notices"], notices);
    assert_eq!(saved["slack_app_channel"], channel);
}

#[tokio::test]
async fn a_broken_notice_is_posted_through_slack_in_the_chosen_channel_only() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    // Without a Slack connection there is nowhere to post.
    let refused = problem(
        app.request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/notification-settings"),
            Some(&owner.token),
            Some(json!({"slack_app_notices": ["broken"]})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "slack_app_notices");

    slack_routed(&app, &owner.token, &org, "C0SANDBOX03", json!(["broken"])).await;
    // Another organization posts its recoveries only, to its own channel.
    let (other, other_org) = app.owner_with_org().await;
    slack_routed(
        &app,
        &other.token,
        &other_org,
        "C0SANDBOX05",
        json!(["recovered"]),
    )
    .await;
    connect(&app, &other.token, &other_org, "linkedin", json!({})).await;

    connect(&app, &owner.token, &org, "linkedin", json!({})).await;
    set_mode(&app, "linkedin", "revoked").await;
    for (token, org) in [(&owner.token, &org), (&other.token, &other_org)] {
        let refresh = format!("/api/v1/orgs/{org}/integrations/linkedin/refresh");
        let expired = json_body(app.post(&refresh, token, json!({})).await, 200).await;
        assert_eq!(expired["status"], "expired");
    }

    let mut posted = Vec::new();
    for _ in 0..100 {
        posted = slack_history(&app, &owner.token, &org, "C0SANDBOX03").await;
        if !posted.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(
        posted[0].starts_with("LinkedIn for Acme Brand is expired:"),
        "{}",
        posted[0]
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        slack_history(&app, &owner.token, &org, "C0SANDBOX03")
            .await
            .len(),
        1
    );
    for channel in ["C0SANDBOX04", "C0SANDBOX05"] {
        assert!(
            slack_history(&app, &owner.token, &org, channel)
                .await
                .is_empty(),
            "{channel}"
        );
    }
    // Posting notices is not the brand's use of the connection: its last use is the owner's
    // reading of the channel.
    let slack = app.integration(&owner.token, &org, "slack").await;
    assert_eq!(slack["last_used"]["by_type"], "user", "{slack}");
    let list = json_body(
        app.get(&format!("/api/v1/orgs/{org}/notifications"), &owner.token)
            .await,
        200,
    )
    .await;
    assert_eq!(list["data"][0]["channel"], "slack_app");
    assert_eq!(list["data"][0]["status"], "delivered");
}
