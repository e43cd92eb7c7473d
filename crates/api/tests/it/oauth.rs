use std::collections::HashMap;

use serde_json::{Value, json};
use url::Url;

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app, spawn_app_with};

const PLATFORM: &[(&str, &str)] = &[
    ("SLACK_CLIENT_ID", "slack-client"),
    ("SLACK_CLIENT_SECRET", "slack-secret"),
    ("SLACK_SIGNING_SECRET", "slack-signing"),
    ("GOOGLE_ADS_CLIENT_ID", "gads-client"),
    ("GOOGLE_ADS_CLIENT_SECRET", "gads-secret"),
    ("GOOGLE_ADS_DEVELOPER_TOKEN", "gads-dev"),
    ("SHOPIFY_API_KEY", "shop-client"),
    ("SHOPIFY_API_SECRET", "shop-secret"),
    ("TIKTOK_APP_ID", "tiktok-app"),
    ("TIKTOK_APP_SECRET", "tiktok-secret"),
];

async fn app_with_platform_apps() -> TestApp {
    spawn_app_with(Options {
        platform_env: PLATFORM.to_vec(),
        ..Options::default()
    })
    .await
}

async fn start(
    app: &TestApp,
    token: &str,
    org: &str,
    provider: &str,
    body: Value,
) -> reqwest::Response {
    app.post(
        &format!("/api/v1/orgs/{org}/integrations/{provider}/oauth/start"),
        token,
        body,
    )
    .await
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn a_provider_whose_platform_app_is_missing_says_which_variables() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let body = problem(
        start(&app, &owner.token, &org, "meta_ads", json!({})).await,
        409,
    )
    .await;
    assert_eq!(body["code"], "platform_not_ready");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("META_APP_ID") && detail.contains("META_APP_SECRET"),
        "{detail}"
    );
    assert!(app.raw_rows("SELECT id FROM oauth_states").await.is_empty());
}

#[tokio::test]
async fn start_builds_the_consent_url_with_each_providers_rules() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;

    let slack = json_body(
        start(
            &app,
            &owner.token,
            &org,
            "slack",
            json!({"return_to": "/settings/integrations/slack"}),
        )
        .await,
        200,
    )
    .await;
    let url = Url::parse(slack["authorization_url"].as_str().unwrap()).unwrap();
    let mock = Url::parse(&app.provider.uri()).unwrap();
    assert_eq!(url.port(), mock.port(), "the operator's redirect applies");
    assert_eq!(url.path(), "/oauth/v2/authorize");
    let q = query(&url);
    assert_eq!(q["client_id"], "slack-client");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "chat:write,channels:read,team:read");
    assert_eq!(q["state"], slack["state"].as_str().unwrap());
    assert!(q["redirect_uri"].ends_with("/api/v1/oauth/slack/callback"));
    assert!(
        !q.contains_key("code_challenge"),
        "Slack's entry turns PKCE off"
    );

    let google = json_body(
        start(&app, &owner.token, &org, "google_ads", json!({})).await,
        200,
    )
    .await;
    let q = query(&Url::parse(google["authorization_url"].as_str().unwrap()).unwrap());
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(
        (q["access_type"].as_str(), q["prompt"].as_str()),
        ("offline", "consent")
    );

    let tiktok = json_body(
        start(&app, &owner.token, &org, "tiktok_ads", json!({})).await,
        200,
    )
    .await;
    assert_eq!(
        query(&Url::parse(tiktok["authorization_url"].as_str().unwrap()).unwrap())["app_id"],
        "tiktok-app"
    );

    // The state is kept only as a digest, with an expiry ten minutes out.
    let digests = app.column_text("oauth_states", "state_digest").await;
    assert_eq!(digests.len(), 3);
    assert!(
        !digests
            .iter()
            .any(|d| d == slack["state"].as_str().unwrap())
    );
    assert!(
        app.provider.received_requests().await.unwrap().is_empty(),
        "starting calls no provider"
    );
}

#[tokio::test]
async fn shopify_shop_names_keep_to_dns_limits() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    let label_64 = format!("{}.myshopify.com", "a".repeat(64));
    let host_314 = format!("{}.myshopify.com", "b".repeat(300));
    for shop in [label_64.as_str(), host_314.as_str()] {
        let bad = problem(
            start(
                &app,
                &owner.token,
                &org,
                "shopify",
                json!({"config": {"shop": shop}}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(bad["errors"][0]["field"], "config.shop", "{shop}");
    }
    let label_63 = format!("{}.myshopify.com", "c".repeat(63));
    json_body(
        start(
            &app,
            &owner.token,
            &org,
            "shopify",
            json!({"config": {"shop": label_63}}),
        )
        .await,
        200,
    )
    .await;
}

#[tokio::test]
async fn shopify_needs_a_valid_shop_before_consent() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    let missing = problem(
        start(&app, &owner.token, &org, "shopify", json!({})).await,
        422,
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "config.shop");
    for shop in [
        "evil.example.com",
        "acme.myshopify.com.evil.com",
        "ACME.myshopify.com",
        "-x.myshopify.com",
    ] {
        let bad = problem(
            start(
                &app,
                &owner.token,
                &org,
                "shopify",
                json!({"config": {"shop": shop}}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(bad["errors"][0]["field"], "config.shop", "{shop}");
    }
    let good = json_body(
        start(
            &app,
            &owner.token,
            &org,
            "shopify",
            json!({"config": {"shop": "acme.myshopify.com"}}),
        )
        .await,
        200,
    )
    .await;
    let url = Url::parse(good["authorization_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.path(), "/admin/oauth/authorize");
    assert_eq!(
        query(&url)["scope"],
        "read_products,read_orders,read_customers,read_inventory"
    );
    assert!(app.provider.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn start_is_for_admins_of_this_organization_with_a_local_return_path() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    let member = app.add_member(&owner, &org, "member").await;
    problem(
        start(&app, &member.token, &org, "slack", json!({})).await,
        403,
    )
    .await;
    let (stranger, _) = app.owner_with_org().await;
    problem(
        start(&app, &stranger.token, &org, "slack", json!({})).await,
        404,
    )
    .await;
    let foreign = problem(
        start(
            &app,
            &owner.token,
            &org,
            "slack",
            json!({"return_to": "https://evil.example/"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(foreign["errors"][0]["field"], "return_to");
    let not_oauth = problem(
        start(&app, &owner.token, &org, "openai", json!({})).await,
        409,
    )
    .await;
    assert_eq!(not_oauth["code"], "not_oauth");
    assert!(app.raw_rows("SELECT id FROM oauth_states").await.is_empty());
}

#[tokio::test]
async fn start_holds_its_body_to_the_rules_of_every_other_body() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    let url = app.url(&format!(
        "/api/v1/orgs/{org}/integrations/slack/oauth/start"
    ));
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&owner.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = problem(
        send("{\"return_to\":", "application/json").await.unwrap(),
        400,
    )
    .await;
    assert_eq!(malformed["code"], "malformed_json");
    let unknown = problem(
        send(r#"{"return_too": "/settings"}"#, "application/json")
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(unknown["code"], "invalid_body");
    assert!(
        unknown["detail"].as_str().unwrap().contains("return_too"),
        "{unknown}"
    );
    problem(
        send(r#"{"return_to": "/x"}"#, "text/plain").await.unwrap(),
        415,
    )
    .await;
    assert!(app.raw_rows("SELECT id FROM oauth_states").await.is_empty());

    // No body at all is still fine: there is nothing to say.
    let empty = app
        .client
        .post(&url)
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    json_body(empty, 200).await;
}

use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// Starts an authorization and answers (state, authorization URL).
async fn begin(
    app: &TestApp,
    token: &str,
    org: &str,
    provider: &str,
    body: Value,
) -> (String, Url) {
    let started = json_body(start(app, token, org, provider, body).await, 200).await;
    (
        started["state"].as_str().unwrap().to_owned(),
        Url::parse(started["authorization_url"].as_str().unwrap()).unwrap(),
    )
}

/// Plays the browser coming back from the provider; answers the redirect's target.
async fn come_back<I, K, V>(app: &TestApp, provider: &str, params: I) -> Url
where
    I: IntoIterator,
    I::Item: std::borrow::Borrow<(K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut url = Url::parse(&app.url(&format!("/api/v1/oauth/{provider}/callback"))).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let location = response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    Url::parse("http://spa.local")
        .unwrap()
        .join(&location)
        .unwrap()
}

fn outcome(landing: &Url) -> (String, String) {
    let q = query(landing);
    (
        q["result"].clone(),
        q.get("code").cloned().unwrap_or_default(),
    )
}

async fn token_requests(app: &TestApp, token_path: &str) -> usize {
    app.provider
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == token_path)
        .count()
}

async fn slack_answers(app: &TestApp) {
    app.answer(
        "POST",
        "/api/oauth.v2.access",
        200,
        json!({
            "ok": true, "access_token": "xoxb-secret-token", "scope": "chat:write,channels:read",
            "team": {"id": "T1", "name": "Acme HQ"}, "authed_user": {"id": "U1"}
        }),
    )
    .await;
    app.answer(
        "POST",
        "/api/auth.test",
        200,
        json!({"ok": true, "team": "Acme HQ", "team_id": "T1"}),
    )
    .await;
}

#[tokio::test]
async fn slack_connects_end_to_end_and_its_state_works_once() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    slack_answers(&app).await;
    let (state, _) = begin(
        &app,
        &owner.token,
        &org,
        "slack",
        json!({"return_to": "/onboarding/integrations"}),
    )
    .await;

    let landing = come_back(
        &app,
        "slack",
        &[("code", "provider-code-123"), ("state", &state)],
    )
    .await;
    assert_eq!(landing.path(), "/onboarding/integrations");
    assert_eq!(outcome(&landing), ("connected".to_owned(), String::new()));
    assert_eq!(query(&landing)["integration"], "slack");
    let shown = landing.to_string();
    assert!(
        !shown.contains("xoxb") && !shown.contains("provider-code-123"),
        "{shown}"
    );

    let slack = app.integration(&owner.token, &org, "slack").await;
    assert_eq!(slack["status"], "connected");
    assert_eq!(slack["account_name"], "Acme HQ");
    assert_eq!(
        slack["credentials"]["access_token"],
        json!({"configured": true})
    );
    assert!(
        slack["token_expires_at"].is_string(),
        "no expires_in: the fallback expiry applies"
    );
    assert!(!slack.to_string().contains("xoxb"));
    let token_call = app
        .provider
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/api/oauth.v2.access")
        .unwrap();
    let form = String::from_utf8(token_call.body).unwrap();
    assert!(
        form.contains("code=provider-code-123") && form.contains("client_secret=slack-secret"),
        "{form}"
    );

    // The same state again: refused, and the token endpoint is not called a second time.
    let replay = come_back(
        &app,
        "slack",
        &[("code", "provider-code-123"), ("state", &state)],
    )
    .await;
    assert_eq!(
        outcome(&replay),
        ("error".to_owned(), "invalid_state".to_owned())
    );
    assert_eq!(token_requests(&app, "/api/oauth.v2.access").await, 1);
}

#[tokio::test]
async fn forged_foreign_and_denied_states_never_reach_the_token_endpoint() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    slack_answers(&app).await;
    let (slack_state, _) = begin(&app, &owner.token, &org, "slack", json!({})).await;
    let (google_state, _) = begin(&app, &owner.token, &org, "google_ads", json!({})).await;

    let forged = come_back(&app, "slack", &[("code", "x"), ("state", "made-up.state")]).await;
    assert_eq!(outcome(&forged).1, "invalid_state");
    let foreign = come_back(&app, "slack", &[("code", "x"), ("state", &google_state)]).await;
    assert_eq!(outcome(&foreign).1, "invalid_state");
    let missing = come_back(&app, "slack", &[("code", "x")]).await;
    assert_eq!(outcome(&missing).1, "invalid_state");
    let denied = come_back(
        &app,
        "slack",
        &[("error", "access_denied"), ("state", &slack_state)],
    )
    .await;
    assert_eq!(
        outcome(&denied),
        ("error".to_owned(), "access_denied".to_owned())
    );
    assert_eq!(
        app.provider.received_requests().await.unwrap().len(),
        0,
        "no provider call at all"
    );
    let slack = app.integration(&owner.token, &org, "slack").await;
    assert_eq!(slack["status"], "not_connected");
    assert!(
        app.raw_rows("SELECT id FROM connection_secrets")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    let (state, _) = begin(&app, &owner.token, &org, "slack", json!({})).await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    app.execute_with("UPDATE oauth_states SET expires_at = $1", vec![past.into()])
        .await;
    let landing = come_back(&app, "slack", &[("code", "x"), ("state", &state)]).await;
    assert_eq!(outcome(&landing).1, "invalid_state");
    assert_eq!(app.provider.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn google_sends_the_pkce_verifier_of_its_challenge() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    app.answer("POST", "/token", 200, json!({"access_token": "ya29.a", "refresh_token": "1//r", "expires_in": 3599, "scope": "https://www.googleapis.com/auth/adwords"})).await;
    app.answer(
        "GET",
        "/v26/customers:listAccessibleCustomers",
        200,
        json!({"resourceNames": ["customers/1234567890"]}),
    )
    .await;
    let (state, consent) = begin(&app, &owner.token, &org, "google_ads", json!({})).await;
    let challenge = query(&consent)["code_challenge"].clone();
    let landing = come_back(&app, "google_ads", &[("code", "g-code"), ("state", &state)]).await;
    assert_eq!(outcome(&landing).0, "connected", "{landing}");

    let requests = app.provider.received_requests().await.unwrap();
    let token_call = requests.iter().find(|r| r.url.path() == "/token").unwrap();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&token_call.body)
        .into_owned()
        .collect();
    use base64::Engine;
    let digest = ring::digest::digest(&ring::digest::SHA256, form["code_verifier"].as_bytes());
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
        challenge
    );
    let verify_call = requests
        .iter()
        .find(|r| r.url.path().starts_with("/v26"))
        .unwrap();
    assert_eq!(
        verify_call.headers.get("developer-token").unwrap(),
        "gads-dev"
    );
    let ads = app.integration(&owner.token, &org, "google_ads").await;
    assert_eq!(ads["account_id"], "customers/1234567890");
    assert_eq!(
        ads["credentials"]["refresh_token"],
        json!({"configured": true})
    );
}

#[tokio::test]
async fn shopify_callbacks_must_carry_a_valid_hmac_for_the_same_shop() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    Mock::given(method("POST"))
        .and(path("/admin/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "shpat_secret", "scope": "read_products,read_orders"}),
        ))
        .mount(&app.provider)
        .await;
    Mock::given(method("POST"))
        .and(path(crate::helpers::SHOPIFY_GRAPHQL))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"shop": {"name": "Acme Store", "id": "gid://shopify/Shop/1001"}}}),
        ))
        .mount(&app.provider)
        .await;
    let secret = secrecy::SecretString::from("shop-secret".to_owned());
    let signed = |state: &str, shop: &str| {
        let mut params: std::collections::BTreeMap<String, String> = [
            ("code", "s-code"),
            ("shop", shop),
            ("state", state),
            ("timestamp", "1700000000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let hmac = domain::oauth::shopify_hmac(&params, &secret);
        params.insert("hmac".to_owned(), hmac);
        params
    };

    let (state, _) = begin(
        &app,
        &owner.token,
        &org,
        "shopify",
        json!({"config": {"shop": "acme.myshopify.com"}}),
    )
    .await;
    let mut tampered = signed(&state, "acme.myshopify.com");
    tampered.insert("timestamp".to_owned(), "1700000001".to_owned());
    assert_eq!(
        outcome(&come_back(&app, "shopify", tampered.iter()).await).1,
        "invalid_hmac"
    );

    let (state, _) = begin(
        &app,
        &owner.token,
        &org,
        "shopify",
        json!({"config": {"shop": "acme.myshopify.com"}}),
    )
    .await;
    let other_shop = signed(&state, "other.myshopify.com");
    assert_eq!(
        outcome(&come_back(&app, "shopify", other_shop.iter()).await).1,
        "invalid_hmac"
    );
    assert_eq!(token_requests(&app, "/admin/oauth/access_token").await, 0);

    let (state, _) = begin(
        &app,
        &owner.token,
        &org,
        "shopify",
        json!({"config": {"shop": "acme.myshopify.com"}}),
    )
    .await;
    let good = signed(&state, "acme.myshopify.com");
    assert_eq!(
        outcome(&come_back(&app, "shopify", good.iter()).await).0,
        "connected"
    );
    let shopify = app.integration(&owner.token, &org, "shopify").await;
    assert_eq!(shopify["account_name"], "Acme Store");
    assert_eq!(shopify["config"]["shop"], "acme.myshopify.com");
}

#[tokio::test]
async fn meta_trades_the_short_token_for_a_long_lived_one() {
    let app = spawn_app_with(Options {
        platform_env: vec![
            ("META_APP_ID", "meta-app"),
            ("META_APP_SECRET", "meta-secret"),
        ],
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    Mock::given(method("POST"))
        .and(path("/v27.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "short-lived", "token_type": "bearer", "expires_in": 3600}),
        ))
        .mount(&app.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/oauth/access_token"))
        .and(wiremock::matchers::query_param(
            "grant_type",
            "fb_exchange_token",
        ))
        .and(wiremock::matchers::query_param(
            "fb_exchange_token",
            "short-lived",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "long-lived", "token_type": "bearer", "expires_in": 5_184_000}),
        ))
        .mount(&app.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/me"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer long-lived",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "42", "name": "Ann Admin"})),
        )
        .mount(&app.provider)
        .await;
    let (state, _) = begin(&app, &owner.token, &org, "meta_ads", json!({})).await;
    assert_eq!(
        outcome(&come_back(&app, "meta_ads", &[("code", "m"), ("state", &state)]).await).0,
        "connected"
    );
    let meta = app.integration(&owner.token, &org, "meta_ads").await;
    assert_eq!(meta["account_name"], "Ann Admin");
    let expires =
        chrono::DateTime::parse_from_rfc3339(meta["token_expires_at"].as_str().unwrap()).unwrap();
    assert!(
        expires > chrono::Utc::now() + chrono::Duration::days(59),
        "the long-lived expiry is recorded"
    );
}

#[tokio::test]
async fn a_token_endpoint_redirect_is_not_followed() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth.v2.access"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/elsewhere", app.provider.uri()).as_str(),
        ))
        .mount(&app.provider)
        .await;
    let (state, _) = begin(&app, &owner.token, &org, "slack", json!({})).await;
    let landing = come_back(&app, "slack", &[("code", "c"), ("state", &state)]).await;
    assert_eq!(
        outcome(&landing),
        ("error".to_owned(), "token_refused".to_owned())
    );
    assert_eq!(token_requests(&app, "/elsewhere").await, 0);
}

#[tokio::test]
async fn reconnecting_keeps_the_same_connection_settings_and_history() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    slack_answers(&app).await;
    let (state, _) = begin(&app, &owner.token, &org, "slack", json!({})).await;
    assert_eq!(
        outcome(&come_back(&app, "slack", &[("code", "one"), ("state", &state)]).await).0,
        "connected"
    );
    let url = format!("/api/v1/orgs/{org}/integrations/slack");
    assert_eq!(
        json_body(
            app.patch(&url, &owner.token, json!({"enabled": false}))
                .await,
            200
        )
        .await["status"],
        "disabled"
    );

    let (state, _) = begin(&app, &owner.token, &org, "slack", json!({})).await;
    assert_eq!(
        outcome(&come_back(&app, "slack", &[("code", "two"), ("state", &state)]).await).0,
        "connected"
    );
    let slack = json_body(app.get(&url, &owner.token).await, 200).await;
    assert_eq!(
        (slack["status"].as_str(), slack["enabled"].as_bool()),
        (Some("connected"), Some(true))
    );
    assert_eq!(
        app.raw_rows("SELECT id FROM connections").await.len(),
        1,
        "the same connection row"
    );
    let events = json_body(app.get(&format!("{url}/events"), &owner.token).await, 200).await;
    let actions: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["connect", "disable", "connect"]);
}

#[tokio::test]
async fn a_state_connects_only_the_organization_that_started_it() {
    let app = app_with_platform_apps().await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let (owner_b, org_b) = app.owner_with_org().await;
    slack_answers(&app).await;
    // B cannot start anything in A's name…
    problem(
        start(&app, &owner_b.token, &org_a, "slack", json!({})).await,
        404,
    )
    .await;
    // …and whoever brings A's state back, the tokens land in A only.
    let (state, _) = begin(&app, &owner_a.token, &org_a, "slack", json!({})).await;
    assert_eq!(
        outcome(&come_back(&app, "slack", &[("code", "c"), ("state", &state)]).await).0,
        "connected"
    );
    let a = json_body(
        app.get(
            &format!("/api/v1/orgs/{org_a}/integrations/slack"),
            &owner_a.token,
        )
        .await,
        200,
    )
    .await;
    let b = json_body(
        app.get(
            &format!("/api/v1/orgs/{org_b}/integrations/slack"),
            &owner_b.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (a["status"].as_str(), b["status"].as_str()),
        (Some("connected"), Some("not_connected"))
    );
    problem(
        app.get(
            &format!("/api/v1/orgs/{org_a}/integrations/slack/events"),
            &owner_b.token,
        )
        .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn stripe_connect_records_the_connected_account() {
    let app = spawn_app_with(Options {
        platform_env: vec![
            ("STRIPE_CLIENT_ID", "ca_123"),
            ("STRIPE_SECRET_KEY", "sk_platform"),
        ],
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    app.answer("POST", "/oauth/token", 200, json!({"access_token": "sk_connected", "stripe_user_id": "acct_42", "scope": "read_write", "livemode": false})).await;
    Mock::given(method("GET"))
        .and(path("/v1/account"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"id": "acct_42", "business_profile": {"name": "Acme Payouts"}}),
            ),
        )
        .mount(&app.provider)
        .await;
    let (state, consent) = begin(&app, &owner.token, &org, "stripe", json!({})).await;
    assert_eq!(query(&consent)["scope"], "read_write");
    assert_eq!(
        outcome(&come_back(&app, "stripe", &[("code", "ac_1"), ("state", &state)]).await).0,
        "connected"
    );
    let stripe = app.integration(&owner.token, &org, "stripe").await;
    assert_eq!(
        (
            stripe["account_id"].as_str(),
            stripe["account_name"].as_str()
        ),
        (Some("acct_42"), Some("Acme Payouts"))
    );
}

#[tokio::test]
async fn tiktok_uses_its_own_parameter_names() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    Mock::given(method("POST"))
        .and(path("/open_api/v1.3/oauth2/access_token/"))
        .and(wiremock::matchers::body_json(json!({"app_id": "tiktok-app", "secret": "tiktok-secret", "auth_code": "tt-code"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": 0, "message": "OK", "data": {"access_token": "tt-token", "scope": [4], "advertiser_ids": ["7001"]}})))
        .mount(&app.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/open_api/v1.3/oauth2/advertiser/get/"))
        .and(wiremock::matchers::header("access-token", "tt-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": 0, "data": {"list": [{"advertiser_id": "7001", "advertiser_name": "Acme Ads"}]}})))
        .mount(&app.provider)
        .await;
    let (state, _) = begin(&app, &owner.token, &org, "tiktok_ads", json!({})).await;
    let landing = come_back(
        &app,
        "tiktok_ads",
        &[("auth_code", "tt-code"), ("state", &state)],
    )
    .await;
    assert_eq!(outcome(&landing).0, "connected", "{landing}");
    let tiktok = app.integration(&owner.token, &org, "tiktok_ads").await;
    assert_eq!(tiktok["account_name"], "Acme Ads");
}

/// Shopify's token and check answered, and a signed callback query for a state.
async fn shopify_ready(
    app: &TestApp,
) -> impl Fn(&str) -> std::collections::BTreeMap<String, String> {
    app.answer(
        "POST",
        "/admin/oauth/access_token",
        200,
        json!({"access_token": "shpat_secret", "scope": "read_products,read_orders"}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(crate::helpers::SHOPIFY_GRAPHQL))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"shop": {"name": "Acme Store", "id": "gid://shopify/Shop/1001"}}}),
        ))
        .mount(&app.provider)
        .await;
    |state: &str| {
        let mut params: std::collections::BTreeMap<String, String> = [
            ("code", "s-code"),
            ("shop", "acme.myshopify.com"),
            ("state", state),
            ("timestamp", "1700000000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let secret = secrecy::SecretString::from("shop-secret".to_owned());
        let hmac = domain::oauth::shopify_hmac(&params, &secret);
        params.insert("hmac".to_owned(), hmac);
        params
    }
}

/// The callback as another browser (no cookies of the one that started) reaches it.
async fn come_back_elsewhere(
    app: &TestApp,
    params: &std::collections::BTreeMap<String, String>,
) -> Url {
    let mut url = Url::parse(&app.url("/api/v1/oauth/shopify/callback")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    let other_browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = other_browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), 303);
    Url::parse(&app.url(response.headers()["location"].to_str().unwrap())).unwrap()
}

#[tokio::test]
async fn the_state_is_bound_to_the_browser_that_started_it() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    let signed = shopify_ready(&app).await;
    let body = json!({"config": {"shop": "acme.myshopify.com"}});

    let started = start(&app, &owner.token, &org, "shopify", body.clone()).await;
    let cookie = started.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("pb_oauth="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let state = json_body(started, 200).await["state"]
        .as_str()
        .unwrap()
        .to_owned();

    // A victim's browser completing the attacker's flow is refused and told why; nothing is
    // connected and no code is traded.
    let landing = come_back_elsewhere(&app, &signed(&state)).await;
    assert_eq!(
        outcome(&landing),
        ("error".to_owned(), "browser_mismatch".to_owned())
    );
    assert_eq!(token_requests(&app, "/admin/oauth/access_token").await, 0);
    assert_eq!(
        app.integration(&owner.token, &org, "shopify").await["status"],
        "not_connected"
    );

    // The browser that started it still finishes it.
    let landing = come_back(&app, "shopify", signed(&state).iter()).await;
    assert_eq!(outcome(&landing).0, "connected");

    // Two flows in one browser share its nonce: starting a second keeps the first good.
    let (first, _) = begin(&app, &owner.token, &org, "shopify", body.clone()).await;
    let (_second, _) = begin(&app, &owner.token, &org, "shopify", body.clone()).await;
    assert_eq!(
        outcome(&come_back(&app, "shopify", signed(&first).iter()).await).0,
        "connected"
    );

    // Another tenant's browser (its own session, its own nonce) cannot finish this flow either.
    let (stranger, stranger_org) = app.owner_with_org().await;
    let (state, _) = begin(&app, &owner.token, &org, "shopify", body.clone()).await;
    let stranger_browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    stranger_browser
        .post(app.url(&format!(
            "/api/v1/orgs/{stranger_org}/integrations/shopify/oauth/start"
        )))
        .bearer_auth(&stranger.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut url = Url::parse(&app.url("/api/v1/oauth/shopify/callback")).unwrap();
    url.query_pairs_mut().extend_pairs(&signed(&state));
    let response = stranger_browser.get(url).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.contains("code=browser_mismatch"), "{location}");
}

#[tokio::test]
async fn flows_started_with_an_api_key_are_unbound_and_https_cookies_are_host_only() {
    let app = app_with_platform_apps().await;
    let (owner, org) = app.owner_with_org().await;
    let signed = shopify_ready(&app).await;
    let key = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            &owner.token,
            json!({"name": "Partner", "scopes": ["integrations:write"]}),
        )
        .await,
        201,
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = start(
        &app,
        &key,
        &org,
        "shopify",
        json!({"config": {"shop": "acme.myshopify.com"}}),
    )
    .await;
    assert!(started.headers().get("set-cookie").is_none());
    let state = json_body(started, 200).await["state"]
        .as_str()
        .unwrap()
        .to_owned();
    let landing = come_back_elsewhere(&app, &signed(&state)).await;
    assert_eq!(outcome(&landing).0, "connected");

    let https = spawn_app_with(Options {
        platform_env: PLATFORM.to_vec(),
        configure: |s| {
            s.public_url = Url::parse("https://plugboard.example").unwrap();
            s.public_url_explicit = true;
        },
        ..Options::default()
    })
    .await;
    let (owner, org) = https.owner_with_org().await;
    let started = start(
        &https,
        &owner.token,
        &org,
        "shopify",
        json!({"config": {"shop": "acme.myshopify.com"}}),
    )
    .await;
    let cookie = started.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-pb_oauth="), "{cookie}");
    assert!(
        cookie.contains("Secure") && !cookie.contains("Domain"),
        "{cookie}"
    );
}
