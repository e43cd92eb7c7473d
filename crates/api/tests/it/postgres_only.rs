//! Suites that need PostgreSQL itself (they cut the server's connections). The PostgreSQL run
//! of `make test` includes them and the SQLite run leaves them out, so none passes by doing
//! nothing.

use reqwest::Method;
use serde_json::json;

mod replicas;

use crate::helpers::{is_postgres, problem, spawn_app};

/// With the database gone, the API says 503, never 401 or 404.
#[tokio::test]
async fn a_database_outage_is_a_503() {
    assert!(
        is_postgres(),
        "this module runs only against PostgreSQL (TEST_DATABASE_URL): it cuts the server's connections"
    );
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let name: String = app.raw_rows("SELECT current_database() AS name").await[0]
        .try_get("", "name")
        .unwrap();
    let admin = sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();

    let listed = app
        .get(&format!("/api/v1/orgs/{org}/integrations"), &owner.token)
        .await;
    assert_eq!(problem(listed, 503).await["code"], "database_unavailable");
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
}
