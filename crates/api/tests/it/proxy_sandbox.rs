//! The proxy against the provider sandbox, as a partner uses it: a key with `proxy:read`
//! pages through a brand's Meta ad accounts and Shopify products, never sees a token, and
//! keeps working while the sandbox's Shopify tokens run out every few seconds.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, spawn_app_with};
use crate::proxy::{key, proxy};
use crate::sandbox::{SANDBOX_ADMIN, connect, set_mode};

const SHOP: &str = "acme-outdoor.myshopify.com";
/// Every token the sandbox issues starts so (`sbx_at.…`, `sbx_rt.…`).
const TOKEN_PREFIX: &str = "sbx_";

async fn app() -> TestApp {
    spawn_app_with(Options {
        sandbox: true,
        admin_emails: vec![SANDBOX_ADMIN.to_owned()],
        configure: |s| {
            s.background.sandbox_shopify_token_lifetime = Duration::from_secs(3);
        },
        ..Options::default()
    })
    .await
}

/// Calls `url` with the key and checks every header and body byte for a token.
async fn tokenless_get(app: &TestApp, url: &str, key: &str) -> (reqwest::header::HeaderMap, Value) {
    let response = app.client.get(url).bearer_auth(key).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        assert!(
            !value.contains(TOKEN_PREFIX) && !value.contains("access_token="),
            "header {name} carries a token: {value}"
        );
    }
    let body = response.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(
        !text.contains(TOKEN_PREFIX) && !text.contains("access_token="),
        "the body carries a token: {text}"
    );
    assert_eq!(status, 200, "{url}: {text}");
    assert_eq!(headers["plugboard-proxied"], "true");
    (headers, serde_json::from_slice(&body).unwrap())
}

/// The `rel="next"` target of a `Link` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(", ")
        .find(|part| part.ends_with("rel=\"next\""))
        .and_then(|part| part.split_once('<')?.1.split_once('>'))
        .map(|(url, _)| url.to_owned())
}

#[tokio::test]
async fn proxy_sandbox_a_partner_pages_meta_ad_accounts_and_shopify_products_without_a_token() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "meta_ads", json!({})).await;
    connect(&app, &owner.token, &org, "shopify", json!({ "shop": SHOP })).await;
    let partner = key(&app, &owner.token, &org, &["proxy:read"]).await;
    let through = app.url(&proxy(&org, "meta_ads", ""));

    // Meta: 25 a page, each `paging.next` followed as it is, back through Plugboard.
    let mut url = app.url(&proxy(&org, "meta_ads", "me/adaccounts?fields=id,name"));
    let mut accounts = Vec::new();
    let mut pages = 0;
    loop {
        let (_, page) = tokenless_get(&app, &url, &partner).await;
        pages += 1;
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 25, "{page}");
        accounts.extend(data.iter().map(|a| a["id"].as_str().unwrap().to_owned()));
        assert!(
            data.iter().all(|a| a["name"].is_string()),
            "fields kept: {page}"
        );
        assert!(page["paging"]["cursors"]["after"].is_string(), "{page}");
        let Some(next) = page["paging"]["next"].as_str() else {
            break;
        };
        assert!(next.starts_with(&through), "{next} points elsewhere");
        url = next.to_owned();
    }
    assert_eq!(pages, 3);
    assert_eq!(accounts.len(), 60);
    assert_eq!(accounts.iter().collect::<BTreeSet<_>>().len(), 60);

    // Shopify: REST pages by the `Link` header, whose target is rewritten the same way.
    let through = app.url(&proxy(&org, "shopify", ""));
    let mut url = app.url(&proxy(&org, "shopify", "products.json?limit=20"));
    let mut products = BTreeSet::new();
    loop {
        let (headers, page) = tokenless_get(&app, &url, &partner).await;
        for product in page["products"].as_array().unwrap() {
            products.insert(product["id"].as_u64().unwrap());
        }
        let Some(next) = next_link(&headers) else {
            break;
        };
        assert!(next.starts_with(&through), "{next} points elsewhere");
        url = next;
    }
    assert_eq!(products.len(), 42);

    // The shop's token lives 3 seconds: past it, a call still works, on a renewed token.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, page) = tokenless_get(
        &app,
        &app.url(&proxy(&org, "shopify", "products.json?limit=1")),
        &partner,
    )
    .await;
    assert_eq!(page["products"].as_array().unwrap().len(), 1);
    let activity: Value = app
        .client
        .get(app.url("/sandbox/_activity"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        activity["shopify"]["refreshes"].as_u64().unwrap() >= 1,
        "{activity}"
    );
    assert_eq!(activity["shopify"]["replays"], 0, "{activity}");
}

#[tokio::test]
async fn proxy_sandbox_slack_stripe_and_google_ads_answer_in_their_own_shapes() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    for provider in ["slack", "stripe", "google_ads"] {
        connect(&app, &owner.token, &org, provider, json!({})).await;
    }
    let partner = key(&app, &owner.token, &org, &["proxy:read"]).await;
    let get = |provider: &str, rest: &str| app.url(&proxy(&org, provider, rest));

    let (_, channels) =
        tokenless_get(&app, &get("slack", "conversations.list?limit=2"), &partner).await;
    assert_eq!(channels["ok"], true);
    assert_eq!(channels["channels"].as_array().unwrap().len(), 2);
    let cursor = channels["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap();
    let (_, rest) = tokenless_get(
        &app,
        &get(
            "slack",
            &format!("conversations.list?limit=10&cursor={cursor}"),
        ),
        &partner,
    )
    .await;
    assert_eq!(rest["channels"].as_array().unwrap().len(), 10);
    assert_eq!(rest["channels"][0]["name"], "marketing");
    assert_ne!(rest["response_metadata"]["next_cursor"], "");

    let (_, balance) = tokenless_get(&app, &get("stripe", "v1/balance"), &partner).await;
    assert_eq!(balance["object"], "balance");
    assert!(balance["available"][0]["amount"].is_number());

    let (_, customers) = tokenless_get(
        &app,
        &get("google_ads", "customers:listAccessibleCustomers"),
        &partner,
    )
    .await;
    let customers = customers["resourceNames"].as_array().unwrap();
    assert_eq!(customers.len(), 32);
    assert_eq!(customers[0], "customers/5550000001");
}

#[tokio::test]
async fn proxy_sandbox_a_stale_token_is_renewed_and_a_rate_limit_comes_back_with_retry_after() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "stripe", json!({})).await;
    let partner = key(&app, &owner.token, &org, &["proxy:read"]).await;
    let balance = app.url(&proxy(&org, "stripe", "v1/balance"));

    // The token from before the switch gets a 401: Plugboard renews it and the call works.
    set_mode(&app, "stripe", "stale").await;
    tokenless_get(&app, &balance, &partner).await;
    let activity: Value = app
        .client
        .get(app.url("/sandbox/_activity"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(activity["stripe"]["refreshes"], 1, "{activity}");

    // One call a second: the second at once is the provider's 429, passed on as it is.
    set_mode(&app, "stripe", "rate_limited").await;
    tokenless_get(&app, &balance, &partner).await;
    let refused = app
        .client
        .get(&balance)
        .bearer_auth(&partner)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["plugboard-proxied"], "true");

    // Asked to, Plugboard waits the second out and brings the balance.
    let waited = app
        .client
        .get(&balance)
        .bearer_auth(&partner)
        .header("plugboard-retries", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(waited.status(), 200);
}
