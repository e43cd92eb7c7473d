use reqwest::Method;
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    SHOPIFY_GRAPHQL, TestApp, json_body, problem, spawn_app, spawn_app_with, with_shopify_app,
};

const SHOP: &str = "acme.myshopify.com";
/// The product count goes through GraphQL Admin (`productsCount`), like the connection check.
const COUNT_PATH: &str = SHOPIFY_GRAPHQL;

fn step_path(org: &str, step: &str) -> String {
    format!("/api/v1/orgs/{org}/onboarding/steps/{step}")
}

async fn complete(
    app: &TestApp,
    token: &str,
    org: &str,
    step: &str,
    data: Value,
) -> reqwest::Response {
    app.patch(
        &step_path(org, step),
        token,
        json!({"action": "complete", "data": data}),
    )
    .await
}

/// Completes `import_products` with "import now", which counts the store's products.
async fn import_now(app: &TestApp, token: &str, org: &str) -> reqwest::Response {
    complete(app, token, org, "import_products", json!({"choice": "now"})).await
}

async fn skip(app: &TestApp, token: &str, org: &str, step: &str) -> reqwest::Response {
    app.patch(&step_path(org, step), token, json!({"action": "skip"}))
        .await
}

fn step<'b>(body: &'b Value, id: &str) -> &'b Value {
    body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
}

fn providers_in(summary: &Value, group: &str) -> Vec<String> {
    summary[group]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["provider"].as_str().unwrap().to_owned())
        .collect()
}

fn basic_info() -> Value {
    json!({"name": "Acme", "website": "https://acme.example", "timezone": "Europe/Paris", "currency": "EUR"})
}

#[tokio::test]
async fn the_whole_wizard_from_first_step_to_launch_and_back_later() {
    let app = spawn_app_with(with_shopify_app()).await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();

    let fresh = json_body(
        app.get(&format!("/api/v1/orgs/{org}/onboarding"), token)
            .await,
        200,
    )
    .await;
    let ids: Vec<&str> = fresh["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "basic_info",
            "connect_shopify",
            "shopify_setup",
            "domains",
            "payments",
            "integrations",
            "features",
            "import_products",
            "invite_users",
            "review_launch"
        ]
    );
    assert!(fresh["launched_at"].is_null());
    let shopify_step = step(&fresh, "connect_shopify");
    assert_eq!(shopify_step["status"], "pending");
    assert_eq!(shopify_step["required"], true);
    assert_eq!(shopify_step["can_skip"], false);
    assert_eq!(step(&fresh, "payments")["recommended"], true);
    assert_eq!(step(&fresh, "payments")["can_skip"], true);

    // Required steps cannot be skipped, and the problem names the step.
    for required in [
        "basic_info",
        "connect_shopify",
        "shopify_setup",
        "features",
        "review_launch",
    ] {
        let refused = problem(skip(&app, token, &org, required).await, 422).await;
        assert_eq!(refused["code"], "step_required");
        assert!(refused["detail"].as_str().unwrap().contains(required));
    }

    let saved = json_body(
        complete(&app, token, &org, "basic_info", basic_info()).await,
        200,
    )
    .await;
    assert_eq!(step(&saved, "basic_info")["status"], "completed");
    assert_eq!(
        step(&saved, "basic_info")["data"]["timezone"],
        "Europe/Paris"
    );

    app.connect_shopify(token, &org, SHOP, "shpat_wizard_token")
        .await;
    let connected = json_body(
        complete(&app, token, &org, "connect_shopify", json!(null)).await,
        200,
    )
    .await;
    let data = &step(&connected, "connect_shopify")["data"];
    assert_eq!(data["shop"], SHOP);
    assert_eq!(data["account_name"], "Acme Store");
    let setup = json_body(
        complete(
            &app,
            token,
            &org,
            "shopify_setup",
            json!({"sync_customers": false}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(step(&setup, "shopify_setup")["data"]["sync_products"], true);
    assert_eq!(
        step(&setup, "shopify_setup")["data"]["sync_customers"],
        false
    );

    for optional in [
        "domains",
        "payments",
        "integrations",
        "import_products",
        "invite_users",
    ] {
        let skipped = json_body(skip(&app, token, &org, optional).await, 200).await;
        assert_eq!(step(&skipped, optional)["status"], "skipped");
    }
    // Launch waits for the required features step.
    let early = problem(
        complete(&app, token, &org, "review_launch", json!(null)).await,
        409,
    )
    .await;
    assert_eq!(early["code"], "steps_missing");
    assert!(early["detail"].as_str().unwrap().contains("features"));
    json_body(
        complete(
            &app,
            token,
            &org,
            "features",
            json!({"flags": {"integrations.meta_ads": false}}),
        )
        .await,
        200,
    )
    .await;

    // An integration in trouble shows up as failed in the summary.
    app.seed_oauth_connection(
        &org,
        "google_ads",
        "ya29.token",
        &[("customer_id", "1234567890")],
    )
    .await;
    app.execute_with(
        "UPDATE connections SET status = 'expired', version = version + 1 WHERE provider = $1",
        vec!["google_ads".into()],
    )
    .await;
    let launched = json_body(
        complete(&app, token, &org, "review_launch", json!(null)).await,
        200,
    )
    .await;
    let launched_at = launched["launched_at"].clone();
    assert!(launched_at.is_string(), "{launched}");
    let summary = &step(&launched, "review_launch")["data"]["summary"];
    assert_eq!(providers_in(summary, "connected"), ["shopify"]);
    assert_eq!(providers_in(summary, "failed"), ["google_ads"]);
    let skipped = providers_in(summary, "skipped");
    assert!(skipped.contains(&"stripe".to_owned()) && skipped.contains(&"resend".to_owned()));
    assert!(
        !skipped.contains(&"sentry".to_owned()),
        "platform-level providers are not the brand's"
    );

    // Later, from Settings: a skipped step is completed, and launch stays where it was.
    let domains = json_body(
        complete(
            &app,
            token,
            &org,
            "domains",
            json!({"domains": ["Shop.Example.com", "www.example.com"]}),
        )
        .await,
        200,
    )
    .await;
    let domains_step = step(&domains, "domains");
    assert_eq!(domains_step["status"], "completed");
    let listed = domains_step["data"]["domains"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["domain"], "shop.example.com");
    assert_eq!(listed[0]["status"], "pending");
    assert_eq!(listed[0]["dns_record"]["type"], "TXT");
    assert_eq!(
        listed[0]["dns_record"]["name"],
        "_plugboard-verify.shop.example.com"
    );
    let www_value = listed[1]["dns_record"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(www_value.starts_with("plugboard-verification="));
    assert_eq!(domains["launched_at"], launched_at);

    // Completing again replaces the list; a kept domain keeps its record.
    let again = json_body(
        complete(
            &app,
            token,
            &org,
            "domains",
            json!({"domains": ["www.example.com"]}),
        )
        .await,
        200,
    )
    .await;
    let listed = step(&again, "domains")["data"]["domains"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["dns_record"]["value"], www_value.as_str());
    let relaunched = json_body(
        complete(&app, token, &org, "review_launch", json!(null)).await,
        200,
    )
    .await;
    assert_eq!(relaunched["launched_at"], launched_at);
}

#[tokio::test]
async fn without_shopify_its_steps_and_launch_refuse_with_a_sentence_to_show() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();
    for shopify_step in ["connect_shopify", "shopify_setup"] {
        let refused = problem(
            complete(&app, token, &org, shopify_step, json!(null)).await,
            409,
        )
        .await;
        assert_eq!(refused["code"], "shopify_not_connected");
        assert!(
            refused["detail"]
                .as_str()
                .unwrap()
                .contains("Connect your Shopify store")
        );
    }
    json_body(
        complete(&app, token, &org, "basic_info", basic_info()).await,
        200,
    )
    .await;
    json_body(
        complete(&app, token, &org, "features", json!({"flags": {}})).await,
        200,
    )
    .await;
    let launch = problem(
        complete(&app, token, &org, "review_launch", json!(null)).await,
        409,
    )
    .await;
    assert_eq!(launch["code"], "steps_missing");
    let detail = launch["detail"].as_str().unwrap();
    assert!(
        detail.contains("connect_shopify") && detail.contains("shopify_setup"),
        "{detail}"
    );

    // An expired Shopify connection is not connected either, and the sentence says what to do.
    app.seed_oauth_connection(&org, "shopify", "shpat_old", &[("shop", SHOP)])
        .await;
    app.execute_with(
        "UPDATE connections SET status = 'expired', version = version + 1 WHERE provider = $1",
        vec!["shopify".into()],
    )
    .await;
    let expired = problem(
        complete(&app, token, &org, "connect_shopify", json!(null)).await,
        409,
    )
    .await;
    assert!(expired["detail"].as_str().unwrap().contains("Reconnect"));

    // Shopify connected, both steps done, then disconnected: launch refuses again.
    app.seed_oauth_connection(&org, "shopify", "shpat_new", &[("shop", SHOP)])
        .await;
    json_body(
        complete(&app, token, &org, "connect_shopify", json!(null)).await,
        200,
    )
    .await;
    json_body(
        complete(&app, token, &org, "shopify_setup", json!({})).await,
        200,
    )
    .await;
    json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/shopify/disconnect"),
            token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    let gone = problem(
        complete(&app, token, &org, "review_launch", json!(null)).await,
        409,
    )
    .await;
    assert_eq!(gone["code"], "shopify_not_connected");
    let progress = json_body(
        app.get(&format!("/api/v1/orgs/{org}/onboarding"), token)
            .await,
        200,
    )
    .await;
    assert!(progress["launched_at"].is_null());
    assert_eq!(step(&progress, "review_launch")["status"], "pending");
}

#[tokio::test]
async fn step_data_is_checked_field_by_field() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();
    let bad = problem(
        complete(
            &app,
            token,
            &org,
            "basic_info",
            json!({"name": "", "website": "acme.example", "timezone": "Mars/Base", "currency": "usd"}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "data.name",
            "data.website",
            "data.timezone",
            "data.currency"
        ],
        "in the form's order"
    );
    let missing = problem(
        complete(&app, token, &org, "basic_info", json!({"name": "Acme"})).await,
        422,
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "data");
    let hosts = problem(
        complete(
            &app,
            token,
            &org,
            "domains",
            json!({"domains": ["shop.example.com", "https://x.example/"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(hosts["errors"][0]["field"], "data.domains[1]");
    let unexpected = problem(
        complete(&app, token, &org, "payments", json!({"stripe": true})).await,
        422,
    )
    .await;
    assert_eq!(unexpected["errors"][0]["field"], "data");
    let no_step = problem(skip(&app, token, &org, "launch_party").await, 404).await;
    assert!(
        no_step["detail"]
            .as_str()
            .unwrap()
            .contains("review_launch")
    );
    let progress = json_body(
        app.get(&format!("/api/v1/orgs/{org}/onboarding"), token)
            .await,
        200,
    )
    .await;
    assert!(
        progress["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "pending")
    );
}

#[tokio::test]
async fn a_domain_belongs_to_one_organization_and_skipping_keeps_it() {
    let app = spawn_app().await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let (owner_b, org_b) = app.owner_with_org().await;
    json_body(
        complete(
            &app,
            &owner_a.token,
            &org_a,
            "domains",
            json!({"domains": ["shop.example.com"]}),
        )
        .await,
        200,
    )
    .await;
    let taken = problem(
        complete(
            &app,
            &owner_b.token,
            &org_b,
            "domains",
            json!({"domains": ["other.example.com", "SHOP.example.com"]}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(taken["code"], "domain_taken");
    assert!(
        taken["detail"]
            .as_str()
            .unwrap()
            .contains("shop.example.com")
    );
    let b = json_body(
        app.get(&format!("/api/v1/orgs/{org_b}/onboarding"), &owner_b.token)
            .await,
        200,
    )
    .await;
    assert_eq!(
        step(&b, "domains")["status"],
        "pending",
        "nothing half-written"
    );

    let skipped = json_body(skip(&app, &owner_a.token, &org_a, "domains").await, 200).await;
    let domains = step(&skipped, "domains");
    assert_eq!(domains["status"], "skipped");
    assert_eq!(domains["data"]["domains"][0]["domain"], "shop.example.com");
}

#[tokio::test]
async fn payments_and_integrations_record_what_is_connected() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();
    let refused = problem(
        complete(&app, token, &org, "payments", json!(null)).await,
        409,
    )
    .await;
    assert_eq!(refused["code"], "stripe_not_connected");
    app.seed_oauth_connection(&org, "stripe", "sk_connect_token", &[])
        .await;
    let paid = json_body(
        complete(&app, token, &org, "payments", json!(null)).await,
        200,
    )
    .await;
    assert_eq!(step(&paid, "payments")["data"]["status"], "connected");
    let listed = json_body(
        complete(&app, token, &org, "integrations", json!(null)).await,
        200,
    )
    .await;
    assert_eq!(
        step(&listed, "integrations")["data"]["connected"][0]["provider"],
        "stripe"
    );
}

#[tokio::test]
async fn import_products_now_counts_the_store_through_its_connection() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();
    let not_yet = problem(import_now(&app, token, &org).await, 409).await;
    assert_eq!(not_yet["code"], "shopify_not_connected");

    app.seed_oauth_connection(&org, "shopify", "shpat_count_token", &[("shop", SHOP)])
        .await;
    Mock::given(method("POST"))
        .and(path(COUNT_PATH))
        .and(header("X-Shopify-Access-Token", "shpat_count_token"))
        .and(body_string_contains("productsCount(limit: null) { count }"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"data": {"productsCount": {"count": 42, "precision": "EXACT"}}}),
            ),
        )
        .mount(&app.provider)
        .await;
    let counted = json_body(import_now(&app, token, &org).await, 200).await;
    let data = &step(&counted, "import_products")["data"];
    assert_eq!(data["choice"], "now");
    assert_eq!(data["product_count"], 42);
    assert!(data["counted_at"].is_string());
    assert!(!app.logs.contains("shpat_count_token"));

    let later = json_body(
        complete(
            &app,
            token,
            &org,
            "import_products",
            json!({"choice": "later"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        step(&later, "import_products")["data"],
        json!({"choice": "later"})
    );
}

#[tokio::test]
async fn import_products_when_shopify_is_down_is_a_503_and_saves_nothing() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();
    app.seed_oauth_connection(&org, "shopify", "shpat_count_token", &[("shop", SHOP)])
        .await;
    let down = Mock::given(method("POST"))
        .and(path(COUNT_PATH))
        .respond_with(ResponseTemplate::new(503))
        .mount_as_scoped(&app.provider)
        .await;
    let outage = problem(import_now(&app, token, &org).await, 503).await;
    assert_eq!(outage["code"], "provider_unavailable");
    drop(down);
    // Not found at Shopify is still Shopify's trouble, never a 404 of ours.
    let missing = problem(import_now(&app, token, &org).await, 503).await;
    assert_eq!(missing["code"], "provider_unavailable");
    let no_scope = Mock::given(method("POST"))
        .and(path(COUNT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": null,
            "errors": [{"message": "Access denied for productsCount field. Required access: `read_products` access scope."}]
        })))
        .mount_as_scoped(&app.provider)
        .await;
    let refused = problem(import_now(&app, token, &org).await, 409).await;
    assert_eq!(refused["code"], "shopify_token_rejected");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("read_products"),
        "{refused}"
    );
    drop(no_scope);
    app.answer(
        "POST",
        COUNT_PATH,
        401,
        json!({"errors": "[API] Invalid API key or access token"}),
    )
    .await;
    let refused = problem(import_now(&app, token, &org).await, 409).await;
    assert_eq!(refused["code"], "shopify_token_rejected");
    let progress = json_body(
        app.get(&format!("/api/v1/orgs/{org}/onboarding"), token)
            .await,
        200,
    )
    .await;
    assert_eq!(step(&progress, "import_products")["status"], "pending");
}

#[tokio::test]
async fn members_read_and_other_organizations_see_nothing() {
    let app = spawn_app().await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let member = app.add_member(&owner_a, &org_a, "member").await;
    let (owner_b, _org_b) = app.owner_with_org().await;
    let onboarding = format!("/api/v1/orgs/{org_a}/onboarding");
    json_body(app.get(&onboarding, &member.token).await, 200).await;
    let refused = problem(
        complete(&app, &member.token, &org_a, "basic_info", basic_info()).await,
        403,
    )
    .await;
    assert_eq!(refused["code"], "forbidden");
    problem(skip(&app, &member.token, &org_a, "domains").await, 403).await;

    problem(app.get(&onboarding, &owner_b.token).await, 404).await;
    problem(
        complete(&app, &owner_b.token, &org_a, "basic_info", basic_info()).await,
        404,
    )
    .await;
    problem(
        app.request(
            Method::PATCH,
            &step_path(&org_a, "domains"),
            Some(&owner_b.token),
            Some(json!({"action": "skip"})),
        )
        .await,
        404,
    )
    .await;
    let untouched = json_body(app.get(&onboarding, &owner_a.token).await, 200).await;
    assert!(
        untouched["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "pending")
    );
}
