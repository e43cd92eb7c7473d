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
