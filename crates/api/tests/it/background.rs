//! The refresh worker and "sync now": Shopify's short-lived tokens renewed before they expire,
//! each one-time refresh token presented once; sync for one organization touches no other.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};
use crate::sandbox::{connect, non_expiring_shopify_token};

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
    // The sweep goes on meanwhile: the counter lies between the history read before and after.
    let after = events(&app, &owner.token, &org, "shopify")
        .await
        .into_iter()
        .filter(|e| e["action"] == "refresh")
        .count();
    assert!(
        (refreshes.len()..=after).contains(&(renewed as usize)),
        "{renewed} renewals counted, {} then {after} in the history",
        refreshes.len()
    );
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

/// Stores LinkedIn as connected with `at-first` and the refresh token `rt-first`, expiring in
/// a minute (so the sweep renews it at once). The test's only LinkedIn connection.
async fn seed_linkedin_due(app: &TestApp, org: &str) {
    app.seed_oauth_connection(org, "linkedin", "at-first", &[])
        .await;
    let keys = domain::crypto::KeyRing::parse(&app.encryption_keys).unwrap();
    let aad = domain::crypto::SecretAad {
        org_id: org.parse().unwrap(),
        provider: "linkedin",
        field: "refresh_token",
    };
    let org_id: uuid::Uuid = org.parse().unwrap();
    // The only LinkedIn connection of the test.
    let connection: uuid::Uuid = app
        .raw_rows("SELECT id FROM connections WHERE provider = 'linkedin'")
        .await[0]
        .try_get("", "id")
        .unwrap();
    app.execute_with(
        "INSERT INTO connection_secrets (id, org_id, connection_id, field, ciphertext, key_id, updated_at) \
         VALUES ($1, $2, $3, 'refresh_token', $4, 'test1', $5)",
        vec![
            uuid::Uuid::new_v4().into(),
            org_id.into(),
            connection.into(),
            keys.encrypt(&aad, "rt-first").unwrap().into(),
            (chrono::Utc::now() - chrono::Duration::hours(1)).into(),
        ],
    )
    .await;
    // Issued an hour ago: the token's lifetime is an hour, so it is due (6 minutes ahead).
    app.execute_with(
        "UPDATE connection_secrets SET updated_at = $1 WHERE connection_id = $2",
        vec![
            (chrono::Utc::now() - chrono::Duration::hours(1)).into(),
            connection.into(),
        ],
    )
    .await;
    app.execute_with(
        // Tested just now, so the daily health check leaves it alone.
        "UPDATE connections SET token_expires_at = $1, last_tested_at = $2, version = version + 1 WHERE id = $3",
        vec![
            (chrono::Utc::now() + chrono::Duration::minutes(1)).into(),
            chrono::Utc::now().into(),
            connection.into(),
        ],
    )
    .await;
}

/// Waits until the connection's history holds `n` refresh events; newest first. Up to 60 s: the
/// sweep runs every second, but a loaded 2-core machine can starve it for a while.
async fn refresh_events(
    app: &TestApp,
    token: &str,
    org: &str,
    provider: &str,
    n: usize,
) -> Vec<Value> {
    for _ in 0..600 {
        let found: Vec<Value> = events(app, token, org, provider)
            .await
            .into_iter()
            .filter(|e| e["action"] == "refresh")
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{provider}: fewer than {n} refresh events");
}

#[tokio::test]
async fn an_outage_backs_off_keeps_the_tokens_and_the_next_attempt_renews() {
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, ResponseTemplate};

    let app = spawn_app_with(Options {
        platform_env: vec![
            ("LINKEDIN_CLIENT_ID", "li-client"),
            ("LINKEDIN_CLIENT_SECRET", "li-secret"),
        ],
        configure: |s| {
            s.background.enabled = true;
            s.background.refresh_interval = Duration::from_secs(1);
        },
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    let token_request = || {
        Mock::given(method("POST"))
            .and(path("/oauth/v2/accessToken"))
            .and(body_string_contains("refresh_token=rt-first"))
    };
    // Down once, then up.
    token_request()
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.provider)
        .await;
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-second",
            "refresh_token": "rt-second",
            "expires_in": 5_184_000,
        })))
        .mount(&app.provider)
        .await;
    let stored = || async { app.column_text("connection_secrets", "ciphertext").await };
    let secrets_before = {
        seed_linkedin_due(&app, &org).await;
        stored().await
    };

    let failed = refresh_events(&app, &owner.token, &org, "linkedin", 1).await;
    assert_eq!(failed[0]["success"], false);
    assert_eq!(failed[0]["code"], "provider_unavailable");
    let during = app.integration(&owner.token, &org, "linkedin").await;
    assert_eq!(
        during["status"], "connected",
        "an outage is not a broken connection: {during}"
    );
    assert_eq!(
        stored().await,
        secrets_before,
        "tokens are kept through an outage"
    );
    // The lease is given back just after the event is written.
    let mut backoff = None;
    for _ in 0..50 {
        let row = app
            .raw_rows(
                "SELECT refresh_failures, refresh_not_before, refresh_claimed_until FROM connections",
            )
            .await
            .remove(0);
        if row.try_get::<i32>("", "refresh_failures").unwrap() == 1 {
            backoff = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let backoff = backoff.expect("one failure counted for the backoff");
    let not_before: chrono::DateTime<chrono::Utc> =
        backoff.try_get("", "refresh_not_before").unwrap();
    let wait = (not_before - chrono::Utc::now()).num_seconds();
    assert!(
        (20..=34).contains(&wait),
        "30 s (+ jitter) before the next attempt, not {wait} s"
    );
    assert_eq!(
        backoff
            .try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "refresh_claimed_until")
            .unwrap(),
        None,
        "the lease was given back"
    );
    // Nothing is tried during the backoff.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.provider.received_requests().await.unwrap().len(), 1);

    // The backoff passes: the next sweep renews.
    app.execute_with(
        "UPDATE connections SET refresh_not_before = $1",
        vec![(chrono::Utc::now() - chrono::Duration::seconds(1)).into()],
    )
    .await;
    let after = refresh_events(&app, &owner.token, &org, "linkedin", 2).await;
    assert_eq!(after[0]["success"], true, "{after:?}");
    let renewed = app.integration(&owner.token, &org, "linkedin").await;
    assert_eq!(renewed["status"], "connected");
    assert_eq!(renewed["last_error"], Value::Null);
    assert_eq!(app.provider.received_requests().await.unwrap().len(), 2);
    let reset = &app
        .raw_rows("SELECT refresh_failures, refresh_not_before FROM connections")
        .await[0];
    assert_eq!(reset.try_get::<i32>("", "refresh_failures").unwrap(), 0);
    // An outage in one organization is no event in another's.
    assert!(
        events(&app, &other.token, &other_org, "linkedin")
            .await
            .is_empty()
    );
    // No notice: the connection never stopped working.
    assert!(
        app.raw_rows("SELECT id FROM notifications")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_shopify_store_on_a_non_expiring_token_is_moved_to_expiring_tokens_once() {
    let app = app(3600).await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    const SHOP: &str = "old-install.myshopify.com";
    let old_token = &non_expiring_shopify_token(&app, &owner.token, &org, SHOP).await;
    app.seed_oauth_connection(&org, "shopify", old_token, &[("shop", SHOP)])
        .await;

    let refreshes = refresh_events(&app, &owner.token, &org, "shopify", 1).await;
    assert_eq!(refreshes[0]["success"], true, "{refreshes:?}");
    assert!(
        refreshes[0]["message"]
            .as_str()
            .unwrap()
            .contains("non-expiring token was exchanged"),
        "{refreshes:?}"
    );
    let moved = app.integration(&owner.token, &org, "shopify").await;
    assert_eq!(moved["status"], "connected");
    assert_eq!(
        moved["credentials"]["refresh_token"]["configured"], true,
        "{moved}"
    );
    let expires =
        chrono::DateTime::parse_from_rfc3339(moved["token_expires_at"].as_str().unwrap()).unwrap();
    assert!(expires > chrono::Utc::now() + chrono::Duration::minutes(50));
    // The new token works; the old one no longer does.
    let tested = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/shopify/test"),
            &owner.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(tested["status"], "connected", "{tested}");
    let graphql = app.url(&format!(
        "/sandbox/shopify/{SHOP}{}",
        crate::helpers::SHOPIFY_GRAPHQL
    ));
    let with_old = app
        .client
        .post(graphql)
        .header("X-Shopify-Access-Token", old_token)
        .json(&json!({"query": "{ shop { name id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_old.status(), 401);
    // Exactly once: more sweeps exchange nothing again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let activity: Value = app
        .client
        .get(app.url("/sandbox/_activity"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(activity["shopify"]["exchanges"], 1, "{activity}");
    assert_eq!(activity["shopify"]["replays"], 0, "{activity}");
    assert_eq!(
        events(&app, &owner.token, &org, "shopify")
            .await
            .iter()
            .filter(|e| e["action"] == "refresh")
            .count(),
        1
    );
    // Another organization's owner sees none of it.
    problem(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations/shopify"),
            &other.token,
        )
        .await,
        404,
    )
    .await;
    assert!(
        events(&app, &other.token, &other_org, "shopify")
            .await
            .is_empty()
    );
}
