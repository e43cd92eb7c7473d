//! Provider webhooks: each provider's signature accepted and refused, replays and concurrent
//! copies applied once, uninstalls expiring only the shop's connections, erasures leaving
//! nothing of the shop behind, and the inbox surviving a killed server.

use std::time::Duration;

use domain::inbound::{self, Scheme};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{
    Options, TestApp, is_postgres, json_body, problem, spawn_app_with, start_server, test_settings,
};

const SHOPIFY_SECRET: &str = "shop-secret";
const SLACK_SECRET: &str = "slack-signing-secret";
const META_SECRET: &str = "meta-app-secret";
const STRIPE_SECRET: &str = "whsec_stripe-endpoint-secret";

fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SHOPIFY_API_KEY", "shop-client"),
        ("SHOPIFY_API_SECRET", SHOPIFY_SECRET),
        ("SLACK_SIGNING_SECRET", SLACK_SECRET),
        ("META_APP_SECRET", META_SECRET),
        ("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET),
    ]
}

/// Secrets set, the worker applying the inbox every 100 ms, webhooks allowed to wiremock.
fn with_worker() -> Options {
    Options {
        platform_env: secrets(),
        allow_private_network: true,
        configure: |s| {
            s.background.enabled = true;
            s.background.delivery_interval = Duration::from_millis(100);
        },
        ..Options::default()
    }
}

/// Secrets set, no worker: what is received stays in the inbox.
fn without_worker() -> Options {
    Options {
        platform_env: secrets(),
        ..Options::default()
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

async fn post_signed(
    app: &TestApp,
    path: &str,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    content_type: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

/// A Shopify delivery signed with `key`.
async fn shopify(
    app: &TestApp,
    key: &str,
    topic: &str,
    shop: &str,
    id: &str,
    body: &Value,
) -> reqwest::Response {
    let body = body.to_string().into_bytes();
    let mut headers = inbound::sign(Scheme::ShopifyHmac, &secret(key), &body, now());
    headers.extend([
        ("X-Shopify-Topic".to_owned(), topic.to_owned()),
        ("X-Shopify-Shop-Domain".to_owned(), shop.to_owned()),
        ("X-Shopify-Webhook-Id".to_owned(), id.to_owned()),
    ]);
    post_signed(
        app,
        "/api/v1/webhooks/shopify",
        body,
        headers,
        "application/json",
    )
    .await
}

async fn slack(app: &TestApp, key: &str, body: &Value, at: i64) -> reqwest::Response {
    let body = body.to_string().into_bytes();
    let headers = inbound::sign(Scheme::SlackV0, &secret(key), &body, at);
    post_signed(
        app,
        "/api/v1/webhooks/slack",
        body,
        headers,
        "application/json",
    )
    .await
}

async fn stripe(app: &TestApp, key: &str, body: &Value, at: i64) -> reqwest::Response {
    let body = body.to_string().into_bytes();
    let headers = inbound::sign(Scheme::StripeSignature, &secret(key), &body, at);
    post_signed(
        app,
        "/api/v1/webhooks/stripe",
        body,
        headers,
        "application/json",
    )
    .await
}

async fn meta(app: &TestApp, key: &str, callback: &str, payload: &Value) -> reqwest::Response {
    let signed = inbound::meta_signed_request(&secret(key), payload);
    let body = format!("signed_request={signed}").into_bytes();
    post_signed(
        app,
        &format!("/api/v1/webhooks/meta_ads/{callback}"),
        body,
        Vec::new(),
        "application/x-www-form-urlencoded",
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let rows = app.raw_rows(sql).await;
    rows[0].try_get::<i64>("", "n").unwrap()
}

async fn inbox_rows(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) AS n FROM inbound_deliveries").await
}

async fn refused(response: reqwest::Response) {
    let body = problem(response, 401).await;
    assert_eq!(body["code"], "bad_signature");
}

/// Waits (up to 15 s) until `done` holds.
async fn until<F, Fut>(what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} never happened");
}

async fn status_of(app: &TestApp, token: &str, org: &str, provider: &str) -> String {
    app.integration(token, org, provider).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Sets the organization's notification webhook to the stand-in provider's `/hooks/{org}`.
async fn webhook_to_mock(app: &TestApp, token: &str, org: &str) {
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(format!("/hooks/{org}")))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&app.provider)
        .await;
    let response = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/notification-settings"),
            Some(token),
            Some(json!({"webhook_url": format!("{}/hooks/{org}", app.provider.uri())})),
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// The outbox rows of one organization of one kind.
async fn outbox(app: &TestApp, org: &str, kind: &str) -> i64 {
    let org: uuid::Uuid = org.parse().unwrap();
    let rows = app
        .raw_rows(&format!(
            "SELECT org_id, kind FROM notifications WHERE kind = '{kind}'"
        ))
        .await;
    rows.iter()
        .filter(|row| row.try_get::<uuid::Uuid>("", "org_id").unwrap() == org)
        .count() as i64
}

#[tokio::test]
async fn shopify_accepts_its_signature_and_refuses_anything_else() {
    let app = spawn_app_with(without_worker()).await;
    let body = json!({"id": 1, "myshopify_domain": "acme.myshopify.com"});
    let ok = shopify(
        &app,
        SHOPIFY_SECRET,
        "app/uninstalled",
        "acme.myshopify.com",
        "w-1",
        &body,
    )
    .await;
    assert_eq!(json_body(ok, 200).await["received"], true);

    // One flipped byte in the body, signed over the original.
    let original = body.to_string().into_bytes();
    let mut flipped = original.clone();
    flipped[3] ^= 0x01;
    let mut headers = inbound::sign(
        Scheme::ShopifyHmac,
        &secret(SHOPIFY_SECRET),
        &original,
        now(),
    );
    headers.extend([
        ("X-Shopify-Topic".to_owned(), "app/uninstalled".to_owned()),
        (
            "X-Shopify-Shop-Domain".to_owned(),
            "acme.myshopify.com".to_owned(),
        ),
        ("X-Shopify-Webhook-Id".to_owned(), "w-2".to_owned()),
    ]);
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/shopify",
            flipped,
            headers.clone(),
            "application/json",
        )
        .await,
    )
    .await;
    refused(
        shopify(
            &app,
            "another-secret",
            "app/uninstalled",
            "acme.myshopify.com",
            "w-3",
            &body,
        )
        .await,
    )
    .await;
    let unsigned: Vec<_> = headers
        .into_iter()
        .filter(|(n, _)| n != "X-Shopify-Hmac-Sha256")
        .collect();
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/shopify",
            original,
            unsigned,
            "application/json",
        )
        .await,
    )
    .await;

    assert_eq!(
        inbox_rows(&app).await,
        1,
        "only the signed delivery is kept"
    );

    // The body is the provider's: read raw, past 64 KiB, with whatever characters it holds.
    let note = format!("{}{}", "\u{1}".repeat(3), "x".repeat(200 * 1024));
    let big = json!({"id": 2, "myshopify_domain": "acme.myshopify.com", "note": note});
    let ok = shopify(
        &app,
        SHOPIFY_SECRET,
        "orders/create",
        "acme.myshopify.com",
        "w-4",
        &big,
    )
    .await;
    assert_eq!(json_body(ok, 200).await["received"], true);
    let array = json!([null, null]);
    refused(
        shopify(
            &app,
            "wrong",
            "orders/create",
            "acme.myshopify.com",
            "w-5",
            &array,
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn slack_accepts_its_signature_answers_the_challenge_and_refuses_old_or_forged() {
    let app = spawn_app_with(without_worker()).await;
    let event = json!({
        "type": "event_callback", "team_id": "T0001", "event_id": "Ev0001",
        "event": {"type": "app_uninstalled"}
    });
    json_body(slack(&app, SLACK_SECRET, &event, now()).await, 200).await;
    let challenge = json!({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "token": "x"});
    let answered = json_body(slack(&app, SLACK_SECRET, &challenge, now()).await, 200).await;
    assert_eq!(answered["challenge"], challenge["challenge"]);

    let other = json!({"type": "event_callback", "team_id": "T0001", "event_id": "Ev0002", "event": {"type": "app_uninstalled"}});
    refused(slack(&app, SLACK_SECRET, &other, now() - 6 * 60).await).await;
    refused(slack(&app, "wrong", &other, now()).await).await;
    let body = other.to_string().into_bytes();
    let headers = inbound::sign(Scheme::SlackV0, &secret(SLACK_SECRET), &body, now());
    let mut flipped = body.clone();
    flipped[5] ^= 0x01;
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/slack",
            flipped,
            headers.clone(),
            "application/json",
        )
        .await,
    )
    .await;
    let missing: Vec<_> = headers
        .into_iter()
        .filter(|(n, _)| n != "X-Slack-Signature")
        .collect();
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/slack",
            body,
            missing,
            "application/json",
        )
        .await,
    )
    .await;

    assert_eq!(inbox_rows(&app).await, 1);
}

#[tokio::test]
async fn stripe_accepts_its_signature_and_refuses_past_tolerance_or_forged() {
    let app = spawn_app_with(without_worker()).await;
    let event =
        json!({"id": "evt_1", "type": "account.application.deauthorized", "account": "acct_1"});
    json_body(stripe(&app, STRIPE_SECRET, &event, now()).await, 200).await;
    let other =
        json!({"id": "evt_2", "type": "account.application.deauthorized", "account": "acct_1"});
    refused(stripe(&app, STRIPE_SECRET, &other, now() - 301).await).await;
    refused(stripe(&app, "whsec_wrong", &other, now()).await).await;
    let body = other.to_string().into_bytes();
    let headers = inbound::sign(
        Scheme::StripeSignature,
        &secret(STRIPE_SECRET),
        &body,
        now(),
    );
    let mut flipped = body.clone();
    flipped[4] ^= 0x01;
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/stripe",
            flipped,
            headers,
            "application/json",
        )
        .await,
    )
    .await;
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/stripe",
            body,
            Vec::new(),
            "application/json",
        )
        .await,
    )
    .await;
    assert_eq!(inbox_rows(&app).await, 1);
}

#[tokio::test]
async fn meta_accepts_its_signed_request_and_refuses_another_algorithm_or_forged() {
    let app = spawn_app_with(without_worker()).await;
    let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": now(), "user_id": "10219"});
    json_body(meta(&app, META_SECRET, "deauthorize", &payload).await, 200).await;
    let sha1 = json!({"algorithm": "HMAC-SHA1", "issued_at": now(), "user_id": "10219"});
    refused(meta(&app, META_SECRET, "deauthorize", &sha1).await).await;
    let other = json!({"algorithm": "HMAC-SHA256", "issued_at": now() + 1, "user_id": "10220"});
    refused(meta(&app, "wrong", "deauthorize", &other).await).await;
    let signed = inbound::meta_signed_request(&secret(META_SECRET), &other);
    let (signature, encoded) = signed.split_once('.').unwrap();
    let mut bytes = encoded.as_bytes().to_vec();
    bytes[2] = if bytes[2] == b'A' { b'B' } else { b'A' };
    let forged = format!(
        "signed_request={signature}.{}",
        String::from_utf8(bytes).unwrap()
    );
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/meta_ads/deauthorize",
            forged.into_bytes(),
            Vec::new(),
            "application/x-www-form-urlencoded",
        )
        .await,
    )
    .await;
    refused(
        post_signed(
            &app,
            "/api/v1/webhooks/meta_ads/deauthorize",
            b"other=1".to_vec(),
            Vec::new(),
            "application/x-www-form-urlencoded",
        )
        .await,
    )
    .await;
    assert_eq!(inbox_rows(&app).await, 1);
    // Meta's callbacks only at their own paths; no provider at an unknown one.
    problem(meta(&app, META_SECRET, "elsewhere", &payload).await, 404).await;
    let nobody = post_signed(
        &app,
        "/api/v1/webhooks/openai",
        b"{}".to_vec(),
        Vec::new(),
        "application/json",
    )
    .await;
    problem(nobody, 404).await;
}

#[tokio::test]
async fn a_body_over_a_megabyte_is_refused_unread() {
    let app = spawn_app_with(without_worker()).await;
    let body = vec![b'a'; 2 * 1024 * 1024];
    let headers = inbound::sign(Scheme::ShopifyHmac, &secret(SHOPIFY_SECRET), &body, now());
    let response = post_signed(
        &app,
        "/api/v1/webhooks/shopify",
        body,
        headers,
        "application/json",
    )
    .await;
    assert_eq!(problem(response, 413).await["code"], "body_too_large");
    assert_eq!(inbox_rows(&app).await, 0);
}

#[tokio::test]
async fn an_uninstall_expires_only_that_shops_connections_once_each() {
    let app = spawn_app_with(with_worker()).await;
    let (a, org_a) = app.owner_with_org().await;
    let (b, org_b) = app.owner_with_org().await;
    let (c, org_c) = app.owner_with_org().await;
    for (user, org) in [(&a, &org_a), (&b, &org_b), (&c, &org_c)] {
        webhook_to_mock(&app, &user.token, org).await;
    }
    let x = "shop-x.myshopify.com";
    app.seed_oauth_connection(&org_a, "shopify", "shpat_a", &[("shop", x)])
        .await;
    app.seed_oauth_connection(&org_b, "shopify", "shpat_b", &[("shop", x)])
        .await;
    app.seed_oauth_connection(
        &org_c,
        "shopify",
        "shpat_c",
        &[("shop", "shop-y.myshopify.com")],
    )
    .await;

    let body = json!({"id": 1, "myshopify_domain": x});
    json_body(
        shopify(
            &app,
            SHOPIFY_SECRET,
            "app/uninstalled",
            x,
            "uninstall-1",
            &body,
        )
        .await,
        200,
    )
    .await;
    for (user, org) in [(&a, &org_a), (&b, &org_b)] {
        until("the uninstall", || async {
            status_of(&app, &user.token, org, "shopify").await == "expired"
        })
        .await;
        let shown = app.integration(&user.token, org, "shopify").await;
        assert_eq!(
            shown["last_error"]["message"],
            "The Plugboard app was uninstalled from shop-x.myshopify.com; reconnect to install it again."
        );
        assert_eq!(shown["last_error"]["code"], "app_uninstalled");
    }
    // A replay changes nothing more.
    json_body(
        shopify(
            &app,
            SHOPIFY_SECRET,
            "app/uninstalled",
            x,
            "uninstall-1",
            &body,
        )
        .await,
        200,
    )
    .await;
    // An unknown shop: acknowledged, nothing changes.
    let unknown = json!({"id": 2, "myshopify_domain": "nobody.myshopify.com"});
    json_body(
        shopify(
            &app,
            SHOPIFY_SECRET,
            "app/uninstalled",
            "nobody.myshopify.com",
            "uninstall-2",
            &unknown,
        )
        .await,
        200,
    )
    .await;
    until("every delivery applied", || async {
        count(
            &app,
            "SELECT COUNT(*) AS n FROM inbound_deliveries WHERE applied_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    for (user, org) in [(&a, &org_a), (&b, &org_b)] {
        assert_eq!(outbox(&app, org, "broken").await, 1, "one notice for {org}");
        let actions = app.event_actions(&user.token, org, "shopify").await;
        assert_eq!(
            actions.iter().filter(|a| *a == "revoke").count(),
            1,
            "{actions:?}"
        );
    }
    assert_eq!(
        status_of(&app, &c.token, &org_c, "shopify").await,
        "connected"
    );
    assert_eq!(outbox(&app, &org_c, "broken").await, 0);
    // The dead tokens are forgotten: only shop Y's token is left.
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM connection_secrets").await,
        1
    );
    assert_eq!(inbox_rows(&app).await, 2);
    // Applied rows keep only what deduplication needs.
    assert!(
        app.column_text("inbound_deliveries", "payload")
            .await
            .is_empty()
    );
    assert!(
        app.column_text("inbound_deliveries", "account")
            .await
            .is_empty()
    );
    let unmatched = count(
        &app,
        "SELECT unmatched AS n FROM inbound_tallies WHERE provider = 'shopify'",
    )
    .await;
    assert_eq!(unmatched, 1);
}

#[tokio::test]
async fn a_hundred_concurrent_copies_have_one_effect() {
    let app = spawn_app_with(with_worker()).await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "slack", "xoxb-token", &[])
        .await;
    app.execute_with(
        "UPDATE connections SET account_id = $1, account_name = $2",
        vec!["T0042".into(), "Acme HQ".into()],
    )
    .await;
    let event = json!({
        "type": "event_callback", "team_id": "T0042", "event_id": "Ev-many",
        "event": {"type": "tokens_revoked", "tokens": {"bot": ["U1"]}}
    });
    let at = now();
    let sends = (0..100).map(|_| slack(&app, SLACK_SECRET, &event, at));
    for response in futures_util::future::join_all(sends).await {
        assert_eq!(response.status(), 200);
    }
    until("the revocation", || async {
        status_of(&app, &owner.token, &org, "slack").await == "expired"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(inbox_rows(&app).await, 1);
    let actions = app.event_actions(&owner.token, &org, "slack").await;
    assert_eq!(
        actions.iter().filter(|a| *a == "revoke").count(),
        1,
        "{actions:?}"
    );
    let shown = app.integration(&owner.token, &org, "slack").await;
    assert!(
        shown["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("workspace Acme HQ"),
        "{shown}"
    );
    assert_eq!(shown["last_error"]["code"], "access_revoked");
}

#[tokio::test]
async fn stripe_and_meta_revocations_expire_the_named_account_only() {
    let app = spawn_app_with(with_worker()).await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "stripe", "sk_conn", &[])
        .await;
    app.seed_oauth_connection(&org, "meta_ads", "meta-token", &[])
        .await;
    app.seed_oauth_connection(&other_org, "stripe", "sk_other", &[])
        .await;
    let org_id: uuid::Uuid = org.parse().unwrap();
    app.execute_with(
        "UPDATE connections SET account_id = $1 WHERE provider = 'stripe' AND org_id = $2",
        vec!["acct_1".into(), org_id.into()],
    )
    .await;
    app.execute_with(
        "UPDATE connections SET account_id = $1 WHERE provider = 'meta_ads'",
        vec!["10219".into()],
    )
    .await;

    // A call through the proxy just before: what it read is not what the next one uses.
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v27.0/me"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({"id": "10219"})))
        .mount(&app.provider)
        .await;
    let me = format!("/api/v1/orgs/{org}/integrations/meta_ads/proxy/me");
    assert_eq!(app.get(&me, &owner.token).await.status(), 200);

    let event =
        json!({"id": "evt_9", "type": "account.application.deauthorized", "account": "acct_1"});
    json_body(stripe(&app, STRIPE_SECRET, &event, now()).await, 200).await;
    let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": now(), "user_id": "10219"});
    json_body(meta(&app, META_SECRET, "deauthorize", &payload).await, 200).await;
    until("stripe", || async {
        status_of(&app, &owner.token, &org, "stripe").await == "expired"
    })
    .await;
    until("meta", || async {
        status_of(&app, &owner.token, &org, "meta_ads").await == "expired"
    })
    .await;
    let refused = problem(app.get(&me, &owner.token).await, 409).await;
    assert_eq!(refused["code"], "connection_expired");
    assert_eq!(
        status_of(&app, &other.token, &other_org, "stripe").await,
        "connected"
    );
}

/// Every table and text-like column whose value contains `needle`.
async fn tables_containing(app: &TestApp, needle: &str) -> Vec<String> {
    let tables: Vec<String> = if is_postgres() {
        app.raw_rows("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'")
            .await
            .iter()
            .map(|r| r.try_get::<String>("", "name").unwrap())
            .collect()
    } else {
        app.raw_rows("SELECT name FROM sqlite_master WHERE type = 'table'")
            .await
            .iter()
            .map(|r| r.try_get::<String>("", "name").unwrap())
            .collect()
    };
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<String> = if is_postgres() {
            app.raw_rows(&format!("SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'"))
                .await
                .iter()
                .map(|r| r.try_get::<String>("", "name").unwrap())
                .collect()
        } else {
            app.raw_rows(&format!("PRAGMA table_info(\"{table}\")"))
                .await
                .iter()
                .map(|r| r.try_get::<String>("", "name").unwrap())
                .collect()
        };
        for column in columns {
            let rows = app
                .raw_rows(&format!(
                    "SELECT CAST(\"{column}\" AS TEXT) AS v FROM \"{table}\""
                ))
                .await;
            if rows.iter().any(|r| {
                r.try_get::<Option<String>>("", "v")
                    .ok()
                    .flatten()
                    .is_some_and(|v| v.contains(needle))
            }) {
                found.push(format!("{table}.{column}"));
            }
        }
    }
    found
}

#[tokio::test]
async fn a_shop_redact_leaves_nothing_of_the_shop_behind() {
    let app = spawn_app_with(with_worker()).await;
    let (owner, org) = app.owner_with_org().await;
    webhook_to_mock(&app, &owner.token, &org).await;
    let shop = "redact-me.myshopify.com";
    app.connect_shopify(&owner.token, &org, shop, "shpat_redacted_token")
        .await;
    // What the shop's connection gathers: a forwarded topic, a customer's data request, an
    // uninstall with its notice.
    let order = json!({"id": 7, "shop_domain": shop, "note": "from redact-me.myshopify.com"});
    json_body(
        shopify(&app, SHOPIFY_SECRET, "orders/create", shop, "r-1", &order).await,
        200,
    )
    .await;
    let request = json!({"shop_id": 1001, "shop_domain": shop, "customer": {"id": 5, "email": "c@example.com"}, "orders_requested": [1], "data_request": {"id": 9}});
    json_body(
        shopify(
            &app,
            SHOPIFY_SECRET,
            "customers/data_request",
            shop,
            "r-2",
            &request,
        )
        .await,
        200,
    )
    .await;
    let uninstall = json!({"id": 1001, "myshopify_domain": shop, "name": "Acme Store"});
    json_body(
        shopify(
            &app,
            SHOPIFY_SECRET,
            "app/uninstalled",
            shop,
            "r-3",
            &uninstall,
        )
        .await,
        200,
    )
    .await;
    until("the uninstall", || async {
        status_of(&app, &owner.token, &org, "shopify").await == "expired"
    })
    .await;
    let listed = json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/privacy-requests"),
            &owner.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed["data"][0]["kind"], "customer_data_request");
    assert_eq!(
        listed["data"][0]["details"]["customer"]["email"],
        "c@example.com"
    );
    assert_eq!(outbox(&app, &org, "provider_event").await, 1);
    assert_eq!(outbox(&app, &org, "privacy_request").await, 1);
    assert!(
        !tables_containing(&app, shop).await.is_empty(),
        "the shop was there before"
    );

    let redact = json!({"shop_id": 1001, "shop_domain": shop});
    json_body(
        shopify(&app, SHOPIFY_SECRET, "shop/redact", shop, "r-4", &redact).await,
        200,
    )
    .await;
    until("the erasure", || async {
        status_of(&app, &owner.token, &org, "shopify").await == "not_connected"
    })
    .await;
    until("every delivery applied", || async {
        count(
            &app,
            "SELECT COUNT(*) AS n FROM inbound_deliveries WHERE applied_at IS NULL",
        )
        .await
            == 0
    })
    .await;

    for needle in [shop, "redact-me", "Acme Store", "gid://shopify/Shop/1001"] {
        assert_eq!(
            tables_containing(&app, needle).await,
            Vec::<String>::new(),
            "{needle} is still stored"
        );
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM connection_secrets").await,
        0
    );
    if is_postgres() {
        let dump = std::process::Command::new("pg_dump")
            .arg("--data-only")
            .arg(&app.database_url)
            .output()
            .expect("pg_dump runs");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let text = String::from_utf8_lossy(&dump.stdout);
        for needle in [shop, "redact-me", "Acme Store", "shpat_redacted_token"] {
            assert!(!text.contains(needle), "pg_dump still holds {needle}");
        }
    }
    // The history says an erasure happened; the brand's admins see it recorded as done.
    let actions = app.event_actions(&owner.token, &org, "shopify").await;
    assert!(actions.contains(&"erase".to_owned()), "{actions:?}");
    let listed = json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/privacy-requests"),
            &owner.token,
        )
        .await,
        200,
    )
    .await;
    let kinds: Vec<_> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].clone())
        .collect();
    assert!(kinds.contains(&json!("shop_redact")), "{listed}");
    let shop_redact = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "shop_redact")
        .unwrap();
    assert!(shop_redact["done_at"].is_string());
}

#[tokio::test]
async fn privacy_requests_are_for_the_orgs_admins_and_marked_done_once() {
    let app = spawn_app_with(with_worker()).await;
    let (owner, org) = app.owner_with_org().await;
    let (stranger, _) = app.owner_with_org().await;
    let member = app.add_member(&owner, &org, "member").await;
    let shop = "privacy.myshopify.com";
    app.seed_oauth_connection(&org, "shopify", "shpat_p", &[("shop", shop)])
        .await;
    let body = json!({"shop_id": 1, "shop_domain": shop, "customer": {"id": 5}, "orders_to_redact": [1, 2]});
    json_body(
        shopify(&app, SHOPIFY_SECRET, "customers/redact", shop, "p-1", &body).await,
        200,
    )
    .await;
    let path = format!("/api/v1/orgs/{org}/privacy-requests");
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = json_body(app.get(&path, &owner.token).await, 200).await;
        if !listed["data"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let request = &listed["data"][0];
    assert_eq!(request["kind"], "customer_redact");
    assert_eq!(request["details"]["orders_to_redact"], json!([1, 2]));
    let received =
        chrono::DateTime::parse_from_rfc3339(request["received_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(request["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((due - received).num_days(), 30);
    assert!(request["done_at"].is_null());

    problem(app.get(&path, &member.token).await, 403).await;
    problem(app.get(&path, &stranger.token).await, 404).await;
    let id = request["id"].as_str().unwrap();
    let done_path = format!("{path}/{id}/done");
    problem(app.post(&done_path, &stranger.token, json!({})).await, 404).await;
    let done = json_body(app.post(&done_path, &owner.token, json!({})).await, 200).await;
    assert!(done["done_at"].is_string());
    assert_eq!(done["done_by"], owner.id.as_str());
    let again = json_body(app.post(&done_path, &owner.token, json!({})).await, 200).await;
    assert_eq!(again["done_at"], done["done_at"]);
}

#[tokio::test]
async fn a_meta_data_deletion_answers_a_status_page_that_says_only_what_was_deleted() {
    let app = spawn_app_with(with_worker()).await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(
        &org,
        "meta_ads",
        "meta-secret-token",
        &[("ad_account_id", "act_1234567")],
    )
    .await;
    app.execute_with(
        "UPDATE connections SET account_id = $1, account_name = $2",
        vec!["10219".into(), "Ana Person".into()],
    )
    .await;
    let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": now(), "user_id": "10219"});
    let answer = json_body(
        meta(&app, META_SECRET, "data-deletion", &payload).await,
        200,
    )
    .await;
    let code = answer["confirmation_code"].as_str().unwrap().to_owned();
    assert!(
        code.len() >= 32 && code.chars().all(|c| c.is_ascii_alphanumeric()),
        "{code}"
    );
    let url = answer["url"].as_str().unwrap().to_owned();
    assert!(
        url.ends_with(&format!("/api/v1/webhooks/meta_ads/erasures/{code}")),
        "{url}"
    );
    // The same request again gets the same code.
    let again = json_body(
        meta(&app, META_SECRET, "data-deletion", &payload).await,
        200,
    )
    .await;
    assert_eq!(again["confirmation_code"], code.as_str());

    until("the erasure", || async {
        status_of(&app, &owner.token, &org, "meta_ads").await == "not_connected"
    })
    .await;
    let page_path = format!("/api/v1/webhooks/meta_ads/erasures/{code}");
    let mut page = String::new();
    for _ in 0..100 {
        let response = app.client.get(app.url(&page_path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        page = response.text().await.unwrap();
        if page.contains("Deleted on") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(page.contains("Deleted on"), "{page}");
    assert!(
        page.contains("the access token, the account name and ID, and the settings"),
        "{page}"
    );
    for private in ["10219", "Ana Person", "act_1234567", &org] {
        assert!(!page.contains(private), "the page shows {private}");
    }
    for needle in ["Ana Person", "act_1234567"] {
        assert_eq!(
            tables_containing(&app, needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let wrong = app
        .client
        .get(app.url("/api/v1/webhooks/meta_ads/erasures/0123456789abcdef0123456789abcdef"))
        .send()
        .await
        .unwrap();
    problem(wrong, 404).await;
}

#[tokio::test]
async fn a_delivery_acknowledged_before_a_kill_is_applied_after_the_restart() {
    // Received by a server without a worker, which is then killed with SIGKILL.
    let app = spawn_app_with(without_worker()).await;
    let (owner, org) = app.owner_with_org().await;
    let shop = "killed.myshopify.com";
    app.seed_oauth_connection(&org, "shopify", "shpat_k", &[("shop", shop)])
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let keys = {
        use secrecy::ExposeSecret;
        app.encryption_keys.expose_secret().to_owned()
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("PLUGBOARD_ENCRYPTION_KEYS", keys)
        .env(
            "PLUGBOARD_JWT_SECRET",
            "test-jwt-secret-that-is-long-enough-to-sign",
        )
        .env("PLUGBOARD_BIND", format!("127.0.0.1:{port}"))
        .env("PLUGBOARD_SANDBOX", "false")
        .env("PLUGBOARD_WORKER", "false")
        .env("SHOPIFY_API_SECRET", SHOPIFY_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the plugboard binary runs");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the binary never answered");
    let body = json!({"id": 1, "myshopify_domain": shop})
        .to_string()
        .into_bytes();
    let mut headers = inbound::sign(Scheme::ShopifyHmac, &secret(SHOPIFY_SECRET), &body, now());
    headers.extend([
        ("X-Shopify-Topic".to_owned(), "app/uninstalled".to_owned()),
        ("X-Shopify-Shop-Domain".to_owned(), shop.to_owned()),
        ("X-Shopify-Webhook-Id".to_owned(), "killed-1".to_owned()),
    ]);
    let mut request = client
        .post(format!("{base}/api/v1/webhooks/shopify"))
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    assert_eq!(request.send().await.unwrap().status(), 200);
    // SIGKILL, right after the acknowledgement.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        status_of(&app, &owner.token, &org, "shopify").await,
        "connected"
    );

    // The restart: a server with its worker on the same database applies it.
    let mut settings = test_settings(&app.database_url, String::new(), without_worker());
    settings.encryption_keys = app.encryption_keys.clone();
    settings.background.enabled = true;
    settings.background.delivery_interval = Duration::from_millis(100);
    let _restarted = start_server(settings).await.unwrap();
    until("the effect after the restart", || async {
        status_of(&app, &owner.token, &org, "shopify").await == "expired"
    })
    .await;
}

#[tokio::test]
async fn readiness_lists_each_inbound_url_its_secret_and_its_counts() {
    let app = spawn_app_with(Options {
        admin_emails: vec!["ops@plugboard.example".to_owned()],
        platform_env: vec![("SHOPIFY_API_SECRET", SHOPIFY_SECRET)],
        ..Options::default()
    })
    .await;
    let admin = app.signup_as("ops", "ops@plugboard.example").await;
    let body = json!({"id": 1, "myshopify_domain": "r.myshopify.com"});
    json_body(
        shopify(
            &app,
            SHOPIFY_SECRET,
            "app/uninstalled",
            "r.myshopify.com",
            "rd-1",
            &body,
        )
        .await,
        200,
    )
    .await;
    refused(
        shopify(
            &app,
            "wrong",
            "app/uninstalled",
            "r.myshopify.com",
            "rd-2",
            &body,
        )
        .await,
    )
    .await;
    let page = json_body(
        app.get("/api/v1/platform/readiness", &admin.token).await,
        200,
    )
    .await;
    let listed = page["inbound_webhooks"].as_array().unwrap();
    let by = |id: &str| listed.iter().find(|w| w["provider"] == id).unwrap().clone();
    let shop = by("shopify");
    assert_eq!(shop["secret_variable"], "SHOPIFY_API_SECRET");
    assert_eq!(shop["secret_configured"], true);
    assert_eq!(shop["accepted"], 1);
    assert_eq!(shop["refused"], 1);
    assert!(shop["last_delivery_at"].is_string());
    assert!(
        shop["urls"][0]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/webhooks/shopify")
    );
    let stripe_row = by("stripe");
    assert_eq!(stripe_row["secret_variable"], "STRIPE_WEBHOOK_SECRET");
    assert_eq!(stripe_row["secret_configured"], false);
    let meta = by("meta_ads");
    assert_eq!(meta["urls"].as_array().unwrap().len(), 2);
    assert!(
        !page.to_string().contains(SHOPIFY_SECRET),
        "a secret's value is never shown"
    );
    // A Stripe delivery without its secret set cannot be verified.
    let response = stripe(
        &app,
        STRIPE_SECRET,
        &json!({"id": "evt_x", "type": "x"}),
        now(),
    )
    .await;
    assert_eq!(problem(response, 503).await["code"], "platform_not_ready");
}

#[tokio::test]
async fn the_sandbox_uninstalls_a_shop_signed_as_shopify_does() {
    let app = spawn_app_with(Options {
        sandbox: true,
        allow_private_network: true,
        configure: |s| {
            s.background.enabled = true;
            s.background.delivery_interval = Duration::from_millis(100);
        },
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    webhook_to_mock(&app, &owner.token, &org).await;
    let shop = "sandbox-shop.myshopify.com";
    app.seed_oauth_connection(&org, "shopify", "shpat_sandbox", &[("shop", shop)])
        .await;
    let page = app
        .client
        .get(app.url("/sandbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("shopify app/uninstalled"),
        "the control page offers it"
    );
    let sent = app
        .client
        .post(app.url("/sandbox/_webhooks"))
        .form(&[("event", "shopify app/uninstalled"), ("account", shop)])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let said = sent.text().await.unwrap();
    assert!(said.contains("Plugboard answered 200"), "{said}");
    until("the uninstall", || async {
        status_of(&app, &owner.token, &org, "shopify").await == "expired"
    })
    .await;
    until("one signed notice", || async {
        outbox(&app, &org, "broken").await == 1
    })
    .await;
    // Each privacy request and the other providers' revocations are signed as theirs are.
    for (event, account) in [
        ("shopify customers/data_request", shop),
        ("slack tokens_revoked", "sandbox-slack-001"),
        ("meta_ads deauthorize", "sandbox-meta_ads-001"),
        ("meta_ads data-deletion", "sandbox-meta_ads-001"),
        (
            "stripe account.application.deauthorized",
            "sandbox-stripe-001",
        ),
    ] {
        let sent = app
            .client
            .post(app.url("/sandbox/_webhooks"))
            .form(&[("event", event), ("account", account)])
            .send()
            .await
            .unwrap();
        let said = sent.text().await.unwrap();
        assert!(said.contains("Plugboard answered 200"), "{event}: {said}");
    }
}
