//! Suites that need PostgreSQL itself (they cut the server's connections). The PostgreSQL run
//! of `make test` includes them and the SQLite run leaves them out, so none passes by doing
//! nothing.

use reqwest::Method;
use serde_json::json;

mod replicas;

use crate::helpers::{is_postgres, problem, spawn_app};

/// The admin connection to the test server, and the name of the app's own database.
async fn admin_and_name(app: &crate::helpers::TestApp) -> (sea_orm::DatabaseConnection, String) {
    let name: String = app.raw_rows("SELECT current_database() AS name").await[0]
        .try_get("", "name")
        .unwrap();
    let admin = sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    (admin, name)
}

async fn terminate_backends(admin: &sea_orm::DatabaseConnection, name: &str) {
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .await
        .unwrap();
}

/// A restart or failover ends every pooled connection; the requests after it see nothing of
/// it: each statement that finds its connection gone runs again on a live one.
#[tokio::test]
async fn a_database_restart_is_absorbed_by_the_next_requests() {
    assert!(is_postgres(), "this module runs only against PostgreSQL");
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    // Several pooled connections, all idle when the backends end.
    let path = format!("/api/v1/orgs/{org}/integrations");
    let lists = (0..6).map(|_| app.get(&path, &owner.token));
    for listed in futures_util::future::join_all(lists).await {
        assert_eq!(listed.status(), 200);
    }
    let (admin, name) = admin_and_name(&app).await;
    terminate_backends(&admin, &name).await;

    for i in 0..20 {
        let answer = match i % 4 {
            0 => {
                app.get(&format!("/api/v1/orgs/{org}/integrations"), &owner.token)
                    .await
            }
            1 => app.get("/api/v1/me", &owner.token).await,
            2 => {
                app.post(
                    "/api/v1/orgs",
                    &owner.token,
                    json!({"name": format!("Acme {i}")}),
                )
                .await
            }
            _ => {
                app.patch(
                    &format!("/api/v1/orgs/{org}/integrations/openai"),
                    &owner.token,
                    json!({"enabled": false}),
                )
                .await
            }
        };
        let status = answer.status();
        assert!(
            status.is_success(),
            "request {i}: {status} {}",
            answer.text().await.unwrap()
        );
    }
}

/// With the database gone, the API says 503, never 401 or 404.
#[tokio::test]
async fn a_database_outage_is_a_503() {
    assert!(
        is_postgres(),
        "this module runs only against PostgreSQL (TEST_DATABASE_URL): it cuts the server's connections"
    );
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let (admin, name) = admin_and_name(&app).await;
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    terminate_backends(&admin, &name).await;

    let listed = app
        .get(&format!("/api/v1/orgs/{org}/integrations"), &owner.token)
        .await;
    assert!(listed.headers().contains_key("retry-after"));
    assert_eq!(problem(listed, 503).await["code"], "database_unavailable");
    let created = app
        .post(
            "/api/v1/orgs",
            &owner.token,
            json!({"name": "Half written"}),
        )
        .await;
    assert!(created.headers().contains_key("retry-after"));
    problem(created, 503).await;
    problem(app.request(Method::GET, "/readyz", None, None).await, 503).await;
    let login = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": owner.email, "password": "correct horse battery"})),
        )
        .await;
    problem(login, 503).await;

    // Back again: the write that was refused left nothing behind.
    admin
        .execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let me: serde_json::Value = app
        .get("/api/v1/me", &owner.token)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["org_name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Half written"), "{names:?}");
}

/// Wrong passwords for one account, sent to two servers on one database in turn, are
/// throttled after as many attempts as on one server: the counts are the database's.
#[tokio::test]
async fn two_servers_share_one_login_throttle() {
    assert!(is_postgres(), "this module runs only against PostgreSQL");
    let app = spawn_app().await;
    let user = app.signup("guessed").await;
    let second = crate::helpers::start_server(crate::helpers::test_settings(
        &app.database_url,
        String::new(),
        Default::default(),
    ))
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let mut allowed = 0;
    for attempt in 0..20 {
        let base = if attempt % 2 == 0 {
            app.address.clone()
        } else {
            second.clone()
        };
        let answer = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": user.email, "password": "wrong password!"}))
            .send()
            .await
            .unwrap();
        if answer.status() == 429 {
            break;
        }
        assert_eq!(answer.status(), 401);
        allowed += 1;
    }
    assert_eq!(
        allowed,
        api::auth::ThrottleSettings::default().login_account.burst
    );
}

/// A connection turned off through one server is refused by another on the same database
/// within a second or so, though the other had just used it: what a server keeps of a
/// connection between calls is a second old at most.
#[tokio::test]
async fn a_connection_turned_off_on_one_server_is_refused_by_another_within_a_second() {
    assert!(is_postgres(), "this module runs only against PostgreSQL");
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "meta_ads", "meta-token", &[])
        .await;
    wiremock::Mock::given(wiremock::matchers::path("/v27.0/me"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .mount(&app.provider)
        .await;
    let mut settings = crate::helpers::test_settings(
        &app.database_url,
        format!("meta_ads={}", app.provider.uri()),
        Default::default(),
    );
    // The same key ring, so the second server opens what the first sealed.
    settings.encryption_keys = app.encryption_keys.clone();
    let second = crate::helpers::start_server(settings).await.unwrap();
    let client = reqwest::Client::new();
    let through_second = || {
        client
            .get(format!(
                "{second}/api/v1/orgs/{org}/integrations/meta_ads/proxy/me"
            ))
            .bearer_auth(&owner.token)
            .send()
    };
    assert_eq!(through_second().await.unwrap().status(), 200);

    let turned_off = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/meta_ads"),
            &owner.token,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(turned_off.status(), 200);
    let since = std::time::Instant::now();
    loop {
        let answer = through_second().await.unwrap();
        if answer.status() == 409 {
            break;
        }
        assert_eq!(answer.status(), 200);
        assert!(
            since.elapsed() < std::time::Duration::from_secs(3),
            "the second server still used the connection 3 s after it was turned off"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
