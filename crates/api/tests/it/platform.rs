//! Platform readiness: platform admins only, variables reported without their values, health
//! across every organization, the checklist, and paged history.

use reqwest::Response;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{Options, TestApp, TestUser, is_postgres, json_body, problem, spawn_app_with};

const READINESS: &str = "/api/v1/platform/readiness";
const ADMIN: &str = "platform-ops@plugboard.test";
const OPENAI_KEY: &str = "sk-test-0123456789abcdef";

/// Set variables with values distinctive enough to find anywhere in a body.
const DISTINCTIVE_ENV: &[(&str, &str)] = &[
    ("META_APP_ID", "meta-app-id-VALUE-7f3a"),
    ("GOOGLE_ADS_CLIENT_ID", "gads-client-VALUE-91c2"),
    ("MICROSOFT_CLIENT_ID", "ms-client-VALUE-0b1d"),
    ("SMTP_URL", "smtp://mailer:pw-VALUE-55@mail.example:587"),
    ("SENTRY_DSN", "https://key-VALUE-33@sentry.example/7"),
];
const PUBLIC_URL: &str = "https://plugboard-VALUE-public.example/";

async fn admin_app(platform_env: &[(&'static str, &'static str)]) -> (TestApp, TestUser) {
    admin_app_with(Options {
        platform_env: platform_env.to_vec(),
        ..Default::default()
    })
    .await
}

async fn admin_app_with(options: Options) -> (TestApp, TestUser) {
    let app = spawn_app_with(Options {
        admin_emails: vec![ADMIN.to_owned()],
        ..options
    })
    .await;
    let admin = app.signup_as("ops", ADMIN).await;
    (app, admin)
}

async fn readiness(app: &TestApp, admin: &TestUser, query: &[(&str, &str)]) -> Value {
    let url = Url::parse_with_params(&app.url(READINESS), query).unwrap();
    let response = app
        .client
        .get(url)
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    json_body(response, 200).await
}

/// The entry of a section whose `field` is `value`.
fn entry<'b>(body: &'b Value, section: &str, field: &str, value: &str) -> &'b Value {
    body[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[field] == value)
        .unwrap_or_else(|| panic!("no {section} entry with {field} = {value}"))
}

#[tokio::test]
async fn readiness_reports_set_and_missing_variables_never_their_values() {
    let (app, admin) = admin_app_with(Options {
        platform_env: DISTINCTIVE_ENV.to_vec(),
        configure: |s| {
            s.public_url = Url::parse(PUBLIC_URL).unwrap();
            s.public_url_explicit = true;
        },
        ..Default::default()
    })
    .await;
    let response = app.get(READINESS, &admin.token).await;
    let text = response.text().await.unwrap();
    let secrets = [
        app.encryption_keys.expose_secret(),
        "test-jwt-secret-that-is-long-enough-to-sign",
        &app.database_url,
        ADMIN,
        PUBLIC_URL.trim_end_matches('/'),
    ];
    for value in DISTINCTIVE_ENV.iter().map(|(_, v)| *v).chain(secrets) {
        assert!(!text.contains(value), "the body shows a value: {value}");
    }
    assert!(!text.contains("VALUE"), "no part of a value either");
    let body: Value = serde_json::from_str(&text).unwrap();

    let meta = entry(&body, "services", "provider", "meta_ads");
    assert_eq!(meta["status"], "setup_needed");
    assert_eq!(
        meta["variables"],
        json!([{"name": "META_APP_ID", "configured": true}, {"name": "META_APP_SECRET", "configured": false}])
    );
    assert_eq!(meta["missing"], json!(["META_APP_SECRET"]));
    assert_eq!(meta["summary"], "Missing 1 required environment variable.");
    let ads = entry(&body, "services", "provider", "google_ads");
    assert_eq!(
        ads["missing"],
        json!(["GOOGLE_ADS_CLIENT_SECRET", "GOOGLE_ADS_DEVELOPER_TOKEN"])
    );
    assert_eq!(ads["summary"], "Missing 2 required environment variables.");
    let openai = entry(&body, "services", "provider", "openai");
    assert_eq!(openai["status"], "ready");
    assert_eq!(openai["variables"], json!([]));
    assert_eq!(
        entry(&body, "services", "provider", "sentry")["level"],
        "platform"
    );
    assert_eq!(
        body["services"].as_array().unwrap().len(),
        body["health"].as_array().unwrap().len()
    );

    let meta_health = entry(&body, "health", "provider", "meta_ads");
    assert_eq!(meta_health["health"], "missing_credentials");
    assert_eq!(
        meta_health["guidance"],
        "Add 1 missing environment variable before retrying."
    );
    assert!(meta_health["latest_event"].is_null());
    assert_eq!(meta_health["counts"]["total"], 0);

    let item = |key: &str| entry(&body, "checklist", "key", key).clone();
    assert_eq!(item("admin_security")["status"], "ready");
    assert_eq!(item("admin_security")["priority"], "required");
    let microsoft = item("microsoft_sign_in");
    assert_eq!(microsoft["status"], "partial");
    assert_eq!(
        microsoft["missing"],
        json!(["MICROSOFT_CLIENT_SECRET", "MICROSOFT_TENANT_ID"])
    );
    let database = item("database");
    if is_postgres() {
        assert_eq!(database["status"], "ready");
    } else {
        assert_eq!(database["status"], "partial");
        assert_eq!(database["missing"], json!(["DATABASE_URL"]));
    }
    assert_eq!(item("encryption_keys")["status"], "ready");
    assert_eq!(item("public_url")["status"], "ready");
    assert_eq!(item("smtp")["missing"], json!(["SMTP_FROM"]));
    assert_eq!(item("monitoring")["status"], "partial");
    assert_eq!(item("monitoring")["priority"], "later");
    let google = item("app.ga4");
    assert_eq!(google["status"], "not_started");
    assert_eq!(
        google["providers"],
        json!([
            "ga4",
            "search_console",
            "youtube",
            "google_drive",
            "google_calendar"
        ])
    );
    assert_eq!(item("app.meta_ads")["status"], "partial");
    assert_eq!(item("app.shopify")["priority"], "required");
    assert!(
        item("app.shopify")["collect"]
            .as_array()
            .unwrap()
            .contains(&json!("Client ID (SHOPIFY_API_KEY)"))
    );
}

#[tokio::test]
async fn generated_secrets_and_a_guessed_url_are_not_ready() {
    let (app, admin) = admin_app_with(Options {
        configure: |s| {
            s.encryption_keys_generated = true;
            s.jwt_secret_generated = true;
        },
        ..Default::default()
    })
    .await;
    let body = readiness(&app, &admin, &[]).await;
    let item = |key: &str| entry(&body, "checklist", "key", key).clone();
    let security = item("admin_security");
    assert_eq!(security["status"], "partial");
    assert_eq!(security["missing"], json!(["PLUGBOARD_JWT_SECRET"]));
    let keys = item("encryption_keys");
    assert_eq!(keys["status"], "partial");
    assert_eq!(keys["missing"], json!(["PLUGBOARD_ENCRYPTION_KEYS"]));
    assert_eq!(item("public_url")["status"], "not_started");
    assert_eq!(item("smtp")["status"], "not_started");
}

async fn mock_openai(app: &TestApp, status: u16) {
    app.provider.reset().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({"data": []})))
        .mount(&app.provider)
        .await;
}

async fn connect_openai(app: &TestApp, token: &str, org: &str) {
    let saved = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/openai"),
            token,
            json!({"credentials": {"api_key": OPENAI_KEY}}),
        )
        .await;
    json_body(saved, 200).await;
}

async fn test_integration(app: &TestApp, token: &str, org: &str, provider: &str) -> Value {
    let tested = app
        .post(
            &format!("/api/v1/orgs/{org}/integrations/{provider}/test"),
            token,
            json!({}),
        )
        .await;
    json_body(tested, 200).await
}

#[tokio::test]
async fn health_counts_every_organizations_connections() {
    let (app, admin) = admin_app(&[]).await;
    let (alice, org_a) = app.owner_with_org().await;
    let (bob, org_b) = app.owner_with_org().await;
    mock_openai(&app, 200).await;
    connect_openai(&app, &alice.token, &org_a).await;
    connect_openai(&app, &bob.token, &org_b).await;
    app.seed_oauth_connection(&org_a, "shopify", "shpat_a", &[("shop", "a.myshopify.com")])
        .await;
    app.seed_oauth_connection(&org_b, "shopify", "shpat_b", &[("shop", "b.myshopify.com")])
        .await;

    // Bob's OpenAI key and Shopify token stop working.
    mock_openai(&app, 401).await;
    Mock::given(path(crate::helpers::SHOPIFY_GRAPHQL))
        .respond_with(ResponseTemplate::new(401))
        .mount(&app.provider)
        .await;
    assert_eq!(
        test_integration(&app, &bob.token, &org_b, "openai").await["status"],
        "error"
    );
    assert_eq!(
        test_integration(&app, &bob.token, &org_b, "shopify").await["status"],
        "expired"
    );

    let body = readiness(&app, &admin, &[]).await;
    let openai = entry(&body, "health", "provider", "openai");
    assert_eq!(
        openai["counts"],
        json!({"total": 2, "not_connected": 0, "connected": 1, "expired": 0, "error": 1, "disabled": 0})
    );
    assert_eq!(openai["health"], "needs_attention");
    assert_eq!(
        openai["guidance"],
        "1 connection failing: see their last errors."
    );
    let latest = &openai["latest_event"];
    assert_eq!(latest["action"], "test");
    assert_eq!(latest["success"], false);
    assert_eq!(latest["code"], "credentials_rejected");
    assert_eq!(latest["org_id"], org_b.as_str());

    let shopify = entry(&body, "health", "provider", "shopify");
    assert_eq!(shopify["counts"]["connected"], 1);
    assert_eq!(shopify["counts"]["expired"], 1);
    assert_eq!(shopify["health"], "missing_credentials");
    assert_eq!(
        shopify["guidance"],
        "Add 2 missing environment variables before retrying. 1 connection expired: ask the brands to reconnect."
    );
    assert_eq!(
        shopify["missing"],
        json!(["SHOPIFY_API_KEY", "SHOPIFY_API_SECRET"])
    );

    let klaviyo = entry(&body, "health", "provider", "klaviyo");
    assert_eq!(klaviyo["health"], "unused");
    assert_eq!(klaviyo["guidance"], "Ready; no brand has connected it yet.");
    assert!(klaviyo["latest_event"].is_null());

    // Alice fixes nothing and still sees only her own organization's integrations.
    let own = json_body(
        app.get(
            &format!("/api/v1/orgs/{org_a}/integrations/openai"),
            &alice.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(own["status"], "connected");
}

#[tokio::test]
async fn healthy_providers_say_so() {
    let (app, admin) = admin_app(&[]).await;
    let (owner, org) = app.owner_with_org().await;
    mock_openai(&app, 200).await;
    connect_openai(&app, &owner.token, &org).await;
    let body = readiness(&app, &admin, &[]).await;
    let openai = entry(&body, "health", "provider", "openai");
    assert_eq!(openai["health"], "healthy");
    assert_eq!(openai["guidance"], "Healthy.");
    assert_eq!(openai["latest_event"]["action"], "connect");
    assert_eq!(openai["latest_event"]["success"], true);
}

#[tokio::test]
async fn history_is_newest_first_across_organizations_in_pages() {
    let (app, admin) = admin_app(&[]).await;
    let (alice, org_a) = app.owner_with_org().await;
    let bob = app.signup("bob").await;
    let org_b = app.create_org(&bob, "Beta Brand").await;
    mock_openai(&app, 200).await;
    connect_openai(&app, &alice.token, &org_a).await;
    connect_openai(&app, &bob.token, &org_b).await;
    test_integration(&app, &alice.token, &org_a, "openai").await;
    let disabled = app
        .patch(
            &format!("/api/v1/orgs/{org_b}/integrations/openai"),
            &bob.token,
            json!({"enabled": false}),
        )
        .await;
    json_body(disabled, 200).await;
    app.seed_oauth_connection(&org_a, "slack", "xoxb-token-a", &[])
        .await;
    Mock::given(path("/api/auth.test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "team": "Acme"})))
        .mount(&app.provider)
        .await;
    test_integration(&app, &alice.token, &org_a, "slack").await;

    let all = readiness(&app, &admin, &[]).await["history"].clone();
    assert!(all["next_cursor"].is_null());
    let events = all["data"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["provider"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["org_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("slack", "test", "Acme Brand"),
            ("slack", "connect", "Acme Brand"),
            ("openai", "disable", "Beta Brand"),
            ("openai", "test", "Acme Brand"),
            ("openai", "connect", "Beta Brand"),
            ("openai", "connect", "Acme Brand"),
        ]
    );
    let newest = &events[0];
    assert_eq!(newest["provider_name"], "Slack");
    assert_eq!(newest["org_id"], org_a.as_str());
    assert_eq!(newest["success"], true);
    assert_eq!(
        newest["missing"],
        json!([
            "SLACK_CLIENT_ID",
            "SLACK_CLIENT_SECRET",
            "SLACK_SIGNING_SECRET"
        ])
    );
    assert!(newest["message"].as_str().unwrap().contains("Slack"));

    // Pages of two walk the same list.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.as_str()));
        }
        let page = readiness(&app, &admin, &query).await["history"].clone();
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 2);
        paged.extend(data.iter().map(|e| e["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<Value> = events.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(paged, ids);
}

async fn hidden(response: Response) {
    let body = problem(response, 404).await;
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["detail"], format!("Nothing exists at {READINESS}."));
}

#[tokio::test]
async fn only_platform_admins_see_readiness() {
    let (app, admin) = admin_app(&[]).await;
    readiness(&app, &admin, &[]).await;

    let (owner, org) = app.owner_with_org().await;
    let member = app.add_member(&owner, &org, "member").await;
    let key = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            &owner.token,
            json!({"name": "Partner", "scopes": ["integrations:read", "integrations:write"]}),
        )
        .await,
        201,
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [owner.token.as_str(), &member.token, &key] {
        hidden(app.get(READINESS, token).await).await;
        let test = app
            .post(&format!("{READINESS}/sentry/test"), token, json!({}))
            .await;
        assert_eq!(test.status(), 404);
    }
    // Without a valid access token, the answer is the 401 of every other route.
    problem(app.get(READINESS, "not-a-token").await, 401).await;
    problem(
        app.post(
            &format!("{READINESS}/sentry/test"),
            "not-a-token",
            json!({}),
        )
        .await,
        401,
    )
    .await;
    problem(
        app.request(reqwest::Method::GET, READINESS, None, None)
            .await,
        401,
    )
    .await;
}

#[tokio::test]
async fn the_platform_check_is_for_platform_level_providers() {
    let (app, admin) = admin_app(&[("SENTRY_DSN", "https://key@sentry.example/7")]).await;
    let check = |provider: &str| format!("{READINESS}/{provider}/test");
    let tenant = problem(
        app.post(&check("openai"), &admin.token, json!({})).await,
        409,
    )
    .await;
    assert_eq!(tenant["code"], "tenant_level");
    assert!(
        tenant["detail"]
            .as_str()
            .unwrap()
            .contains("/integrations/openai/test")
    );
    problem(
        app.post(&check("myspace"), &admin.token, json!({})).await,
        404,
    )
    .await;

    let unset = json_body(
        app.post(&check("sentry"), &admin.token, json!({})).await,
        200,
    )
    .await;
    assert_eq!(unset["ok"], false);
    assert_eq!(unset["code"], "missing_values");
    assert!(
        unset["message"]
            .as_str()
            .unwrap()
            .contains("SENTRY_AUTH_TOKEN")
    );
    assert!(app.provider.received_requests().await.unwrap().is_empty());
}

/// Readiness lists the pinned provider API versions that sunset within 90 days, with the
/// date and what breaks: exactly what the registry's clock says for today.
#[tokio::test]
async fn readiness_lists_versions_that_sunset_within_90_days() {
    use domain::registry::{Registry, versions};
    let (app, admin) = admin_app(&[]).await;
    let body = readiness(&app, &admin, &[]).await;
    let registry = Registry::builtin().unwrap();
    let today = chrono::Utc::now().date_naive();
    let expected: Vec<Value> = versions::alerts(&registry, today, versions::READINESS_WARNING_DAYS)
        .into_iter()
        .map(|a| {
            json!({
                "provider": a.pin.provider.id,
                "api_version": a.pin.version,
                "sunsets_on": a.sunsets_on.to_string(),
                "message": a.message,
            })
        })
        .collect();
    let shown: Vec<Value> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert!(
                v["breaks"].as_str().unwrap().contains("stop working"),
                "{v}"
            );
            assert!(v["source"].as_str().unwrap().starts_with("https://"), "{v}");
            json!({
                "provider": v["provider"],
                "api_version": v["api_version"],
                "sunsets_on": v["sunsets_on"],
                "message": v["message"],
            })
        })
        .collect();
    assert_eq!(shown, expected);
    // Far from every sunset today, nothing is listed: a warning is news, not noise.
    let soonest = registry
        .providers()
        .iter()
        .filter_map(|p| p.sunsets_on)
        .min()
        .unwrap();
    if (soonest - today).num_days() > versions::READINESS_WARNING_DAYS {
        assert!(shown.is_empty(), "{shown:?}");
    }
}

#[tokio::test]
async fn sentrys_check_takes_its_region_and_refuses_one_it_does_not_have() {
    let (app, admin) = admin_app(&[
        ("SENTRY_AUTH_TOKEN", "sntrys_token_0001"),
        ("SENTRY_DSN", "https://k@o1.ingest.de.sentry.io/1"),
    ])
    .await;
    Mock::given(method("GET"))
        .and(path("/api/0/organizations/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"name": "Acme EU", "slug": "acme-eu"}])),
        )
        .expect(1)
        .mount(&app.provider)
        .await;
    let test = "/api/v1/platform/readiness/sentry/test";
    let eu = json_body(
        app.post(
            test,
            &admin.token,
            json!({"config": {"region": "de.sentry.io"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(eu["ok"], true, "{eu}");
    assert_eq!(eu["account_name"], "Acme EU");
    let bad = problem(
        app.post(
            test,
            &admin.token,
            json!({"config": {"region": "sentry.example"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "config.region", "{bad}");
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("de.sentry.io"),
        "{bad}"
    );
    let unknown = problem(
        app.post(test, &admin.token, json!({"config": {"shop": "x"}}))
            .await,
        422,
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "config.shop");
    // Another organization's owner is no platform admin: the check does not exist for them.
    let (stranger, _) = app.owner_with_org().await;
    problem(app.post(test, &stranger.token, json!({})).await, 404).await;
}
