use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{TestApp, json_body, problem, spawn_app};

const KEY: &str = "sk-test-abcdefghijklmnop1234";

async fn openai_answers(app: &TestApp, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&app.provider)
        .await;
}

async fn save_key(app: &TestApp, token: &str, org: &str) -> reqwest::Response {
    app.patch(
        &format!("/api/v1/orgs/{org}/integrations/openai"),
        token,
        json!({"credentials": {"api_key": KEY}}),
    )
    .await
}

#[tokio::test]
async fn every_provider_is_listed_not_connected() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let body = json_body(
        app.get(&format!("/api/v1/orgs/{org}/integrations"), &owner.token)
            .await,
        200,
    )
    .await;
    let data = body["data"].as_array().unwrap();
    assert!(data.len() >= 30, "{}", data.len());
    for item in data {
        assert_eq!(item["status"], "not_connected");
        for key in [
            "provider",
            "name",
            "category",
            "auth_type",
            "enabled",
            "onboarding",
            "credentials",
            "config",
            "account_name",
            "last_tested_at",
            "last_sync_at",
            "last_error",
            "token_expires_at",
            "connected_at",
        ] {
            assert!(item.get(key).is_some(), "{key} missing in {item}");
        }
    }
    let shopify = data.iter().find(|i| i["provider"] == "shopify").unwrap();
    assert_eq!(shopify["onboarding"], "required");
    let openai = data.iter().find(|i| i["provider"] == "openai").unwrap();
    assert_eq!(
        openai["credentials"]["api_key"],
        json!({"configured": false})
    );

    let one = app.integration(&owner.token, &org, "klaviyo").await;
    assert_eq!(one["auth_type"], "api_key");
    let missing = problem(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations/myspace"),
            &owner.token,
        )
        .await,
        404,
    )
    .await;
    assert!(missing["detail"].as_str().unwrap().contains("myspace"));
}

#[tokio::test]
async fn an_api_key_is_verified_then_connected_showing_only_its_last_four() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    openai_answers(
        &app,
        200,
        json!({"data": [{"id": "gpt-4o", "owned_by": "acme-org"}]}),
    )
    .await;
    let body = json_body(save_key(&app, &owner.token, &org).await, 200).await;
    assert_eq!(body["status"], "connected");
    assert_eq!(
        body["credentials"]["api_key"],
        json!({"configured": true, "last4": "1234"})
    );
    assert_eq!(body["account_id"], "acme-org");
    assert!(body["connected_at"].is_string() && body["last_tested_at"].is_string());
    assert!(body["last_error"].is_null());

    let test = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/openai/test"),
            &owner.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(test["ok"], true);
    assert_eq!(test["status"], "connected");
    assert!(test["checked_at"].is_string());

    assert_eq!(
        app.event_actions(&owner.token, &org, "openai").await,
        ["test", "connect"]
    );
}

#[tokio::test]
async fn a_key_the_provider_rejects_is_not_stored() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    openai_answers(
        &app,
        401,
        json!({"error": {"message": "Incorrect API key provided."}}),
    )
    .await;
    let body = problem(save_key(&app, &owner.token, &org).await, 422).await;
    assert_eq!(body["code"], "credentials_rejected");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("Incorrect API key provided.") && detail.contains("Nothing was saved."),
        "{detail}"
    );

    let after = app.integration(&owner.token, &org, "openai").await;
    assert_eq!(after["status"], "not_connected");
    assert_eq!(after["credentials"]["api_key"]["configured"], false);
    assert!(
        app.raw_rows("SELECT id FROM connection_secrets")
            .await
            .is_empty()
    );
    assert!(app.raw_rows("SELECT id FROM connections").await.is_empty());
}

#[tokio::test]
async fn a_provider_that_does_not_answer_in_time_is_a_503_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(4)))
        .mount(&app.provider)
        .await;
    let answer = save_key(&app, &owner.token, &org).await;
    assert_eq!(answer.headers()["retry-after"], "5");
    let body = problem(answer, 503).await;
    assert_eq!(body["code"], "provider_timeout");
    assert!(
        app.raw_rows("SELECT id FROM connection_secrets")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn fields_are_checked_against_the_registry() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let url = format!("/api/v1/orgs/{org}/integrations/openai");
    let body = problem(
        app.patch(
            &url,
            &owner.token,
            json!({"credentials": {"api_token": KEY}, "config": {"region": "eu"}}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["credentials.api_token", "config.region"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("api_key")
    );

    let body = problem(
        app.patch(
            &url,
            &owner.token,
            json!({"credentials": {"api_key": "not-a-key"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        "An OpenAI API key starts with sk-."
    );

    let oauth = problem(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/shopify"),
            &owner.token,
            json!({"credentials": {"access_token": "x"}}),
        )
        .await,
        422,
    )
    .await;
    assert!(oauth.to_string().contains("OAuth"));
    assert_eq!(
        app.provider.received_requests().await.unwrap().len(),
        0,
        "no provider call for invalid input"
    );
}

#[tokio::test]
async fn disable_enable_and_disconnect_keep_history() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    openai_answers(&app, 200, json!({"data": []})).await;
    let url = format!("/api/v1/orgs/{org}/integrations/openai");
    json_body(save_key(&app, &owner.token, &org).await, 200).await;

    let disabled = json_body(
        app.patch(&url, &owner.token, json!({"enabled": false}))
            .await,
        200,
    )
    .await;
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["credentials"]["api_key"]["configured"], true);

    let enabled = json_body(
        app.patch(&url, &owner.token, json!({"enabled": true}))
            .await,
        200,
    )
    .await;
    assert_eq!(enabled["status"], "connected");

    let gone = json_body(
        app.post(&format!("{url}/disconnect"), &owner.token, json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(gone["status"], "not_connected");
    assert_eq!(gone["credentials"]["api_key"]["configured"], false);
    assert!(gone["disconnected_at"].is_string());
    assert!(
        app.raw_rows("SELECT id FROM connection_secrets")
            .await
            .is_empty()
    );
    assert_eq!(
        problem(
            app.post(&format!("{url}/test"), &owner.token, json!({}))
                .await,
            409
        )
        .await["code"],
        "not_connected"
    );

    let events = json_body(app.get(&format!("{url}/events"), &owner.token).await, 200).await;
    let actions: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["disconnect", "enable", "disable", "connect"]);
    let page = json_body(
        app.get(&format!("{url}/events?limit=2"), &owner.token)
            .await,
        200,
    )
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);

    // Reconnecting keeps the same connection and its history.
    json_body(save_key(&app, &owner.token, &org).await, 200).await;
    let events = json_body(app.get(&format!("{url}/events"), &owner.token).await, 200).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 5);
    assert_eq!(app.raw_rows("SELECT id FROM connections").await.len(), 1);
}

#[tokio::test]
async fn a_failing_test_marks_the_connection_with_a_reason() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    openai_answers(&app, 200, json!({"data": []})).await;
    json_body(save_key(&app, &owner.token, &org).await, 200).await;
    app.provider.reset().await;
    openai_answers(&app, 401, json!({"error": {"message": "Key revoked."}})).await;

    let test = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/openai/test"),
            &owner.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(test["ok"], false);
    assert_eq!(test["status"], "error");
    assert_eq!(test["code"], "credentials_rejected");
    let now = app.integration(&owner.token, &org, "openai").await;
    assert_eq!(now["status"], "error");
    assert_eq!(now["last_error"]["code"], "credentials_rejected");
    assert!(
        now["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("Key revoked.")
    );
}

#[tokio::test]
async fn a_change_answers_with_the_connection_as_stored() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    openai_answers(&app, 200, json!({"data": []})).await;
    let url = format!("/api/v1/orgs/{org}/integrations/openai");
    let stored = || app.integration(&owner.token, &org, "openai");

    let saved = json_body(save_key(&app, &owner.token, &org).await, 200).await;
    assert_eq!(saved, stored().await);
    let renamed = json_body(
        app.patch(
            &url,
            &owner.token,
            json!({"config": {"organization": "org-abcdefgh"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed, stored().await);
    let off = json_body(
        app.patch(&url, &owner.token, json!({"enabled": false}))
            .await,
        200,
    )
    .await;
    assert_eq!(off, stored().await);
    let unchanged = json_body(
        app.patch(&url, &owner.token, json!({"enabled": false}))
            .await,
        200,
    )
    .await;
    assert_eq!(unchanged, off);
    let on = json_body(
        app.patch(&url, &owner.token, json!({"enabled": true}))
            .await,
        200,
    )
    .await;
    assert_eq!(on, stored().await);
    let gone = json_body(
        app.post(&format!("{url}/disconnect"), &owner.token, json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(gone, stored().await);
}

#[tokio::test]
async fn every_answer_says_whether_a_connection_is_live_and_needs_attention() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let url = format!("/api/v1/orgs/{org}/integrations/openai");
    let said = |i: &Value| (i["live"].clone(), i["needs_attention"].clone());
    let never = app.integration(&owner.token, &org, "openai").await;
    assert_eq!(said(&never), (json!(false), json!(false)));

    openai_answers(&app, 200, json!({"data": []})).await;
    let saved = json_body(save_key(&app, &owner.token, &org).await, 200).await;
    assert_eq!(said(&saved), (json!(true), json!(false)));

    app.provider.reset().await;
    openai_answers(&app, 401, json!({"error": {"message": "Key revoked."}})).await;
    json_body(
        app.post(&format!("{url}/test"), &owner.token, json!({}))
            .await,
        200,
    )
    .await;
    let failing = listed(&app, &owner.token, &org).await["openai"].clone();
    assert_eq!(failing["status"], "error");
    assert_eq!(said(&failing), (json!(true), json!(true)));

    let off = json_body(
        app.patch(&url, &owner.token, json!({"enabled": false}))
            .await,
        200,
    )
    .await;
    assert_eq!(off["status"], "disabled");
    assert_eq!(said(&off), (json!(true), json!(false)));

    let gone = json_body(
        app.post(&format!("{url}/disconnect"), &owner.token, json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(said(&gone), (json!(false), json!(false)));
}

#[tokio::test]
async fn members_read_but_cannot_change_integrations() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let member = app.add_member(&owner, &org, "member").await;
    let url = format!("/api/v1/orgs/{org}/integrations/openai");
    assert_eq!(app.get(&url, &member.token).await.status(), 200);
    assert_eq!(
        app.get(&format!("{url}/events"), &member.token)
            .await
            .status(),
        200
    );
    problem(save_key(&app, &member.token, &org).await, 403).await;
    problem(
        app.patch(&url, &member.token, json!({"enabled": false}))
            .await,
        403,
    )
    .await;
    problem(
        app.post(&format!("{url}/test"), &member.token, json!({}))
            .await,
        403,
    )
    .await;
    problem(
        app.post(&format!("{url}/disconnect"), &member.token, json!({}))
            .await,
        403,
    )
    .await;
    assert_eq!(app.provider.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn a_tenant_supplied_private_address_is_refused() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        redirect_providers: false,
        ..Default::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    let body = problem(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/crm"),
            &owner.token,
            json!({"config": {"base_url": format!("http://127.0.0.1:{}", app.port)}, "credentials": {"api_key": "crm-key-1234567890"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["code"], "address_not_allowed");
}

#[tokio::test]
async fn platform_level_providers_are_not_connected_per_organization() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let url = format!("/api/v1/orgs/{org}/integrations/sentry");
    let body = problem(
        app.patch(&url, &owner.token, json!({"enabled": true}))
            .await,
        409,
    )
    .await;
    assert_eq!(body["code"], "platform_level");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("SENTRY_AUTH_TOKEN")
    );
    problem(
        app.post(&format!("{url}/test"), &owner.token, json!({}))
            .await,
        409,
    )
    .await;
}

#[tokio::test]
async fn polling_with_if_none_match_costs_a_304_until_something_changes() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    let conditional = |path: String, token: String, tag: Option<String>| {
        let mut request = app.client.get(app.url(&path)).bearer_auth(token);
        if let Some(tag) = tag {
            request = request.header("If-None-Match", tag);
        }
        request.send()
    };
    for path in [
        format!("/api/v1/orgs/{org}/integrations"),
        format!("/api/v1/orgs/{org}/integrations/linkedin"),
    ] {
        let first = conditional(path.clone(), owner.token.clone(), None)
            .await
            .unwrap();
        assert_eq!(first.status(), 200);
        let tag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        let again = conditional(path.clone(), owner.token.clone(), Some(tag.clone()))
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"], tag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());
        // Weak and listed forms match too; another tag does not.
        let listed = conditional(
            path.clone(),
            owner.token.clone(),
            Some(format!("\"x\", W/{tag}")),
        )
        .await
        .unwrap();
        assert_eq!(listed.status(), 304);
        let stale = conditional(path.clone(), owner.token.clone(), Some("\"stale\"".into()))
            .await
            .unwrap();
        assert_eq!(stale.status(), 200);
        // A change makes the tag stale.
        app.seed_oauth_connection(&org, "linkedin", &format!("at-{tag}"), &[])
            .await;
        let changed = conditional(path.clone(), owner.token.clone(), Some(tag.clone()))
            .await
            .unwrap();
        assert_eq!(changed.status(), 200, "{path}");
        assert_ne!(changed.headers()["etag"], tag.as_str());
        // The tag opens nothing in another organization.
        let foreign = conditional(path.clone(), other.token.clone(), Some(tag))
            .await
            .unwrap();
        assert_eq!(foreign.status(), 404);
    }
    let theirs = conditional(
        format!("/api/v1/orgs/{other_org}/integrations"),
        other.token.clone(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(theirs.status(), 200);
}

/// The list of one organization's integrations, by provider.
async fn listed(app: &TestApp, token: &str, org: &str) -> BTreeMap<String, Value> {
    let list = json_body(
        app.get(&format!("/api/v1/orgs/{org}/integrations"), token)
            .await,
        200,
    )
    .await;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["provider"].as_str().unwrap().to_owned(), i.clone()))
        .collect()
}

#[tokio::test]
async fn a_list_asked_again_is_each_organizations_own_and_shows_every_change() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    // Both lists are asked, and kept, before anything is connected.
    assert_eq!(
        listed(&app, &owner.token, &org).await["linkedin"]["status"],
        "not_connected"
    );
    assert_eq!(
        listed(&app, &other.token, &other_org).await["linkedin"]["status"],
        "not_connected"
    );

    // A write by another process (another replica's, say) shows at once in its organization
    // only, though both organizations now have connections at the same version.
    app.seed_oauth_connection(&org, "linkedin", "at-ours", &[])
        .await;
    app.seed_oauth_connection(&other_org, "tiktok_ads", "at-theirs", &[])
        .await;
    for _ in 0..2 {
        let ours = listed(&app, &owner.token, &org).await;
        assert_eq!(ours["linkedin"]["status"], "connected");
        assert_eq!(ours["tiktok_ads"]["status"], "not_connected");
        let theirs = listed(&app, &other.token, &other_org).await;
        assert_eq!(theirs["linkedin"]["status"], "not_connected");
        assert_eq!(theirs["tiktok_ads"]["status"], "connected");
    }

    // A change through the API, and a filtered list, show the same.
    let url = format!("/api/v1/orgs/{org}/integrations/linkedin");
    json_body(
        app.patch(&url, &owner.token, json!({"enabled": false}))
            .await,
        200,
    )
    .await;
    let linkedin = listed(&app, &owner.token, &org).await["linkedin"].clone();
    assert_eq!(linkedin["enabled"], false);
    assert_eq!(linkedin["status"], "disabled");
    let filtered = json_body(
        app.get(
            &format!("/api/v1/orgs/{org}/integrations?status=disabled"),
            &owner.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["data"][0], linkedin);
}
