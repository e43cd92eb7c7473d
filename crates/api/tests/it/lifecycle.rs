//! Writes to one connection that race: a token refresh and a PATCH never lose each other's
//! change — both are kept, or the late one is answered `409 conflict` with nothing written.

use std::time::Duration;

use serde_json::json;
use url::Url;
use wiremock::matchers::{body_string_contains, method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};

const GOOGLE_ADS: &[(&str, &str)] = &[
    ("GOOGLE_ADS_CLIENT_ID", "gads-client"),
    ("GOOGLE_ADS_CLIENT_SECRET", "gads-secret"),
    ("GOOGLE_ADS_DEVELOPER_TOKEN", "gads-dev"),
];

const VERIFY: &str = r"^/v[0-9]+/customers:listAccessibleCustomers$";

async fn app() -> TestApp {
    spawn_app_with(Options {
        platform_env: GOOGLE_ADS.to_vec(),
        ..Options::default()
    })
    .await
}

/// Connects Google Ads by OAuth with refresh token `1//first`.
async fn connect_google_ads(app: &TestApp, token: &str, org: &str) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "ya29.first", "refresh_token": "1//first", "expires_in": 3599
        })))
        .mount(&app.provider)
        .await;
    let started = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/google_ads/oauth/start"),
            token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let state = started["state"].as_str().unwrap();
    let mut callback = Url::parse(&app.url("/api/v1/oauth/google_ads/callback")).unwrap();
    callback
        .query_pairs_mut()
        .append_pair("code", "g-code")
        .append_pair("state", state);
    let landing = app.client.get(callback).send().await.unwrap();
    assert_eq!(landing.status(), 303);
    let location = landing.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("result=connected"), "{location}");
}

/// The provider's verify answer, after `delay`.
async fn verify_answers(app: &TestApp, delay: Duration) {
    Mock::given(method("GET"))
        .and(path_regex(VERIFY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(
                    json!({"resourceNames": ["customers/1234567890", "customers/9876543210"]}),
                )
                .set_delay(delay),
        )
        .mount(&app.provider)
        .await;
}

/// Renewals present `presented` and get `1//next` back, after `delay`.
async fn refresh_answers(app: &TestApp, presented: &str, delay: Duration) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(format!(
            "refresh_token={}",
            presented.replace('/', "%2F")
        )))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "access_token": "ya29.next", "refresh_token": "1//next", "expires_in": 7200
                }))
                .set_delay(delay),
        )
        .mount(&app.provider)
        .await;
}

async fn refresh(app: &TestApp, token: &str, org: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/orgs/{org}/integrations/google_ads/refresh"),
        token,
        json!({}),
    )
    .await
}

/// The refresh tokens the token endpoint was shown, in order.
async fn presented_refresh_tokens(app: &TestApp) -> Vec<String> {
    app.provider
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/token")
        .filter_map(|r| {
            url::form_urlencoded::parse(&r.body)
                .find(|(k, _)| k == "refresh_token")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_patch_during_a_refresh_keeps_both_changes() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    verify_answers(&app, Duration::ZERO).await;
    connect_google_ads(&app, &owner.token, &org).await;
    refresh_answers(&app, "1//first", Duration::from_millis(1500)).await;

    // The refresh reads the connection, then waits on the provider; the PATCH lands meanwhile.
    let renewing = refresh(&app, &owner.token, &org);
    let turning_off = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/google_ads"),
            &owner.token,
            json!({"enabled": false}),
        )
        .await
    };
    let (renewed, turned_off) = tokio::join!(renewing, turning_off);
    assert_eq!(turned_off.status(), 200);
    assert_eq!(renewed.status(), 200, "{}", renewed.text().await.unwrap());

    let ads = app.integration(&owner.token, &org, "google_ads").await;
    assert_eq!(ads["status"], "disabled", "the PATCH is kept");
    assert_eq!(ads["enabled"], false);
    let expires: chrono::DateTime<chrono::Utc> =
        ads["token_expires_at"].as_str().unwrap().parse().unwrap();
    assert!(
        expires > chrono::Utc::now() + chrono::Duration::minutes(90),
        "the refresh is kept: {expires}"
    );

    // The rotated refresh token is the one stored: the next renewal presents it.
    refresh_answers(&app, "1//next", Duration::ZERO).await;
    assert_eq!(refresh(&app, &owner.token, &org).await.status(), 200);
    assert_eq!(
        presented_refresh_tokens(&app).await,
        ["1//first", "1//next"]
    );
}

#[tokio::test]
async fn a_refresh_during_a_patch_makes_the_patch_a_clean_conflict() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    verify_answers(&app, Duration::ZERO).await;
    connect_google_ads(&app, &owner.token, &org).await;
    let before = app.integration(&owner.token, &org, "google_ads").await;
    refresh_answers(&app, "1//first", Duration::ZERO).await;

    // New settings of a live connection are checked first; the check is slow, and a refresh
    // lands while it runs.
    app.provider.reset().await;
    verify_answers(&app, Duration::from_millis(1500)).await;
    refresh_answers(&app, "1//first", Duration::ZERO).await;
    let path = format!("/api/v1/orgs/{org}/integrations/google_ads");
    let configuring = app.patch(
        &path,
        &owner.token,
        json!({"config": {"customer_id": "9876543210"}}),
    );
    let renewing = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        refresh(&app, &owner.token, &org).await
    };
    let (configured, renewed) = tokio::join!(configuring, renewing);
    assert_eq!(renewed.status(), 200);
    let body = problem(configured, 409).await;
    assert_eq!(body["code"], "conflict");
    assert!(body["detail"].as_str().unwrap().contains("again"));

    let ads = app.integration(&owner.token, &org, "google_ads").await;
    assert_eq!(ads["status"], "connected");
    assert_eq!(
        ads["config"], before["config"],
        "nothing of the PATCH is kept"
    );
    assert_ne!(
        ads["token_expires_at"], before["token_expires_at"],
        "the refresh is"
    );
    assert_eq!(
        app.event_actions(&owner.token, &org, "google_ads").await,
        ["refresh", "connect"]
    );
}

#[tokio::test]
async fn another_organization_cannot_refresh_or_change_this_connection() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    let (stranger, _) = app.owner_with_org().await;
    verify_answers(&app, Duration::ZERO).await;
    connect_google_ads(&app, &owner.token, &org).await;
    problem(refresh(&app, &stranger.token, &org).await, 404).await;
    problem(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/google_ads"),
            &stranger.token,
            json!({"enabled": false}),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(presented_refresh_tokens(&app).await, Vec::<String>::new());
    let ads = app.integration(&owner.token, &org, "google_ads").await;
    assert_eq!(ads["status"], "connected");
}

#[tokio::test]
async fn a_disconnect_during_a_refresh_keeps_the_credentials_deleted() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    verify_answers(&app, Duration::ZERO).await;
    connect_google_ads(&app, &owner.token, &org).await;
    refresh_answers(&app, "1//first", Duration::from_millis(1500)).await;

    let renewing = refresh(&app, &owner.token, &org);
    let disconnecting = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/google_ads/disconnect"),
            &owner.token,
            json!({}),
        )
        .await
    };
    let (renewed, disconnected) = tokio::join!(renewing, disconnecting);
    assert_eq!(disconnected.status(), 200);
    let body = problem(renewed, 409).await;
    assert_eq!(body["code"], "not_connected");

    let ads = app.integration(&owner.token, &org, "google_ads").await;
    assert_eq!(ads["status"], "not_connected");
    assert_eq!(ads["credentials"]["access_token"]["configured"], false);
    assert_eq!(ads["credentials"]["refresh_token"]["configured"], false);
    let sealed = app.column_text("connection_secrets", "field").await;
    assert!(sealed.is_empty(), "no secret is left behind: {sealed:?}");
}
