//! Rate limits: a burst over a key's budget gets 429 with `Retry-After` and the `RateLimit`
//! fields; its organization's other callers go on until the organization's own budget is
//! spent; another organization is not slowed at all.

use serde_json::json;

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};

async fn limited_app() -> TestApp {
    spawn_app_with(Options {
        configure: |s| {
            s.rate_limits.org_per_minute = 8;
            s.rate_limits.caller_per_minute = 5;
        },
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_burst_is_refused_with_retry_after_and_another_org_is_unaffected() {
    let app = limited_app().await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    let key = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/api-keys"),
            &owner.token,
            json!({"name": "Busy", "scopes": ["integrations:read"]}),
        )
        .await,
        201,
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let integrations = format!("/api/v1/orgs/{org}/integrations");
    for left in (0..5).rev() {
        let ok = app.get(&integrations, &key).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(
            ok.headers()["ratelimit-policy"],
            "\"org\";q=8;w=60, \"caller\";q=5;w=60"
        );
        let standing = ok.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert!(
            standing.contains(&format!("\"caller\";r={left};")),
            "{standing}"
        );
    }
    let refused = app.get(&integrations, &key).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    assert!(
        refused.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"caller\";r=0;")
    );
    let body = problem(refused, 429).await;
    assert_eq!(body["code"], "rate_limited");

    // The owner is another caller: the organization's budget (8, one spent creating the key)
    // lets two more through, then the organization is refused as a whole.
    for _ in 0..2 {
        assert_eq!(app.get(&integrations, &owner.token).await.status(), 200);
    }
    let spent = problem(app.get(&integrations, &owner.token).await, 429).await;
    assert!(
        spent["detail"].as_str().unwrap().contains("organization"),
        "{spent}"
    );

    // Another organization is not slowed.
    for _ in 0..5 {
        let theirs = app
            .get(
                &format!("/api/v1/orgs/{other_org}/integrations"),
                &other.token,
            )
            .await;
        assert_eq!(theirs.status(), 200);
    }
    // Routes outside organizations are not counted.
    assert_eq!(app.get("/api/v1/me", &owner.token).await.status(), 200);
}
