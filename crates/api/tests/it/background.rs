//! The refresh worker and "sync now": Shopify's short-lived tokens renewed before they expire,
//! each one-time refresh token presented once; sync for one organization touches no other.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};
use crate::sandbox::connect;

async fn app(shopify_token_secs: u64) -> TestApp {
    static SECS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    SECS.set(shopify_token_secs).unwrap();
    spawn_app_with(Options {
        sandbox: true,
        configure: |s| {
            s.background.enabled = true;
            s.background.refresh_interval = Duration::from_secs(1);
            s.background.sandbox_shopify_token_lifetime = Duration::from_secs(*SECS.get().unwrap());
        },
        ..Options::default()
    })
    .await
}

async fn events(app: &TestApp, token: &str, org: &str, provider: &str) -> Vec<Value> {
    json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations/{provider}/events?limit=200"),
            token,
        )
        .await,
        200,
    )
    .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn shopify_expiring_tokens_are_renewed_before_they_expire_across_lifetimes() {
    // 6-second tokens: renewed with 3 seconds left (half the lifetime at most).
    let app = app(6).await;
    let (owner, org) = app.owner_with_org().await;
    let shopify = connect(
        &app,
        &owner.token,
        &org,
        "shopify",
        json!({"shop": "acme-outdoor.myshopify.com"}),
    )
    .await;
    assert_eq!(shopify["status"], "connected");
    let first_expiry = shopify["token_expires_at"].as_str().unwrap().to_owned();
    assert!(
        shopify["credentials"]["refresh_token"]["configured"] == true,
        "{shopify}"
    );
    let started = std::time::Instant::now();
    // Three lifetimes.
    while started.elapsed() < Duration::from_secs(18) {
        let now = app.integration(&owner.token, &org, "shopify").await;
        assert_eq!(now["status"], "connected", "{now}");
        let expires =
            chrono::DateTime::parse_from_rfc3339(now["token_expires_at"].as_str().unwrap())
                .unwrap();
        assert!(
            expires > chrono::Utc::now(),
            "the token never lapses: {now}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let refreshes: Vec<Value> = events(&app, &owner.token, &org, "shopify")
        .await
        .into_iter()
        .filter(|e| e["action"] == "refresh")
        .collect();
    assert!(refreshes.len() >= 4, "{refreshes:?}");
    // Every renewal succeeded: a replayed one-time refresh token would have been refused.
    assert!(
        refreshes
            .iter()
            .all(|e| e["success"] == true && e["actor_type"] == "system"),
        "{refreshes:?}"
    );
    let last = app.integration(&owner.token, &org, "shopify").await;
    assert!(last["token_expires_at"].as_str().unwrap() > first_expiry.as_str());
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let renewed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("plugboard_refreshes_total{class=\"renewed\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(renewed as usize, refreshes.len());
    assert!(metrics.contains("plugboard_refreshes_total{class=\"refused\"} 0"));
}

#[tokio::test]
async fn sync_now_checks_one_org_and_never_touches_another() {
    let app = app(3600).await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "linkedin", json!({})).await;
    connect(&app, &other.token, &other_org, "linkedin", json!({})).await;

    let synced = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/linkedin/sync"),
            &owner.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(synced["status"], "connected");
    assert!(synced["last_sync_at"].is_string(), "{synced}");
    let ours = events(&app, &owner.token, &org, "linkedin").await;
    assert_eq!(ours[0]["action"], "sync");
    assert_eq!(ours[0]["success"], true);

    // The other organization's connection was not synced, and its owner cannot sync ours.
    let theirs = app.integration(&other.token, &other_org, "linkedin").await;
    assert_eq!(theirs["last_sync_at"], Value::Null);
    assert!(
        events(&app, &other.token, &other_org, "linkedin")
            .await
            .iter()
            .all(|e| e["action"] != "sync")
    );
    problem(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/linkedin/sync"),
            &other.token,
            json!({}),
        )
        .await,
        404,
    )
    .await;
    // Nothing to sync is a 409 that says so.
    let none = problem(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/openai/sync"),
            &owner.token,
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(none["code"], "not_connected");
}

#[tokio::test]
async fn invalid_grant_after_another_refresh_won_is_a_lost_race_not_a_revocation() {
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, ResponseTemplate};

    let app = spawn_app_with(Options {
        platform_env: vec![
            ("LINKEDIN_CLIENT_ID", "li-client"),
            ("LINKEDIN_CLIENT_SECRET", "li-secret"),
        ],
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "linkedin", "at-first", &[])
        .await;
    let keys = domain::crypto::KeyRing::parse(&app.encryption_keys).unwrap();
    let seal = |value: &str| {
        let aad = domain::crypto::SecretAad {
            org_id: org.parse().unwrap(),
            provider: "linkedin",
            field: "refresh_token",
        };
        keys.encrypt(&aad, value).unwrap()
    };
    let connection: uuid::Uuid = app.raw_rows("SELECT id FROM connections").await[0]
        .try_get("", "id")
        .unwrap();
    app.execute_with(
        "INSERT INTO connection_secrets (id, org_id, connection_id, field, ciphertext, key_id, updated_at) \
         VALUES ($1, $2, $3, 'refresh_token', $4, 'test1', $5)",
        vec![
            uuid::Uuid::new_v4().into(),
            org.parse::<uuid::Uuid>().unwrap().into(),
            connection.into(),
            seal("rt-first").into(),
            chrono::Utc::now().into(),
        ],
    )
    .await;
    // The provider refuses the old token, slowly: meanwhile "another replica" stores its win.
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant"}))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&app.provider)
        .await;
    let refresh = format!("/api/v1/orgs/{org}/integrations/linkedin/refresh");
    let renewing = app.post(&refresh, &owner.token, json!({}));
    let other_replica = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        app.execute_with(
            "UPDATE connection_secrets SET ciphertext = $1 WHERE field = 'refresh_token'",
            vec![seal("rt-won-by-the-other").into()],
        )
        .await;
    };
    let (answer, ()) = tokio::join!(renewing, other_replica);
    let body = json_body(answer, 200).await;
    assert_eq!(body["status"], "connected", "{body}");
    assert_eq!(body["last_error"], Value::Null);
    assert_eq!(
        app.provider.received_requests().await.unwrap().len(),
        1,
        "one token request"
    );
    // A refusal of the token that is still stored is a real revocation.
    let revoked = json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
    assert_eq!(revoked["status"], "expired");
    assert_eq!(revoked["last_error"]["code"], "refresh_refused");
}
