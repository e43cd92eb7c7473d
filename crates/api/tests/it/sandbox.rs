//! The provider sandbox, driven as a person would: start, the consent page, Approve or Deny,
//! back through the callback; then refreshes and the failures the sandbox can be told to show.

use domain::registry::{Level, Registry};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app, spawn_app_with};

/// The platform admin who may switch the sandbox's modes.
pub(crate) const SANDBOX_ADMIN: &str = "sandbox-admin@example.com";

async fn sandbox_app() -> TestApp {
    spawn_app_with(Options {
        sandbox: true,
        admin_emails: vec![SANDBOX_ADMIN.to_owned()],
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn health_says_the_sandbox_is_on() {
    let app = sandbox_app().await;
    let health = json_body(app.request(Method::GET, "/healthz", None, None).await, 200).await;
    assert_eq!(health["sandbox"], true);
}

/// Starts OAuth and answers the sandbox's consent URL.
pub(crate) async fn start(
    app: &TestApp,
    token: &str,
    org: &str,
    provider: &str,
    config: Value,
) -> Url {
    let started = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/{provider}/oauth/start"),
            token,
            json!({ "config": config }),
        )
        .await,
        200,
    )
    .await;
    Url::parse(started["authorization_url"].as_str().unwrap()).unwrap()
}

/// Opens the consent page and presses a button; answers where the sandbox sends the browser.
pub(crate) async fn decide(app: &TestApp, consent: &Url, decision: &str) -> Url {
    let page = app.client.get(consent.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200, "{consent}");
    let html = page.text().await.unwrap();
    assert!(html.contains("Approve") && html.contains("Deny"), "{html}");
    let answer = app
        .client
        .post(consent.clone())
        .form(&[("decision", decision)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

/// Follows the provider's redirect into Plugboard's callback; answers the SPA landing query.
pub(crate) async fn land(app: &TestApp, callback: Url) -> Vec<(String, String)> {
    let response = app.client.get(callback).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(!location.contains("sbx_"), "no token or code in {location}");
    Url::parse("http://spa.local")
        .unwrap()
        .join(&location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn has(landing: &[(String, String)], key: &str, value: &str) -> bool {
    landing.iter().any(|(k, v)| k == key && v == value)
}

/// Connects a provider end to end through the sandbox and answers its integration.
pub(crate) async fn connect(
    app: &TestApp,
    token: &str,
    org: &str,
    provider: &str,
    config: Value,
) -> Value {
    let consent = start(app, token, org, provider, config).await;
    let callback = decide(app, &consent, "approve").await;
    let landing = land(app, callback).await;
    assert!(
        has(&landing, "result", "connected"),
        "{provider}: {landing:?}"
    );
    app.integration(token, org, provider).await
}

#[tokio::test]
async fn every_oauth_provider_connects_through_the_sandbox_and_shows_its_account() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let registry = Registry::builtin().unwrap();
    let oauth_providers: Vec<_> = registry
        .providers()
        .iter()
        .filter(|p| p.oauth().is_some() && p.level == Level::Tenant)
        .collect();
    assert!(oauth_providers.len() >= 15);
    for provider in oauth_providers {
        let config: serde_json::Map<String, Value> = provider
            .fields
            .iter()
            .filter(|f| f.before_consent && f.required)
            .map(|f| (f.key.clone(), json!(f.placeholder.clone().unwrap())))
            .collect();
        let integration = connect(&app, &owner.token, &org, &provider.id, json!(config)).await;
        assert_eq!(integration["status"], "connected", "{}", provider.id);
        assert!(
            integration["account_name"]
                .as_str()
                .is_some_and(|n| !n.is_empty())
                || integration["account_id"]
                    .as_str()
                    .is_some_and(|n| !n.is_empty()),
            "{}: {integration}",
            provider.id
        );
    }
}

#[tokio::test]
async fn the_four_first_providers_show_the_account_a_brand_expects() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let shopify = connect(
        &app,
        &owner.token,
        &org,
        "shopify",
        json!({"shop": "acme-outdoor.myshopify.com"}),
    )
    .await;
    assert_eq!(shopify["account_name"], "Acme outdoor (sandbox)");
    assert_eq!(shopify["account_id"], "acme-outdoor.myshopify.com");
    let slack = connect(&app, &owner.token, &org, "slack", json!({})).await;
    assert_eq!(slack["account_name"], "Acme Sandbox · Slack");
    let meta = connect(&app, &owner.token, &org, "meta_ads", json!({})).await;
    // The long-lived token: about sixty days, not the short token's hour.
    let expires =
        chrono::DateTime::parse_from_rfc3339(meta["token_expires_at"].as_str().unwrap()).unwrap();
    assert!(
        expires > chrono::Utc::now() + chrono::Duration::days(50),
        "{meta}"
    );
    // Google Ads names the accessible customer by its resource name only.
    let google = connect(&app, &owner.token, &org, "google_ads", json!({})).await;
    assert_eq!(google["account_id"], "customers/5550000001");
    // Offline access with consent: a refresh token came back.
    assert_eq!(
        google["credentials"]["refresh_token"]["configured"], true,
        "{google}"
    );
}

#[tokio::test]
async fn the_consent_page_names_the_app_and_scopes_and_deny_stores_nothing() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let consent = start(&app, &owner.token, &org, "slack", json!({})).await;
    let html = app
        .client
        .get(consent.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Plugboard wants to access"), "{html}");
    assert!(html.contains("channels:read"), "{html}");

    let callback = decide(&app, &consent, "deny").await;
    let landing = land(&app, callback).await;
    assert!(has(&landing, "result", "error") && has(&landing, "code", "access_denied"));
    let slack = app.integration(&owner.token, &org, "slack").await;
    assert_eq!(slack["status"], "not_connected");
    assert!(
        app.raw_rows("SELECT id FROM connection_secrets")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn consent_is_refused_for_a_redirect_uri_the_app_did_not_register() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let mut consent = start(&app, &owner.token, &org, "google_ads", json!({})).await;
    let pairs: Vec<(String, String)> = consent
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "redirect_uri" {
                "https://evil.example/callback".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    consent.query_pairs_mut().clear().extend_pairs(pairs);
    let page = app.client.get(consent).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("is not registered"));
}

/// A Shopify token as the sandbox issued them before expiring offline tokens: asked for
/// without `expiring=1`, it has no expiry and no refresh token.
pub(crate) async fn non_expiring_shopify_token(
    app: &TestApp,
    token: &str,
    org: &str,
    shop: &str,
) -> String {
    let consent = start(app, token, org, "shopify", json!({"shop": shop})).await;
    let (code, token_url) = approved_code(app, &consent).await;
    let answer: Value = app
        .client
        .post(token_url)
        .form(&[
            ("client_id", "sandbox-shopify-api-key"),
            ("client_secret", "sandbox-shopify-api-secret"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        answer.get("refresh_token").is_none() && answer.get("expires_in").is_none(),
        "{answer}"
    );
    answer["access_token"].as_str().unwrap().to_owned()
}

/// The code the sandbox issues for an approved consent, and the token endpoint it belongs to.
async fn approved_code(app: &TestApp, consent: &Url) -> (String, Url) {
    let callback = decide(app, consent, "approve").await;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token_url = consent.join("access_token").unwrap();
    (code, token_url)
}

#[tokio::test]
async fn sandbox_codes_work_once_and_only_for_the_app() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let consent = start(
        &app,
        &owner.token,
        &org,
        "shopify",
        json!({"shop": "acme.myshopify.com"}),
    )
    .await;
    let (code, token_url) = approved_code(&app, &consent).await;
    let redeem = |secret: &'static str| {
        app.client.post(token_url.clone()).form(&[
            ("client_id", "sandbox-shopify-api-key"),
            ("client_secret", secret),
            ("code", code.as_str()),
        ])
    };
    let wrong_app = redeem("not-the-secret").send().await.unwrap();
    assert_eq!(wrong_app.status(), 401);
    let first = redeem("sandbox-shopify-api-secret").send().await.unwrap();
    assert_eq!(first.status(), 200);
    let again = redeem("sandbox-shopify-api-secret").send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn the_sandbox_checks_the_pkce_verifier() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let consent = start(&app, &owner.token, &org, "google_ads", json!({})).await;
    let callback = decide(&app, &consent, "approve").await;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token_url =
        Url::parse(&app.url("/sandbox/google_ads/oauth2.googleapis.com/token")).unwrap();
    let redirect_uri = app.url("/api/v1/oauth/google_ads/callback");
    let wrong = app
        .client
        .post(token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "sandbox-google-ads-client-id"),
            ("client_secret", "sandbox-google-ads-client-secret"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            (
                "code_verifier",
                "a-verifier-of-someone-else-that-is-long-enough-0123456789",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    // The code was not spent by the failed attempt: Plugboard's own exchange still works.
    let landing = land(&app, callback).await;
    assert!(has(&landing, "result", "connected"), "{landing:?}");
}

/// An access token of the platform admin, signed up on first use.
pub(crate) async fn admin_token(app: &TestApp) -> String {
    let login = json!({"email": SANDBOX_ADMIN, "password": "correct horse battery"});
    let mut signup = login.clone();
    signup["name"] = json!("Admin");
    let signup = app
        .request(Method::POST, "/api/v1/auth/signup", None, Some(signup))
        .await;
    let response = if signup.status() == 409 {
        app.request(Method::POST, "/api/v1/auth/login", None, Some(login))
            .await
    } else {
        signup
    };
    let status = response.status().as_u16();
    json_body(response, if status == 201 { 201 } else { 200 }).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_mode(
    app: &TestApp,
    token: Option<&str>,
    provider: &str,
    mode: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/sandbox/_modes/{provider}")))
        .form(&[("mode", mode)]);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

pub(crate) async fn set_mode(app: &TestApp, provider: &str, mode: &str) {
    set_mode_as(app, &admin_token(app).await, provider, mode).await;
}

/// `set_mode` with a platform admin's token in hand: signing in for every switch meets the
/// sign-in limit.
pub(crate) async fn set_mode_as(app: &TestApp, token: &str, provider: &str, mode: &str) {
    let response = post_mode(app, Some(token), provider, mode).await;
    assert_eq!(response.status(), 303);
}

#[tokio::test]
async fn only_a_platform_admin_switches_modes() {
    let app = sandbox_app().await;
    let (owner, _) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    connect(&app, &other.token, &other_org, "linkedin", json!({})).await;

    // Nobody, and a tenant's owner, cannot break another tenant's provider: without a token
    // the answer is the 401 of every route, and for a tenant the switch does not exist.
    problem(post_mode(&app, None, "linkedin", "revoked").await, 401).await;
    problem(
        post_mode(&app, Some(&owner.token), "linkedin", "revoked").await,
        404,
    )
    .await;
    let tested = app
        .post(
            &format!("/api/v1/orgs/{other_org}/integrations/linkedin/test"),
            &other.token,
            json!({}),
        )
        .await;
    assert_eq!(json_body(tested, 200).await["status"], "connected");
    let page = app.request(Method::GET, "/sandbox", None, None).await;
    assert!(page.text().await.unwrap().contains("platform admin"));

    set_mode(&app, "linkedin", "revoked").await;
    let tested = app
        .post(
            &format!("/api/v1/orgs/{other_org}/integrations/linkedin/test"),
            &other.token,
            json!({}),
        )
        .await;
    assert_eq!(json_body(tested, 200).await["status"], "expired");
}

async fn stored_refresh_token(app: &TestApp) -> String {
    let rows = app
        .raw_rows("SELECT ciphertext FROM connection_secrets WHERE field = 'refresh_token'")
        .await;
    assert_eq!(rows.len(), 1);
    rows[0].try_get::<String>("", "ciphertext").unwrap()
}

#[tokio::test]
async fn a_refresh_rotates_the_token_and_a_revoked_grant_expires_the_connection() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let linkedin = connect(&app, &owner.token, &org, "linkedin", json!({})).await;
    let before = stored_refresh_token(&app).await;
    let refresh = format!("/api/v1/orgs/{org}/integrations/linkedin/refresh");

    let member = app.add_member(&owner, &org, "member").await;
    problem(app.post(&refresh, &member.token, json!({})).await, 403).await;
    let (stranger, _) = app.owner_with_org().await;
    problem(app.post(&refresh, &stranger.token, json!({})).await, 404).await;

    let renewed = json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
    assert_eq!(renewed["status"], "connected");
    assert_ne!(
        stored_refresh_token(&app).await,
        before,
        "the refresh token rotated"
    );
    assert!(renewed["token_expires_at"].as_str() >= linkedin["token_expires_at"].as_str());

    set_mode(&app, "linkedin", "revoked").await;
    let expired = json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["last_error"]["code"], "refresh_refused");
    assert!(
        expired["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("Reconnect LinkedIn")
    );
    let history = json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations/linkedin/events"),
            &owner.token,
        )
        .await,
        200,
    )
    .await;
    let actions: Vec<(&str, bool)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["success"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &actions[..3],
        &[("refresh", false), ("refresh", true), ("connect", true)]
    );

    // Reconnecting after the revocation works again.
    let back = connect(&app, &owner.token, &org, "linkedin", json!({})).await;
    assert_eq!(back["status"], "connected");
}

#[tokio::test]
async fn an_unreachable_or_slow_provider_is_a_503_and_keeps_the_tokens() {
    let app = spawn_app_with(Options {
        sandbox: true,
        admin_emails: vec![SANDBOX_ADMIN.to_owned()],
        timeout: std::time::Duration::from_millis(500),
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "google_ads", json!({})).await;
    let before = stored_refresh_token(&app).await;
    let refresh = format!("/api/v1/orgs/{org}/integrations/google_ads/refresh");
    for mode in ["unavailable", "slow"] {
        set_mode(&app, "google_ads", mode).await;
        let body = problem(app.post(&refresh, &owner.token, json!({})).await, 503).await;
        assert_eq!(body["code"], "provider_unavailable", "{mode}");
        let google = app.integration(&owner.token, &org, "google_ads").await;
        assert_eq!(google["status"], "connected", "{mode}");
    }
    assert_eq!(stored_refresh_token(&app).await, before);
    set_mode(&app, "google_ads", "healthy").await;
    json_body(app.post(&refresh, &owner.token, json!({})).await, 200).await;
}

#[tokio::test]
async fn key_based_providers_are_checked_by_the_sandbox_too() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let path = format!("/api/v1/orgs/{org}/integrations/openai");
    let refused = problem(
        app.patch(
            &path,
            &owner.token,
            json!({"credentials": {"api_key": "sk-invalid0123456789abcdef"}}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("Nothing was saved"),
        "{refused}"
    );
    let openai = json_body(
        app.patch(
            &path,
            &owner.token,
            json!({"credentials": {"api_key": "sk-sandbox0123456789abcdef"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(openai["status"], "connected");
}

#[tokio::test]
async fn the_sandbox_is_not_mounted_unless_asked_for() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/sandbox")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn no_code_state_or_token_reaches_the_logs() {
    let app = sandbox_app().await;
    let (owner, org) = app.owner_with_org().await;
    let consent = start(
        &app,
        &owner.token,
        &org,
        "shopify",
        json!({"shop": "acme.myshopify.com"}),
    )
    .await;
    let callback = decide(&app, &consent, "approve").await;
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .into_owned()
    };
    let (code, state, hmac) = (param("code"), param("state"), param("hmac"));
    assert!(has(
        &land(&app, callback.clone()).await,
        "result",
        "connected"
    ));
    // A replay is refused and logged as such.
    assert!(has(&land(&app, callback).await, "code", "invalid_state"));
    assert!(app.logs.contains("OAuth callback"));
    for secret in [&code, &state, &hmac] {
        assert!(!app.logs.contains(secret), "the log holds {secret}");
    }
    assert!(
        !app.logs.contains("sbx_at."),
        "the log holds an access token"
    );
}

/// Every key-based and platform provider connects through the sandbox with the credentials of
/// the verify table, on the versions the registry pins.
#[tokio::test]
async fn every_key_and_platform_provider_connects_through_the_sandbox() {
    use crate::providers::{CASES, Connect};
    let app = spawn_app_with(Options {
        sandbox: true,
        platform_env: vec![
            ("SENTRY_AUTH_TOKEN", "sentry-auth-token-0003"),
            ("SENTRY_DSN", "https://public@sentry.example/1"),
            ("BETTER_STACK_API_KEY", "betterstack-token-0004"),
            ("BETTER_STACK_WEBHOOK_SECRET", "betterstack-webhook-0005"),
        ],
        admin_emails: vec!["ops@plugboard.test".to_owned()],
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    let admin = app.signup_as("ops", "ops@plugboard.test").await;
    let mut connected = 0;
    for case in CASES {
        let body = match case.connect {
            Connect::Patch {
                credentials,
                config,
            } => {
                let pairs = |p: &[(&str, &str)]| -> serde_json::Map<String, Value> {
                    p.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect()
                };
                let path = format!("/api/v1/orgs/{org}/integrations/{}", case.id);
                let sent = json!({"credentials": pairs(credentials), "config": pairs(config)});
                json_body(app.patch(&path, &owner.token, sent).await, 200).await
            }
            Connect::Platform => {
                let path = format!("/api/v1/platform/readiness/{}/test", case.id);
                let checked = json_body(app.post(&path, &admin.token, json!({})).await, 200).await;
                assert_eq!(checked["ok"], true, "{}: {checked}", case.id);
                connected += 1;
                continue;
            }
            Connect::OAuth { .. } => continue,
        };
        assert_eq!(body["status"], "connected", "{}: {body}", case.id);
        connected += 1;
    }
    assert!(connected >= 18, "{connected}");
}

/// The sandbox plays the provider's own version rules: a retired version is refused.
#[tokio::test]
async fn the_sandbox_answers_only_the_pinned_version() {
    let app = sandbox_app().await;
    let klaviyo = |revision: &'static str| {
        app.client
            .get(app.url("/sandbox/klaviyo/a.klaviyo.com/api/accounts/"))
            .header("Authorization", "Klaviyo-API-Key pk_abcdefghij0123456789")
            .header("revision", revision)
            .send()
    };
    let retired = klaviyo("2024-10-15").await.unwrap();
    assert_eq!(retired.status(), 400);
    let body: Value = retired.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_version");
    assert!(
        body["message"].as_str().unwrap().contains("2026-10-15"),
        "{body}"
    );
    let pinned = klaviyo("2026-10-15").await.unwrap();
    assert_eq!(pinned.status(), 200);
    let answer: Value = pinned.json().await.unwrap();
    assert!(answer.pointer("/data/0/id").is_some(), "{answer}");
}
