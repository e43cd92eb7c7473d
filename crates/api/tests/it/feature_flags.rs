use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app, spawn_app_with};

fn flags(org: &str) -> String {
    format!("/api/v1/orgs/{org}/feature-flags")
}

async fn flag(app: &TestApp, token: &str, org: &str, key: &str) -> Value {
    json_body(app.get(&flags(org), token).await, 200).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == key)
        .cloned()
        .unwrap()
}

async fn set(app: &TestApp, token: &str, org: &str, key: &str, enabled: bool) -> reqwest::Response {
    app.patch(
        &format!("{}/{key}", flags(org)),
        token,
        json!({"enabled": enabled}),
    )
    .await
}

async fn connect_resend(app: &TestApp, token: &str, org: &str) {
    json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/resend"),
            token,
            json!({"credentials": {"api_key": "re_test_1234567890"}}),
        )
        .await,
        200,
    )
    .await;
}

async fn resend_answers(app: &TestApp) {
    app.answer(
        "GET",
        "/domains",
        200,
        json!({"data": [{"name": "acme.example", "id": "d_1"}]}),
    )
    .await;
}

#[tokio::test]
async fn every_provider_and_builtin_has_a_flag_with_its_rule() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let listed = json_body(app.get(&flags(&org), &owner.token).await, 200).await;
    let all = listed["data"].as_array().unwrap();
    let registry = domain::registry::Registry::builtin().unwrap();
    assert_eq!(
        all.len(),
        registry.providers().len() + domain::features::BUILTIN_FLAGS.len()
    );
    let find = |key: &str| all.iter().find(|f| f["key"] == key).unwrap().clone();
    let shopify = find("integrations.shopify");
    assert_eq!(shopify["requires_connection"], "shopify");
    assert_eq!(
        (
            shopify["default"].clone(),
            shopify["enabled"].clone(),
            shopify["effective"].clone()
        ),
        (json!(true), json!(true), json!(false))
    );
    let reviews = find("integrations.reviews_email");
    assert_eq!(reviews["requires_connection"], "resend");
    assert_eq!(reviews["effective"], false);
    let ga4 = find("integrations.ga4");
    assert!(ga4["requires_connection"].is_null());
    assert_eq!(
        (ga4["enabled"].clone(), ga4["effective"].clone()),
        (json!(true), json!(true))
    );
    assert!(reviews["description"].as_str().unwrap().len() > 10);
}

#[tokio::test]
async fn a_flag_that_needs_a_connection_can_only_be_turned_on_once_connected() {
    let app = spawn_app().await;
    resend_answers(&app).await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();
    let refused = problem(
        set(&app, token, &org, "integrations.resend", true).await,
        409,
    )
    .await;
    assert_eq!(refused["code"], "connection_required");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("Connect Resend")
    );
    // Turning off is always allowed.
    let off = json_body(
        set(&app, token, &org, "integrations.reviews_email", false).await,
        200,
    )
    .await;
    assert_eq!(
        (off["enabled"].clone(), off["effective"].clone()),
        (json!(false), json!(false))
    );

    connect_resend(&app, token, &org).await;
    let on = json_body(
        set(&app, token, &org, "integrations.resend", true).await,
        200,
    )
    .await;
    assert_eq!(
        (on["enabled"].clone(), on["effective"].clone()),
        (json!(true), json!(true))
    );
    let reviews = json_body(
        set(&app, token, &org, "integrations.reviews_email", true).await,
        200,
    )
    .await;
    assert_eq!(reviews["effective"], true);

    problem(
        set(&app, token, &org, "integrations.teleport", true).await,
        404,
    )
    .await;
    problem(
        app.patch(
            &format!("{}/integrations.resend", flags(&org)),
            token,
            json!({"enabled": "yes"}),
        )
        .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn disconnecting_turns_dependants_off_and_reconnecting_leaves_them_off() {
    let app = spawn_app().await;
    resend_answers(&app).await;
    let (owner, org) = app.owner_with_org().await;
    let token = owner.token.as_str();
    connect_resend(&app, token, &org).await;
    json_body(
        set(&app, token, &org, "integrations.resend", true).await,
        200,
    )
    .await;
    assert_eq!(
        flag(&app, token, &org, "integrations.reviews_email").await["effective"],
        true
    );

    json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/resend/disconnect"),
            token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    for key in ["integrations.resend", "integrations.reviews_email"] {
        let f = flag(&app, token, &org, key).await;
        assert_eq!(
            (f["enabled"].clone(), f["effective"].clone()),
            (json!(false), json!(false)),
            "{key}"
        );
    }
    assert_eq!(
        flag(&app, token, &org, "integrations.shopify").await["enabled"],
        true,
        "unrelated flags stay"
    );
    let events = json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations/resend/events"),
            token,
        )
        .await,
        200,
    )
    .await;
    let turned_off = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "flags_turned_off")
        .expect("the history says which flags went off");
    let message = turned_off["message"].as_str().unwrap();
    assert!(
        message.contains("integrations.resend") && message.contains("integrations.reviews_email")
    );
    assert_eq!(turned_off["actor_type"], "user");

    connect_resend(&app, token, &org).await;
    for key in ["integrations.resend", "integrations.reviews_email"] {
        assert_eq!(
            flag(&app, token, &org, key).await["enabled"],
            false,
            "{key} stays off"
        );
    }
}

#[tokio::test]
async fn a_platform_level_flag_needs_the_operators_setup() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let refused = problem(
        set(&app, &owner.token, &org, "integrations.sentry", true).await,
        409,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("SENTRY_AUTH_TOKEN")
    );

    let ready = spawn_app_with(Options {
        platform_env: vec![
            ("SENTRY_DSN", "https://k@sentry.example/1"),
            ("SENTRY_AUTH_TOKEN", "sntrys_x"),
        ],
        ..Options::default()
    })
    .await;
    let (owner, org) = ready.owner_with_org().await;
    let on = json_body(
        set(&ready, &owner.token, &org, "integrations.sentry", true).await,
        200,
    )
    .await;
    assert_eq!(on["effective"], true);
}

#[tokio::test]
async fn the_features_step_applies_the_same_rules() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let step = format!("/api/v1/orgs/{org}/onboarding/steps/features");
    let needs = problem(
        app.patch(
            &step,
            &owner.token,
            json!({"action": "complete", "data": {"flags": {"integrations.resend": true}}}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(needs["code"], "connection_required");
    let unknown = problem(
        app.patch(
            &step,
            &owner.token,
            json!({"action": "complete", "data": {"flags": {"integrations.nope": true}}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        unknown["errors"][0]["field"],
        "data.flags.integrations.nope"
    );
    let done = json_body(
        app.patch(
            &step,
            &owner.token,
            json!({"action": "complete", "data": {"flags": {"integrations.ga4": false, "integrations.reviews_email": false}}}),
        )
        .await,
        200,
    )
    .await;
    let saved = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "features")
        .unwrap();
    assert_eq!(saved["data"]["flags"]["integrations.ga4"], false);
    assert_eq!(
        flag(&app, &owner.token, &org, "integrations.ga4").await["enabled"],
        false
    );
    assert_eq!(
        flag(&app, &owner.token, &org, "integrations.reviews_email").await["enabled"],
        false
    );
}

#[tokio::test]
async fn members_read_flags_and_other_organizations_see_none() {
    let app = spawn_app().await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let member = app.add_member(&owner_a, &org_a, "member").await;
    let (owner_b, _org_b) = app.owner_with_org().await;
    json_body(app.get(&flags(&org_a), &member.token).await, 200).await;
    problem(
        set(&app, &member.token, &org_a, "integrations.ga4", false).await,
        403,
    )
    .await;
    problem(app.get(&flags(&org_a), &owner_b.token).await, 404).await;
    problem(
        set(&app, &owner_b.token, &org_a, "integrations.ga4", false).await,
        404,
    )
    .await;
    assert_eq!(
        flag(&app, &owner_a.token, &org_a, "integrations.ga4").await["enabled"],
        true
    );
}
