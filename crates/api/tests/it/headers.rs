//! The headers that make browsers treat Plugboard's pages and answers safely: a strict
//! Content-Security-Policy on pages, `nosniff` and `no-referrer` everywhere, `no-store` on
//! answers carrying account data, HSTS only when the public URL is https.

use reqwest::Response;
use serde_json::json;

use crate::helpers::*;

const SPA_DIR: &str = "plugboard-headers-spa";

/// An app serving a built SPA (one `index.html`) beside the sandbox.
async fn app_with_pages() -> TestApp {
    let dir = std::env::temp_dir().join(SPA_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        r#"<!doctype html><title>Plugboard</title><div id="root"></div><script type="module" src="/assets/app.js"></script>"#,
    )
    .unwrap();
    spawn_app_with(Options {
        sandbox: true,
        configure: |settings| settings.web_dir = std::env::temp_dir().join(SPA_DIR),
        ..Options::default()
    })
    .await
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn directive(policy: &str, name: &str) -> String {
    policy
        .split(';')
        .map(str::trim)
        .find(|d| d.split_whitespace().next() == Some(name))
        .unwrap_or_default()
        .to_owned()
}

/// Every answer: the type is what it says, the referrer never leaves.
fn assert_everywhere(response: &Response, what: &str) {
    assert_eq!(
        header(response, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(header(response, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(
        header(response, "strict-transport-security"),
        "",
        "{what}: http has no HSTS"
    );
}

#[tokio::test]
async fn pages_load_code_only_from_plugboard_itself() {
    let app = app_with_pages().await;
    for path in ["/", "/settings/integrations", "/api/docs/", "/sandbox"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_everywhere(&response, path);
        let policy = header(&response, "content-security-policy");
        assert_eq!(
            directive(&policy, "script-src"),
            "script-src 'self'",
            "{path}: {policy}"
        );
        assert_eq!(
            directive(&policy, "default-src"),
            "default-src 'self'",
            "{path}"
        );
        assert_eq!(
            directive(&policy, "object-src"),
            "object-src 'none'",
            "{path}"
        );
        assert_eq!(
            directive(&policy, "frame-ancestors"),
            "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(directive(&policy, "base-uri"), "base-uri 'none'", "{path}");
    }
}

#[tokio::test]
async fn answers_with_account_data_are_never_stored_and_polled_lists_only_privately() {
    let app = app_with_pages().await;
    let (owner, org) = app.owner_with_org().await;
    let (stranger, _) = app.owner_with_org().await;

    let me = app.get("/api/v1/me", &owner.token).await;
    assert_eq!(me.status(), 200);
    assert_eq!(header(&me, "cache-control"), "no-store");
    assert_everywhere(&me, "me");

    let key = app
        .post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            &owner.token,
            json!({"name": "Partner", "scopes": ["integrations:read"]}),
        )
        .await;
    assert_eq!(key.status(), 201);
    assert_eq!(
        header(&key, "cache-control"),
        "no-store",
        "a key shown once"
    );

    // Polled lists carry an ETag: the caller's own browser may keep them to revalidate.
    let list = app
        .get(&format!("/api/v1/orgs/{org}/integrations"), &owner.token)
        .await;
    assert_eq!(list.status(), 200);
    assert_eq!(header(&list, "cache-control"), "private, no-cache");
    let tag = header(&list, "etag");
    let again = app
        .client
        .get(app.url(&format!("/api/v1/orgs/{org}/integrations")))
        .bearer_auth(&owner.token)
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "cache-control"), "private, no-cache");

    // Another tenant's path and a problem are not stored either.
    let other = app
        .get(&format!("/api/v1/orgs/{org}/members"), &stranger.token)
        .await;
    assert_eq!(other.status(), 404);
    assert_eq!(header(&other, "cache-control"), "no-store");
    assert_everywhere(&other, "another tenant's path");

    let callback = app
        .client
        .get(app.url("/api/v1/oauth/slack/callback?code=c&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 303);
    assert_eq!(header(&callback, "cache-control"), "no-store");
    assert_everywhere(&callback, "the OAuth callback");

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_everywhere(&health, "/healthz");
    assert_eq!(header(&health, "cache-control"), "", "no account data");
}

#[tokio::test]
async fn an_https_public_url_turns_on_strict_transport_security() {
    // A second server on the same database, told it is served over https.
    let app = spawn_app().await;
    let mut settings = test_settings(&app.database_url, String::new(), Options::default());
    settings.public_url = url::Url::parse("https://plugboard.example.com").unwrap();
    settings.public_url_explicit = true;
    let base = start_server(settings).await.unwrap();
    let response = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(
        header(&response, "strict-transport-security"),
        "max-age=31536000"
    );
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
}
