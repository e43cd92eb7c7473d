//! What a connection can be pointed at, against the provider sandbox: listed page by page with
//! the connection, searched, chosen only when the connection can reach it, per organization.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};
use crate::proxy::key;
use crate::sandbox::{SANDBOX_ADMIN, admin_token, connect, set_mode, set_mode_as};

async fn app() -> TestApp {
    spawn_app_with(Options {
        sandbox: true,
        admin_emails: vec![SANDBOX_ADMIN.to_owned()],
        configure: |s| {
            s.background.sandbox_shopify_token_lifetime = Duration::from_secs(3600);
        },
        ..Options::default()
    })
    .await
}

fn listing(org: &str, provider: &str, kind: &str) -> String {
    format!("/api/v1/orgs/{org}/integrations/{provider}/resources/{kind}")
}

/// Every page of a listing, following `next_cursor`.
async fn every_page(app: &TestApp, token: &str, url: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let target = match &cursor {
            Some(c) => format!("{url}?cursor={}", urlencoding(c)),
            None => url.to_owned(),
        };
        let page = json_body(app.get(&target, token).await, 200).await;
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 20, "the listing never ends");
    }
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn resources_meta_ad_accounts_page_by_page_and_one_from_page_two_is_chosen() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "meta_ads", json!({})).await;

    let pages = every_page(&app, &owner.token, &listing(&org, "meta_ads", "ad_account")).await;
    let sizes: Vec<usize> = pages.iter().map(|p| ids(p).len()).collect();
    assert_eq!(sizes, [25, 25, 10]);
    assert_eq!(pages[0]["data"][0]["name"], "Acme Sandbox Ads 01");
    for page in &pages {
        assert!(!page.to_string().contains("sbx_"), "a token in {page}");
    }

    let chosen = ids(&pages[1])[3].clone();
    let saved = json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/meta_ads"),
            &owner.token,
            json!({"config": {"ad_account_id": chosen}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(saved["config"]["ad_account_id"], chosen.as_str());
    // The connection is named after what it points at, then the login.
    assert_eq!(
        saved["account_name"],
        "Acme Sandbox Ads 29 (act_100000000000028) · Acme Sandbox · Meta Ads"
    );

    // A search keeps what matches, on the page asked.
    let found = json_body(
        app.get(
            &format!("{}?q=ads%2001", listing(&org, "meta_ads", "ad_account")),
            &owner.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&found), ["act_100000000000000"]);
}

#[tokio::test]
async fn resources_an_id_the_connection_cannot_reach_is_422_and_nothing_is_stored() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "meta_ads", json!({})).await;
    connect(&app, &owner.token, &org, "slack", json!({})).await;

    for (provider, setting, unknown) in [
        ("meta_ads", "ad_account_id", "act_999999999"),
        ("slack", "channel_id", "C0SANDBOX99"),
    ] {
        let refused = problem(
            app.patch(
                &format!("/api/v1/orgs/{org}/integrations/{provider}"),
                &owner.token,
                json!({"config": {setting: unknown}}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(refused["code"], "resource_not_accessible", "{refused}");
        assert_eq!(refused["errors"][0]["field"], format!("config.{setting}"));
        let stored = app.integration(&owner.token, &org, provider).await;
        assert_eq!(stored["config"].get(setting), None, "{stored}");
    }

    // A channel that is there is kept.
    let saved = json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/slack"),
            &owner.token,
            json!({"config": {"channel_id": "C0SANDBOX04"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(saved["config"]["channel_id"], "C0SANDBOX04");
}

#[tokio::test]
async fn resources_every_listed_provider_pages_through_the_sandbox() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    for provider in ["slack", "google_ads"] {
        connect(&app, &owner.token, &org, provider, json!({})).await;
    }
    json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/klaviyo"),
            &owner.token,
            json!({"credentials": {"api_key": "pk_sandbox0123456789abcdefghij"}}),
        )
        .await,
        200,
    )
    .await;

    let slack = every_page(&app, &owner.token, &listing(&org, "slack", "channel")).await;
    assert_eq!(slack.iter().map(|p| ids(p).len()).sum::<usize>(), 32);
    let lists = every_page(&app, &owner.token, &listing(&org, "klaviyo", "list")).await;
    assert_eq!(
        lists.iter().map(|p| ids(p).len()).collect::<Vec<_>>(),
        [10, 10, 10, 6]
    );
    assert_eq!(lists[0]["data"][0]["name"], "Newsletter");
    let customers = every_page(&app, &owner.token, &listing(&org, "google_ads", "customer")).await;
    assert_eq!(ids(&customers[0])[0], "5550000001");

    // A customer is checked by being in the list.
    let refused = problem(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/google_ads"),
            &owner.token,
            json!({"config": {"customer_id": "5559999999"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(refused["code"], "resource_not_accessible");
    json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/google_ads"),
            &owner.token,
            json!({"config": {"customer_id": "5550000002"}}),
        )
        .await,
        200,
    )
    .await;
}

#[tokio::test]
async fn resources_another_org_sees_404_members_list_but_do_not_choose() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    let (stranger, _) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "meta_ads", json!({})).await;
    let member = app.add_member(&owner, &org, "member").await;

    problem(
        app.get(&listing(&org, "meta_ads", "ad_account"), &stranger.token)
            .await,
        404,
    )
    .await;
    let page = json_body(
        app.get(&listing(&org, "meta_ads", "ad_account"), &member.token)
            .await,
        200,
    )
    .await;
    let chosen = ids(&page)[0].clone();
    problem(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/meta_ads"),
            &member.token,
            json!({"config": {"ad_account_id": chosen}}),
        )
        .await,
        403,
    )
    .await;

    // A kind the provider does not have, and a provider not connected, say so.
    let unknown = problem(
        app.get(&listing(&org, "meta_ads", "calendar"), &owner.token)
            .await,
        404,
    )
    .await;
    assert!(
        unknown["detail"].as_str().unwrap().contains("ad_account"),
        "{unknown}"
    );
    let absent = problem(
        app.get(&listing(&org, "slack", "channel"), &owner.token)
            .await,
        404,
    )
    .await;
    assert_eq!(absent["code"], "not_connected");

    // A key reads the listing with an integrations scope, not without.
    let reader = key(&app, &owner.token, &org, &["integrations:read"]).await;
    assert_eq!(
        app.get(&listing(&org, "meta_ads", "ad_account"), &reader)
            .await
            .status(),
        200
    );
    let proxy_only = key(&app, &owner.token, &org, &["proxy:read"]).await;
    problem(
        app.get(&listing(&org, "meta_ads", "ad_account"), &proxy_only)
            .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn resources_a_connection_without_its_required_choice_needs_setup_until_one_is_chosen() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    let meta = connect(&app, &owner.token, &org, "meta_ads", json!({})).await;
    assert_eq!(meta["status"], "connected");
    assert_eq!(meta["needs_attention"], true, "{meta}");
    assert_eq!(meta["last_error"]["code"], "selection_required");
    assert_eq!(
        meta["last_error"]["message"],
        "Choose the ad account Plugboard should use with Meta Ads."
    );
    let flag = |flags: &Value| {
        flags["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == "integrations.meta_ads")
            .cloned()
            .unwrap()
    };
    let flags = json_body(
        app.get(&format!("/api/v1/orgs/{org}/feature-flags"), &owner.token)
            .await,
        200,
    )
    .await;
    assert_eq!(flag(&flags)["can_enable"], false, "{flags}");

    let page = json_body(
        app.get(&listing(&org, "meta_ads", "ad_account"), &owner.token)
            .await,
        200,
    )
    .await;
    let saved = json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/meta_ads"),
            &owner.token,
            json!({"config": {"ad_account_id": ids(&page)[0]}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(saved["needs_attention"], false, "{saved}");
    assert_eq!(saved["last_error"], Value::Null);
    let flags = json_body(
        app.get(&format!("/api/v1/orgs/{org}/feature-flags"), &owner.token)
            .await,
        200,
    )
    .await;
    assert_eq!(flag(&flags)["can_enable"], true);
}

/// The notices queued so far, as (kind, provider).
async fn notices(app: &TestApp) -> Vec<(String, String)> {
    app.raw_rows("SELECT kind, provider, created_at FROM notifications ORDER BY created_at")
        .await
        .iter()
        .map(|row| {
            (
                row.try_get("", "kind").unwrap(),
                row.try_get("", "provider").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn resources_a_chosen_account_that_disappears_is_resource_lost_once_until_another_is_chosen()
{
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    json_body(
        app.request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/notification-settings"),
            Some(&owner.token),
            Some(json!({"webhook_url": "https://hooks.example.com/plugboard"})),
        )
        .await,
        200,
    )
    .await;
    connect(&app, &owner.token, &org, "meta_ads", json!({})).await;
    let integration = format!("/api/v1/orgs/{org}/integrations/meta_ads");
    json_body(
        app.patch(
            &integration,
            &owner.token,
            json!({"config": {"ad_account_id": "act_100000000000003"}}),
        )
        .await,
        200,
    )
    .await;

    // The login loses every account: the next check finds the chosen one gone.
    set_mode(&app, "meta_ads", "unshared").await;
    for _ in 0..2 {
        let tested = json_body(
            app.post(&format!("{integration}/test"), &owner.token, json!({}))
                .await,
            200,
        )
        .await;
        assert_eq!(tested["ok"], false, "{tested}");
        assert_eq!(tested["code"], "resource_lost", "{tested}");
    }
    let lost = app.integration(&owner.token, &org, "meta_ads").await;
    assert_eq!(lost["status"], "error");
    assert_eq!(
        lost["last_error"]["message"],
        "Ad account act_100000000000003 is no longer shared with this Meta Ads login; choose another."
    );
    let empty = json_body(
        app.get(&listing(&org, "meta_ads", "ad_account"), &owner.token)
            .await,
        200,
    )
    .await;
    assert_eq!(empty["data"], json!([]));
    assert_eq!(
        notices(&app).await,
        [("broken".to_owned(), "meta_ads".to_owned())]
    );

    // Shared again; choosing another account brings the connection back, with one recovery.
    set_mode(&app, "meta_ads", "healthy").await;
    let fixed = json_body(
        app.patch(
            &integration,
            &owner.token,
            json!({"config": {"ad_account_id": "act_100000000000007"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(fixed["status"], "connected", "{fixed}");
    assert_eq!(fixed["needs_attention"], false);
    assert_eq!(
        notices(&app).await,
        [
            ("broken".to_owned(), "meta_ads".to_owned()),
            ("recovered".to_owned(), "meta_ads".to_owned())
        ]
    );
}

/// One kind of thing a connection is pointed at, as the sandbox plays it.
struct Case {
    provider: &'static str,
    kind: &'static str,
    setting: &'static str,
    /// The parent chosen first (a pixel's ad account), as setting and id.
    parent: Option<(&'static str, &'static str)>,
    /// Items on each page, in the provider's own paging.
    pages: &'static [usize],
    /// An id of the right shape that the login cannot reach.
    unknown: &'static str,
}

const CASES: &[Case] = &[
    Case {
        provider: "meta_ads",
        kind: "pixel",
        setting: "pixel_id",
        parent: Some(("ad_account_id", "act_100000000000002")),
        pages: &[25, 7],
        unknown: "900999999999999",
    },
    Case {
        provider: "google_ads",
        kind: "customer",
        setting: "customer_id",
        parent: None,
        pages: &[10, 10, 10, 2],
        unknown: "5559999999",
    },
    Case {
        provider: "google_ads",
        kind: "login_customer",
        setting: "login_customer_id",
        parent: None,
        pages: &[10, 10, 10, 2],
        unknown: "5559999999",
    },
    Case {
        provider: "tiktok_ads",
        kind: "advertiser",
        setting: "advertiser_id",
        parent: None,
        pages: &[10, 10, 10, 4],
        unknown: "7000000000009999",
    },
    Case {
        provider: "tiktok_ads",
        kind: "pixel",
        setting: "pixel_code",
        parent: Some(("advertiser_id", "7000000000000002")),
        pages: &[20, 11],
        unknown: "CSBX99P99QRSTUVWX",
    },
    Case {
        provider: "ga4",
        kind: "property",
        setting: "property_id",
        parent: None,
        // Five accounts a page; the sixth account has no property yet.
        pages: &[15, 12, 6],
        unknown: "499999999",
    },
    Case {
        provider: "ga4",
        kind: "data_stream",
        setting: "measurement_id",
        parent: Some(("property_id", "400000001")),
        // The first page also holds an app stream, which has no measurement ID.
        pages: &[9, 10, 10, 3],
        unknown: "G-S9999",
    },
    Case {
        provider: "search_console",
        kind: "site",
        setting: "site_url",
        parent: None,
        pages: &[10, 10, 10, 3],
        unknown: "sc-domain:elsewhere.example",
    },
    Case {
        provider: "youtube",
        kind: "channel",
        setting: "channel_id",
        parent: None,
        pages: &[25, 6],
        unknown: "UCsandboxChannel99999999",
    },
    Case {
        provider: "google_calendar",
        kind: "calendar",
        setting: "calendar_id",
        parent: None,
        pages: &[25, 8],
        unknown: "nobody@group.calendar.google.com",
    },
];

async fn patch_config(
    app: &TestApp,
    token: &str,
    org: &str,
    provider: &str,
    config: Value,
) -> reqwest::Response {
    app.patch(
        &format!("/api/v1/orgs/{org}/integrations/{provider}"),
        token,
        json!({ "config": config }),
    )
    .await
}

#[tokio::test]
async fn resources_every_kind_pages_is_chosen_from_a_later_page_checked_and_lost() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    let (stranger, _) = app.owner_with_org().await;
    let (lonely, lonely_org) = app.owner_with_org().await;
    let admin = admin_token(&app).await;
    for case in CASES {
        let Case {
            provider,
            kind,
            setting,
            ..
        } = *case;
        let at = format!("{provider}/{kind}");
        connect(&app, &owner.token, &org, provider, json!({})).await;
        if let Some((parent, id)) = case.parent {
            json_body(
                patch_config(&app, &owner.token, &org, provider, json!({ parent: id })).await,
                200,
            )
            .await;
        }
        let url = listing(&org, provider, kind);

        let pages = every_page(&app, &owner.token, &url).await;
        let sizes: Vec<usize> = pages.iter().map(|p| ids(p).len()).collect();
        assert_eq!(sizes, case.pages, "{at}");
        for page in &pages {
            let text = page.to_string();
            assert!(
                !text.contains("sbx_") && !text.contains("sandbox-tiktok-app-secret"),
                "{at}: a credential in {page}"
            );
        }
        problem(app.get(&url, &stranger.token).await, 404).await;

        // An id the login cannot reach is refused, naming the setting; nothing is kept.
        let refused = problem(
            patch_config(
                &app,
                &owner.token,
                &org,
                provider,
                json!({ setting: case.unknown }),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(
            refused["code"], "resource_not_accessible",
            "{at}: {refused}"
        );
        assert_eq!(refused["errors"][0]["field"], format!("config.{setting}"));
        let stored = app.integration(&owner.token, &org, provider).await;
        assert_eq!(stored["config"].get(setting), None, "{at}: {stored}");

        // One from a later page is kept, and the connection is named after it.
        let item = &pages[1]["data"][0];
        let id = item["id"].as_str().unwrap();
        let saved = json_body(
            patch_config(&app, &owner.token, &org, provider, json!({ setting: id })).await,
            200,
        )
        .await;
        assert_eq!(saved["config"][setting], id, "{at}");
        let shown = match item["name"].as_str() {
            Some(name) => format!("{name} ({id})"),
            None => id.to_owned(),
        };
        let account = saved["account_name"].as_str().unwrap_or_default();
        assert!(
            account.contains(&shown),
            "{at}: `{account}` lacks `{shown}`"
        );

        // The login loses it: the next check says so.
        set_mode_as(&app, &admin, provider, "unshared").await;
        let tested = json_body(
            app.post(
                &format!("/api/v1/orgs/{org}/integrations/{provider}/test"),
                &owner.token,
                json!({}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(tested["code"], "resource_lost", "{at}: {tested}");
        assert_eq!(
            app.integration(&owner.token, &org, provider).await["status"],
            "error",
            "{at}"
        );
        if case.parent.is_none() {
            // A login with nothing to choose lists nothing (the picker says what to do).
            connect(&app, &lonely.token, &lonely_org, provider, json!({})).await;
            let url = listing(&lonely_org, provider, kind);
            let empty = json_body(app.get(&url, &lonely.token).await, 200).await;
            assert_eq!(empty["data"], json!([]), "{at}");
            assert_eq!(empty["next_cursor"], Value::Null, "{at}");
        }
        set_mode_as(&app, &admin, provider, "healthy").await;
    }
    // TikTok's app secret went with each advertiser listing; no log line holds it.
    assert!(app.logs.len() > 0);
    assert!(!app.logs.contains("sandbox-tiktok-app-secret"));
}

#[tokio::test]
async fn resources_a_dependent_kind_waits_for_its_parent() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    connect(&app, &owner.token, &org, "meta_ads", json!({})).await;
    connect(&app, &owner.token, &org, "ga4", json!({})).await;

    let early = problem(
        app.get(&listing(&org, "meta_ads", "pixel"), &owner.token)
            .await,
        409,
    )
    .await;
    assert_eq!(early["code"], "parent_not_chosen", "{early}");
    assert_eq!(
        early["detail"],
        "Choose the ad account first: Meta Ads lists pixels per ad account."
    );
    let chosen_early = problem(
        patch_config(
            &app,
            &owner.token,
            &org,
            "meta_ads",
            json!({"pixel_id": "900000000002025"}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(chosen_early["code"], "parent_not_chosen");
    let streams = problem(
        app.get(&listing(&org, "ga4", "data_stream"), &owner.token)
            .await,
        409,
    )
    .await;
    assert!(
        streams["detail"].as_str().unwrap().contains("property"),
        "{streams}"
    );

    // The catalog says which kind comes first.
    let catalog = json_body(app.get("/api/v1/providers", &owner.token).await, 200).await;
    let meta = catalog["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "meta_ads")
        .unwrap();
    let kinds: Vec<(&str, Option<&str>)> = meta["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["depends_on"].as_str()))
        .collect();
    assert_eq!(kinds, [("ad_account", None), ("pixel", Some("ad_account"))]);

    // A property and one of its streams chosen together are checked together; the stream
    // is checked again when its property changes, and goes with it when cleared.
    let both = json_body(
        patch_config(
            &app,
            &owner.token,
            &org,
            "ga4",
            json!({"property_id": "400000002", "measurement_id": "G-S01301"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        both["account_name"],
        "Acme Store 01-3 (400000002) · Acme web 01 (G-S01301)"
    );
    let moved = problem(
        patch_config(
            &app,
            &owner.token,
            &org,
            "ga4",
            json!({"property_id": "400000001"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        moved["errors"][0]["field"], "config.measurement_id",
        "{moved}"
    );
    let cleared = json_body(
        patch_config(
            &app,
            &owner.token,
            &org,
            "ga4",
            json!({"property_id": "400000001", "measurement_id": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cleared["config"].get("measurement_id"), None, "{cleared}");
}

/// Klaviyo answers the list only to the key that can see it.
async fn klaviyo_answers(app: &TestApp, key_with_the_list: &str) {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, ResponseTemplate};
    Mock::given(method("GET"))
        .and(path("/api/accounts/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "AcmeKl", "attributes": {"contact_information": {"organization_name": "Acme"}}}]
        })))
        .mount(&app.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/lists/XyZ001/"))
        .and(header(
            "authorization",
            format!("Klaviyo-API-Key {key_with_the_list}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"type": "list", "id": "XyZ001", "attributes": {"name": "VIP customers"}}
        })))
        .mount(&app.provider)
        .await;
}

#[tokio::test]
async fn resources_a_choice_saved_with_new_credentials_is_checked_with_them() {
    let app = crate::helpers::spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let new_key = "pk_newkeyseesthelist0123456789";
    klaviyo_answers(&app, new_key).await;
    let integration = format!("/api/v1/orgs/{org}/integrations/klaviyo");
    json_body(
        app.patch(
            &integration,
            &owner.token,
            json!({"credentials": {"api_key": "pk_oldkeyseesnolist0123456789"}}),
        )
        .await,
        200,
    )
    .await;

    // The old key cannot see the list; the new one, saved with it, can.
    let saved = json_body(
        app.patch(
            &integration,
            &owner.token,
            json!({"credentials": {"api_key": new_key}, "config": {"list_id": "XyZ001"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(saved["config"]["list_id"], "XyZ001", "{saved}");
    assert_eq!(saved["account_name"], "VIP customers (XyZ001) · Acme");

    // A first save is checked with what it brings too.
    let (other, other_org) = app.owner_with_org().await;
    let refused = problem(
        app.patch(
            &format!("/api/v1/orgs/{other_org}/integrations/klaviyo"),
            &other.token,
            json!({"credentials": {"api_key": "pk_oldkeyseesnolist0123456789"}, "config": {"list_id": "XyZ001"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(refused["code"], "resource_not_accessible", "{refused}");
    let stored = app.integration(&other.token, &other_org, "klaviyo").await;
    assert_eq!(stored["status"], "not_connected", "{stored}");
}
