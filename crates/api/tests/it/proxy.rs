//! The provider proxy: tenancy and scopes, the path that cannot leave the provider's base,
//! the credential injected and never returned (Meta's paging links included), tokens renewed
//! before and after a 401, state gates and size limits.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{any, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};

pub(crate) const META_TOKEN: &str = "EAABmetaSecretToken0123456789";

async fn app() -> TestApp {
    spawn_app_with(Options {
        platform_env: vec![
            ("LINKEDIN_CLIENT_ID", "li-client"),
            ("LINKEDIN_CLIENT_SECRET", "li-secret"),
            ("META_APP_ID", "meta-app"),
            ("META_APP_SECRET", "meta-app-secret"),
        ],
        ..Options::default()
    })
    .await
}

pub(crate) fn proxy(org: &str, provider: &str, rest: &str) -> String {
    format!("/api/v1/orgs/{org}/integrations/{provider}/proxy/{rest}")
}

/// A key of the organization with these scopes.
pub(crate) async fn key(app: &TestApp, owner_token: &str, org: &str, scopes: &[&str]) -> String {
    let created = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            owner_token,
            json!({"name": "Partner", "scopes": scopes}),
        )
        .await,
        201,
    )
    .await;
    created["secret"].as_str().unwrap().to_owned()
}

/// Meta connected for the organization, its `me` answering.
async fn meta_me_answers(app: &TestApp, org: &str) {
    app.seed_oauth_connection(org, "meta_ads", META_TOKEN, &[])
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&app.provider)
        .await;
}

async fn upstream_calls(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Every header and the body of an answer, as text, checked to hold no `secret`.
async fn text_without(
    response: reqwest::Response,
    secret: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    for (name, value) in &headers {
        assert!(
            !String::from_utf8_lossy(value.as_bytes()).contains(secret),
            "header {name} carries the secret"
        );
    }
    let body = response.text().await.unwrap();
    assert!(
        !body.contains(secret),
        "the body carries the secret: {body}"
    );
    (status, headers, body)
}

/// Meta's ad accounts, 25 a page, with `paging.next` carrying the token as Meta writes it.
async fn meta_pages(app: &TestApp) {
    let page = |from: usize, next: Option<&str>| {
        let data: Vec<Value> = (from..from + 25)
            .map(|i| json!({"id": format!("act_{i}"), "name": format!("Account {i}")}))
            .collect();
        let mut paging = json!({"cursors": {"after": "QVFIUAFTER"}});
        if let Some(next) = next {
            paging["next"] = json!(next);
        }
        json!({"data": data, "paging": paging})
    };
    let next = format!(
        "https://graph.facebook.com/v27.0/me/adaccounts?access_token={META_TOKEN}&fields=id%2Cname&limit=25&after=QVFIUAFTER"
    );
    Mock::given(method("GET"))
        .and(path("/v27.0/me/adaccounts"))
        .and(header(
            "authorization",
            format!("Bearer {META_TOKEN}").as_str(),
        ))
        .and(query_param("after", "QVFIUAFTER"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(25, None)))
        .with_priority(1)
        .mount(&app.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/me/adaccounts"))
        .and(header(
            "authorization",
            format!("Bearer {META_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(0, Some(&next)))
                .insert_header("set-cookie", "fr=provider-session; Path=/")
                .insert_header("x-app-usage", "{\"call_count\":1}"),
        )
        .with_priority(2)
        .mount(&app.provider)
        .await;
}

#[tokio::test]
async fn proxy_meta_pages_follow_the_rewritten_next_link_and_never_show_the_token() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    meta_pages(&app).await;
    let partner = key(&app, &owner.token, &org, &["proxy:read"]).await;

    let first = app
        .get(
            &proxy(&org, "meta_ads", "me/adaccounts?fields=id%2Cname&limit=25"),
            &partner,
        )
        .await;
    let (status, headers, body) = text_without(first, META_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["plugboard-proxied"], "true");
    assert!(
        headers.get("set-cookie").is_none(),
        "the provider's cookie stays behind"
    );
    assert_eq!(headers["x-app-usage"], "{\"call_count\":1}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 25);
    let next = body["paging"]["next"].as_str().unwrap();
    assert_eq!(
        next,
        format!(
            "{}{}",
            app.address,
            proxy(
                &org,
                "meta_ads",
                "me/adaccounts?fields=id%2Cname&limit=25&after=QVFIUAFTER"
            )
        )
    );

    // Followed as it is, it reaches page 2 through Plugboard.
    let second = app
        .client
        .get(next)
        .bearer_auth(&partner)
        .send()
        .await
        .unwrap();
    let (status, headers, body) = text_without(second, META_TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["plugboard-proxied"], "true");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"][0]["id"], "act_25");
    assert!(body["paging"]["next"].is_null());

    // The provider saw the token in its header, and the caller's query as sent.
    let seen = app.provider.received_requests().await.unwrap();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|r| r.url.query().is_some_and(|q| !q.contains("access_token")))
    );
    assert!(!app.logs.contains(META_TOKEN), "the token reached a log");
}

#[tokio::test]
async fn proxy_provider_errors_come_back_as_the_provider_wrote_them_with_secrets_redacted() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/act_404"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"message": format!("Unsupported get request with token {META_TOKEN}"), "code": 100}
        })).insert_header("location", format!("https://graph.facebook.com/v27.0/act_1?access_token={META_TOKEN}").as_str()))
        .mount(&app.provider)
        .await;
    let answer = app
        .get(&proxy(&org, "meta_ads", "act_404"), &owner.token)
        .await;
    let (status, headers, body) = text_without(answer, META_TOKEN).await;
    assert_eq!(status, 404);
    assert_eq!(headers["plugboard-proxied"], "true");
    assert_eq!(headers["content-type"], "application/json");
    assert!(body.contains("[redacted]"), "{body}");
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("{}{}", app.address, proxy(&org, "meta_ads", "act_1"))
    );
}

#[tokio::test]
async fn proxy_another_org_and_a_foreign_key_see_404_and_nothing_is_sent() {
    let app = app().await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let (owner_b, org_b) = app.owner_with_org().await;
    app.seed_oauth_connection(&org_a, "meta_ads", META_TOKEN, &[])
        .await;
    app.seed_oauth_connection(&org_b, "meta_ads", "EAABother-org-token-000", &[])
        .await;
    let key_a = key(&app, &owner_a.token, &org_a, &["proxy:write"]).await;

    // B's owner on A's path, and A's key on B's path: neither organization exists for them.
    problem(
        app.get(&proxy(&org_a, "meta_ads", "me"), &owner_b.token)
            .await,
        404,
    )
    .await;
    problem(app.get(&proxy(&org_b, "meta_ads", "me"), &key_a).await, 404).await;
    problem(
        app.request(
            Method::POST,
            &proxy(&org_b, "meta_ads", "me"),
            Some(&key_a),
            Some(json!({})),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(upstream_calls(&app.provider).await, 0);
}

#[tokio::test]
async fn proxy_members_and_keys_without_the_scope_are_refused() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let member = app.add_member(&owner, &org, "member").await;
    let reader = key(
        &app,
        &owner.token,
        &org,
        &["integrations:read", "integrations:write"],
    )
    .await;
    let proxy_reader = key(&app, &owner.token, &org, &["proxy:read"]).await;
    let me = proxy(&org, "meta_ads", "me");

    let refused = problem(app.get(&me, &member.token).await, 403).await;
    assert_eq!(refused["code"], "forbidden");
    let refused = problem(app.get(&me, &reader).await, 403).await;
    assert!(refused["detail"].as_str().unwrap().contains("proxy:read"));
    let refused = problem(app.post(&me, &proxy_reader, json!({})).await, 403).await;
    assert!(refused["detail"].as_str().unwrap().contains("proxy:write"));
    for verb in [Method::PUT, Method::PATCH, Method::DELETE] {
        problem(app.request(verb, &me, Some(&proxy_reader), None).await, 403).await;
    }
    assert_eq!(upstream_calls(&app.provider).await, 0);

    // The same key reads.
    Mock::given(method("GET"))
        .and(path("/v27.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&app.provider)
        .await;
    assert_eq!(app.get(&me, &proxy_reader).await.status(), 200);
}

#[tokio::test]
async fn proxy_head_is_a_read_status_and_headers_without_a_body() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let reader = key(&app, &owner.token, &org, &["proxy:read"]).await;
    let without = key(&app, &owner.token, &org, &["integrations:read"]).await;
    Mock::given(method("HEAD"))
        .and(path("/v27.0/me/adaccounts"))
        .and(header(
            "authorization",
            format!("Bearer {META_TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).insert_header("x-app-usage", "{\"call_count\":2}"))
        .expect(1)
        .mount(&app.provider)
        .await;
    let url = app.url(&proxy(&org, "meta_ads", "me/adaccounts"));

    let refused = app
        .client
        .head(&url)
        .bearer_auth(&without)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let answer = app
        .client
        .head(&url)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["plugboard-proxied"], "true");
    assert_eq!(answer.headers()["x-app-usage"], "{\"call_count\":2}");
    assert!(answer.bytes().await.unwrap().is_empty());
    let seen = app.provider.received_requests().await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method.as_str(), "HEAD");
}

/// The provider refuses `times` times with a 429 and `retry_after`, then answers.
async fn rate_limited_then_ok(app: &TestApp, times: u64, retry_after: &str) {
    Mock::given(method("GET"))
        .and(path("/v27.0/me"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", retry_after)
                .set_body_json(json!({"error": {"message": "slow down", "code": 17}})),
        )
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&app.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .with_priority(2)
        .mount(&app.provider)
        .await;
}

async fn get_with_retries(
    app: &TestApp,
    url: &str,
    key: &str,
    retries: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.get(app.url(url)).bearer_auth(key);
    if let Some(retries) = retries {
        request = request.header("plugboard-retries", retries);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn proxy_a_429_is_waited_out_when_the_caller_asks_for_retries() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let reader = key(&app, &owner.token, &org, &["proxy:read"]).await;
    let me = proxy(&org, "meta_ads", "me");
    rate_limited_then_ok(&app, 1, "1").await;

    let started = std::time::Instant::now();
    let answer = get_with_retries(&app, &me, &reader, Some("2")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["plugboard-proxied"], "true");
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "no wait: {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "more than one wait: {took:?}"
    );
    assert_eq!(upstream_calls(&app.provider).await, 2);
}

#[tokio::test]
async fn proxy_a_429_comes_back_as_it_is_without_retries_or_past_the_cap() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let reader = key(&app, &owner.token, &org, &["proxy:read"]).await;
    let writer = key(&app, &owner.token, &org, &["proxy:write"]).await;
    let me = proxy(&org, "meta_ads", "me");
    rate_limited_then_ok(&app, 1, "1").await;

    // Not asked: the provider's 429, with its Retry-After.
    let answer = get_with_retries(&app, &me, &reader, None).await;
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()["retry-after"], "1");
    assert_eq!(answer.headers()["plugboard-proxied"], "true");
    assert_eq!(upstream_calls(&app.provider).await, 1);

    // A wait past 30 seconds is not waited: the answer goes back at once.
    app.provider.reset().await;
    rate_limited_then_ok(&app, 1, "120").await;
    let started = std::time::Instant::now();
    let answer = get_with_retries(&app, &me, &reader, Some("5")).await;
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()["retry-after"], "120");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(upstream_calls(&app.provider).await, 1);

    // Out of range, or a POST that cannot be repeated safely: refused, nothing sent.
    app.provider.reset().await;
    problem(get_with_retries(&app, &me, &reader, Some("6")).await, 422).await;
    problem(get_with_retries(&app, &me, &reader, Some("two")).await, 422).await;
    let post = app
        .client
        .post(app.url(&me))
        .bearer_auth(&writer)
        .header("plugboard-retries", "1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let refused = problem(post, 422).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    assert_eq!(upstream_calls(&app.provider).await, 0);
}

#[tokio::test]
async fn proxy_calls_show_on_metrics_by_provider_method_and_class_with_both_latencies() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let reader = key(&app, &owner.token, &org, &["proxy:read"]).await;
    Mock::given(method("GET"))
        .and(path("/v27.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&app.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {}})))
        .mount(&app.provider)
        .await;
    assert_eq!(
        app.get(
            &proxy(&org, "meta_ads", "me?fields=secret-looking"),
            &reader
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        app.get(&proxy(&org, "meta_ads", "gone"), &reader)
            .await
            .status(),
        404
    );
    problem(app.get(&proxy(&org, "linkedin", "me"), &reader).await, 404).await;
    problem(
        app.get(&proxy(&org, "no-such-provider-9f2", "x"), &reader)
            .await,
        404,
    )
    .await;

    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"plugboard_proxy_requests_total{provider="meta_ads",method="GET",class="2xx",origin="provider"} 1"#,
        r#"plugboard_proxy_requests_total{provider="meta_ads",method="GET",class="4xx",origin="provider"} 1"#,
        r#"plugboard_proxy_requests_total{provider="linkedin",method="GET",class="4xx",origin="plugboard"} 1"#,
        r#"plugboard_proxy_requests_total{provider="unknown",method="GET",class="4xx",origin="plugboard"} 1"#,
        r#"plugboard_proxy_upstream_duration_seconds_count{provider="meta_ads"} 2"#,
        r#"plugboard_proxy_added_duration_seconds_count{provider="meta_ads"} 2"#,
    ] {
        assert!(text.contains(line), "missing {line} in:\n{text}");
    }
    assert!(
        !text.contains("no-such-provider")
            && !text.contains("secret-looking")
            && !text.contains("gone")
    );
}

/// Sends a request line exactly as written (clients would normalize `..` and `%2e%2e`).
async fn raw_get(app: &TestApp, target: &str, token: &str) -> u16 {
    raw_answer(app, target, token).await.0
}

/// The status and the whole answer (head and body) of a raw request.
async fn raw_answer(app: &TestApp, target: &str, token: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn proxy_traversal_forms_never_reach_another_host() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let canary = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("canary"))
        .mount(&canary)
        .await;
    let evil = canary.address().to_string();
    let base = format!("/api/v1/orgs/{org}/integrations/meta_ads/proxy/");
    let forms = [
        "../../../../../x".to_owned(),
        "me/../../../x".to_owned(),
        "%2e%2e/%2e%2e/%2e%2e/x".to_owned(),
        ".%2E/x".to_owned(),
        "..%2f..%2fx".to_owned(),
        "me%2F..%2F..%2Fx".to_owned(),
        "%252e%252e/x".to_owned(),
        format!("/{evil}/x"),
        format!("//{evil}/x"),
        format!("@{evil}/x"),
        format!("me%40{evil}/x"),
        format!("%5C%5C{evil}/x"),
        format!("http://{evil}/x"),
        format!("http:%2F%2F{evil}/x"),
        format!("https:{evil}/x"),
    ];
    for form in &forms {
        let status = raw_get(&app, &format!("{base}{form}"), &owner.token).await;
        assert!((400..500).contains(&status), "{form}: answered {status}");
    }
    // The backslash itself is refused by the HTTP parser or by the proxy.
    let status = raw_get(&app, &format!("{base}x\\{evil}"), &owner.token).await;
    assert!((400..500).contains(&status), "backslash: {status}");
    assert_eq!(upstream_calls(&canary).await, 0, "the canary was reached");
    assert_eq!(upstream_calls(&app.provider).await, 0, "nothing was sent");

    let (status, answer) = raw_answer(&app, &format!("{base}%2e%2e/x"), &owner.token).await;
    assert_eq!(status, 400);
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"path_not_allowed\""), "{answer}");
}

/// Stores LinkedIn as connected with `at-old` and the refresh token `rt-first`, its access
/// expiring after `lifetime`.
async fn seed_linkedin(app: &TestApp, org: &str, lifetime: chrono::Duration) {
    app.seed_oauth_connection(org, "linkedin", "at-old", &[])
        .await;
    let keys = domain::crypto::KeyRing::parse(&app.encryption_keys).unwrap();
    let aad = domain::crypto::SecretAad {
        org_id: org.parse().unwrap(),
        provider: "linkedin",
        field: "refresh_token",
    };
    let org_id: uuid::Uuid = org.parse().unwrap();
    let connection: uuid::Uuid = app
        .raw_rows("SELECT id FROM connections WHERE provider = 'linkedin'")
        .await[0]
        .try_get("", "id")
        .unwrap();
    app.execute_with(
        "INSERT INTO connection_secrets (id, org_id, connection_id, field, ciphertext, key_id, updated_at) \
         VALUES ($1, $2, $3, 'refresh_token', $4, 'test1', $5)",
        vec![
            uuid::Uuid::new_v4().into(),
            org_id.into(),
            connection.into(),
            keys.encrypt(&aad, "rt-first").unwrap().into(),
            chrono::Utc::now().into(),
        ],
    )
    .await;
    app.execute_with(
        "UPDATE connections SET token_expires_at = $1, version = version + 1 WHERE id = $2",
        vec![(chrono::Utc::now() + lifetime).into(), connection.into()],
    )
    .await;
}

async fn linkedin_token_answers(app: &TestApp, status: u16, body: Value) {
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&app.provider)
        .await;
}

async fn userinfo_takes(app: &TestApp, token: &str, status: u16) {
    Mock::given(method("GET"))
        .and(path("/v2/userinfo"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(
            ResponseTemplate::new(status).set_body_json(json!({"sub": "li-1", "name": "Acme"})),
        )
        .mount(&app.provider)
        .await;
}

async fn calls_to(app: &TestApp, at: &str, bearer: Option<&str>) -> usize {
    app.provider
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == at)
        .filter(|r| {
            bearer.is_none_or(|t| {
                r.headers
                    .get("authorization")
                    .is_some_and(|v| v.to_str().unwrap() == format!("Bearer {t}"))
            })
        })
        .count()
}

#[tokio::test]
async fn proxy_renews_a_token_about_to_expire_once_before_the_call() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    seed_linkedin(&app, &org, chrono::Duration::seconds(30)).await;
    linkedin_token_answers(
        &app,
        200,
        json!({"access_token": "at-new", "expires_in": 3600, "refresh_token": "rt-second"}),
    )
    .await;
    userinfo_takes(&app, "at-new", 200).await;

    let answer = app
        .get(&proxy(&org, "linkedin", "userinfo"), &owner.token)
        .await;
    let (status, _, body) = text_without(answer, "at-new").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(calls_to(&app, "/oauth/v2/accessToken", None).await, 1);
    assert_eq!(calls_to(&app, "/v2/userinfo", Some("at-old")).await, 0);
    assert_eq!(calls_to(&app, "/v2/userinfo", Some("at-new")).await, 1);
    let linkedin = app.integration(&owner.token, &org, "linkedin").await;
    assert_eq!(linkedin["status"], "connected");
}

#[tokio::test]
async fn proxy_a_401_leads_to_one_renewal_and_one_retry() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    seed_linkedin(&app, &org, chrono::Duration::hours(1)).await;
    linkedin_token_answers(
        &app,
        200,
        json!({"access_token": "at-new", "expires_in": 3600, "refresh_token": "rt-second"}),
    )
    .await;
    userinfo_takes(&app, "at-old", 401).await;
    userinfo_takes(&app, "at-new", 200).await;

    let answer = app
        .get(&proxy(&org, "linkedin", "userinfo"), &owner.token)
        .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(calls_to(&app, "/oauth/v2/accessToken", None).await, 1);
    assert_eq!(calls_to(&app, "/v2/userinfo", Some("at-old")).await, 1);
    assert_eq!(calls_to(&app, "/v2/userinfo", Some("at-new")).await, 1);

    // A 401 that a renewal does not cure comes back as the provider's, after one retry.
    app.provider.reset().await;
    linkedin_token_answers(
        &app,
        200,
        json!({"access_token": "at-third", "expires_in": 3600}),
    )
    .await;
    userinfo_takes(&app, "at-new", 401).await;
    userinfo_takes(&app, "at-third", 401).await;
    let answer = app
        .get(&proxy(&org, "linkedin", "userinfo"), &owner.token)
        .await;
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.headers()["plugboard-proxied"], "true");
    assert_eq!(calls_to(&app, "/oauth/v2/accessToken", None).await, 1);
    assert_eq!(calls_to(&app, "/v2/userinfo", None).await, 2);
}

#[tokio::test]
async fn proxy_a_revoked_grant_expires_the_connection_and_answers_409() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    seed_linkedin(&app, &org, chrono::Duration::seconds(10)).await;
    linkedin_token_answers(&app, 400, json!({"error": "invalid_grant"})).await;

    let refused = problem(
        app.get(&proxy(&org, "linkedin", "userinfo"), &owner.token)
            .await,
        409,
    )
    .await;
    assert_eq!(refused["code"], "connection_expired");
    assert!(
        refused["detail"].as_str().unwrap().contains("Reconnect"),
        "{refused}"
    );
    assert_eq!(calls_to(&app, "/v2/userinfo", None).await, 0);
    let linkedin = app.integration(&owner.token, &org, "linkedin").await;
    assert_eq!(linkedin["status"], "expired");

    // Expired stays expired: the next call is refused without asking anyone.
    let again = problem(
        app.get(&proxy(&org, "linkedin", "userinfo"), &owner.token)
            .await,
        409,
    )
    .await;
    assert_eq!(again["code"], "connection_expired");
    assert_eq!(calls_to(&app, "/oauth/v2/accessToken", None).await, 1);
}

#[tokio::test]
async fn proxy_a_revoked_grant_sends_one_broken_notice() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    // Notices are queued per channel; the worker is off, so nothing is sent to it.
    json_body(
        app.request(
            Method::PUT,
            &format!("/api/v1/orgs/{org}/notification-settings"),
            Some(&owner.token),
            Some(json!({"webhook_url": "https://hooks.example.com/plugboard"})),
        )
        .await,
        200,
    )
    .await;
    seed_linkedin(&app, &org, chrono::Duration::seconds(10)).await;
    linkedin_token_answers(&app, 400, json!({"error": "invalid_grant"})).await;

    for _ in 0..3 {
        problem(
            app.get(&proxy(&org, "linkedin", "userinfo"), &owner.token)
                .await,
            409,
        )
        .await;
    }
    let notices = app
        .raw_rows("SELECT kind, channel, provider FROM notifications")
        .await;
    let notices: Vec<[String; 3]> = notices
        .iter()
        .map(|row| ["kind", "channel", "provider"].map(|c| row.try_get("", c).unwrap()))
        .collect();
    assert_eq!(
        notices,
        [["broken", "webhook", "linkedin"].map(str::to_owned)]
    );
}

#[tokio::test]
async fn proxy_calls_show_when_and_by_whom_the_connection_was_last_used() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    meta_me_answers(&app, &org).await;
    let before = app.integration(&owner.token, &org, "meta_ads").await;
    assert_eq!(before["last_used"], Value::Null);
    let version_before = meta_version(&app).await;

    let partner = key(&app, &owner.token, &org, &["proxy:read"]).await;
    assert_eq!(
        app.get(&proxy(&org, "meta_ads", "me"), &partner)
            .await
            .status(),
        200
    );
    let used = app.integration(&owner.token, &org, "meta_ads").await["last_used"].clone();
    assert_eq!(used["by_type"], "api_key", "{used}");
    assert_eq!(used["by_name"], "Partner");
    let at: chrono::DateTime<chrono::Utc> = used["at"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - at).num_seconds() < 60);

    // Another caller is news at once; the same caller again within the minute is not written.
    assert_eq!(
        app.get(&proxy(&org, "meta_ads", "me"), &owner.token)
            .await
            .status(),
        200
    );
    let used = app.integration(&owner.token, &org, "meta_ads").await["last_used"].clone();
    assert_eq!(used["by_type"], "user", "{used}");
    assert_eq!(used["by_id"], owner.id.as_str());

    // Recording a use is not a change of state: the connection's version stays.
    assert_eq!(meta_version(&app).await, version_before);
}

async fn meta_version(app: &TestApp) -> i64 {
    app.raw_rows("SELECT version FROM connections WHERE provider = 'meta_ads'")
        .await[0]
        .try_get("", "version")
        .unwrap()
}

#[tokio::test]
async fn proxy_a_key_limited_to_some_providers_reaches_only_those() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    app.seed_oauth_connection(&org, "linkedin", "at-li", &[])
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&app.provider)
        .await;
    let created = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            &owner.token,
            json!({"name": "Ads only", "scopes": ["proxy:read"], "providers": ["meta_ads", "meta_ads"]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["providers"], json!(["meta_ads"]));
    let limited = created["secret"].as_str().unwrap();

    assert_eq!(
        app.get(&proxy(&org, "meta_ads", "me"), limited)
            .await
            .status(),
        200
    );
    let refused = problem(
        app.get(&proxy(&org, "linkedin", "userinfo"), limited).await,
        403,
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("meta_ads"),
        "{refused}"
    );
    assert_eq!(calls_to(&app, "/v2/userinfo", None).await, 0);

    // A list naming nothing Plugboard proxies, or nothing at all, is refused when the key is made.
    for providers in [json!(["meta_ads", "nope"]), json!([]), json!(["sentry"])] {
        let refused = problem(
            app.post(
                &format!("/api/v1/orgs/{org}/api-keys"),
                &owner.token,
                json!({"name": "Bad", "scopes": ["proxy:read"], "providers": providers}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(refused["errors"][0]["field"], "providers", "{refused}");
    }
}

#[tokio::test]
async fn proxy_a_body_over_10_mb_is_413_and_nothing_is_sent() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let body = vec![b'a'; 11 * 1024 * 1024];
    let answer = app
        .client
        .post(app.url(&proxy(&org, "meta_ads", "act_1/adimages")))
        .bearer_auth(&owner.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let refused = problem(answer, 413).await;
    assert_eq!(refused["code"], "body_too_large");
    assert_eq!(upstream_calls(&app.provider).await, 0);
}

#[tokio::test]
async fn proxy_a_disabled_connection_is_409_and_nothing_is_sent() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/meta_ads"),
            &owner.token,
            json!({"enabled": false}),
        )
        .await,
        200,
    )
    .await;
    let refused = problem(
        app.get(&proxy(&org, "meta_ads", "me"), &owner.token).await,
        409,
    )
    .await;
    assert_eq!(refused["code"], "connection_disabled");
    assert_eq!(upstream_calls(&app.provider).await, 0);
}

#[tokio::test]
async fn proxy_unproxied_and_unconnected_providers_are_404() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    let not_connected = problem(
        app.get(&proxy(&org, "meta_ads", "me"), &owner.token).await,
        404,
    )
    .await;
    assert_eq!(not_connected["code"], "not_connected");
    let platform = problem(
        app.get(&proxy(&org, "sentry", "organizations/"), &owner.token)
            .await,
        404,
    )
    .await;
    assert_eq!(platform["code"], "not_proxied");
    let public_id = problem(
        app.get(&proxy(&org, "clarity", "x"), &owner.token).await,
        404,
    )
    .await;
    assert_eq!(public_id["code"], "not_proxied");
    assert_eq!(upstream_calls(&app.provider).await, 0);
}

#[tokio::test]
async fn proxy_a_declared_answer_over_the_cap_is_502_upstream_too_large() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/act_1/insights"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 60 * 1024 * 1024]))
        .mount(&app.provider)
        .await;
    let refused = problem(
        app.get(&proxy(&org, "meta_ads", "act_1/insights"), &owner.token)
            .await,
        502,
    )
    .await;
    assert_eq!(refused["code"], "upstream_too_large");
}

#[tokio::test]
async fn proxy_a_provider_that_does_not_answer_in_time_is_504_and_one_that_is_down_502() {
    let app = spawn_app_with(Options {
        configure: |settings| settings.proxy.timeout = Duration::from_millis(500),
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    Mock::given(method("GET"))
        .and(path("/v27.0/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&app.provider)
        .await;
    let late = problem(
        app.get(&proxy(&org, "meta_ads", "slow"), &owner.token)
            .await,
        504,
    )
    .await;
    assert_eq!(late["code"], "upstream_timeout");

    // Nothing listens where the provider was redirected.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = spawn_app_with(Options {
        provider_base_urls: Some(format!("meta_ads=http://127.0.0.1:{port}")),
        ..Options::default()
    })
    .await;
    let (owner, org) = down.owner_with_org().await;
    down.seed_oauth_connection(&org, "meta_ads", META_TOKEN, &[])
        .await;
    let refused = problem(
        down.get(&proxy(&org, "meta_ads", "me"), &owner.token).await,
        502,
    )
    .await;
    assert_eq!(refused["code"], "upstream_unavailable");
}

/// The last request the provider saw at `at`: its `Authorization`.
async fn last_bearer_at(app: &TestApp, at: &str) -> String {
    let requests = app.provider.received_requests().await.unwrap();
    let last = requests.iter().rev().find(|r| r.url.path() == at).unwrap();
    last.headers["authorization"].to_str().unwrap().to_owned()
}

/// Who called and the connection they called with are kept for a second between calls; a
/// change made through this server is seen by the very next call all the same.
#[tokio::test]
async fn proxy_a_change_made_here_is_seen_by_the_next_call() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    meta_me_answers(&app, &org).await;
    let admin = app.add_member(&owner, &org, "admin").await;
    let created = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            &owner.token,
            json!({"name": "Partner", "scopes": ["proxy:read"]}),
        )
        .await,
        201,
    )
    .await;
    let partner = created["secret"].as_str().unwrap();
    let me = proxy(&org, "meta_ads", "me");
    for caller in [&owner.token, &admin.token, partner] {
        assert_eq!(app.get(&me, caller).await.status(), 200);
    }

    let member = format!("/api/v1/orgs/{org}/members/{}", admin.id);
    json_body(
        app.patch(&member, &owner.token, json!({"role": "member"}))
            .await,
        200,
    )
    .await;
    problem(app.get(&me, &admin.token).await, 403).await;
    let removed = app
        .request(Method::DELETE, &member, Some(&owner.token), None)
        .await;
    assert_eq!(removed.status(), 204);
    problem(app.get(&me, &admin.token).await, 404).await;

    let revoked = app
        .request(
            Method::DELETE,
            &format!(
                "/api/v1/orgs/{org}/api-keys/{}",
                created["id"].as_str().unwrap()
            ),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(revoked.status(), 204);
    problem(app.get(&me, partner).await, 401).await;

    json_body(
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/meta_ads"),
            &owner.token,
            json!({"enabled": false}),
        )
        .await,
        200,
    )
    .await;
    let refused = problem(app.get(&me, &owner.token).await, 409).await;
    assert_eq!(refused["code"], "connection_disabled");
}

/// New credentials saved through this server are the next call's, not the ones read a moment
/// before.
#[tokio::test]
async fn proxy_new_credentials_are_used_by_the_next_call() {
    let app = app().await;
    let (owner, org) = app.owner_with_org().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "data": [{"id": "gpt-4o", "owned_by": "acme"}]}),
        ))
        .mount(&app.provider)
        .await;
    let models = proxy(&org, "openai", "models");
    let integration = format!("/api/v1/orgs/{org}/integrations/openai");
    for key in [
        "sk-first-000000000000000000000001",
        "sk-second-00000000000000000000002",
    ] {
        let saved = json_body(
            app.patch(
                &integration,
                &owner.token,
                json!({"credentials": {"api_key": key}}),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(saved["status"], "connected");
        assert_eq!(app.get(&models, &owner.token).await.status(), 200);
        assert_eq!(
            last_bearer_at(&app, "/v1/models").await,
            format!("Bearer {key}")
        );
    }
}
