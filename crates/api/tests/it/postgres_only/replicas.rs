//! Two `plugboard serve` processes on one PostgreSQL, 1 000 connections due for renewal and a
//! token endpoint that counts: exactly 1 000 refresh calls, each refresh token presented once,
//! every row holding its new tokens.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::crypto::{KeyRing, SecretAad};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{is_postgres, spawn_app};

const CONNECTIONS: usize = 1000;

/// A token endpoint that records every refresh token it is shown and refuses a replay.
struct Counting(Arc<Mutex<Vec<String>>>);

impl Respond for Counting {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let presented = url::form_urlencoded::parse(&request.body)
            .find(|(k, _)| k == "refresh_token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let mut seen = self.0.lock().unwrap();
        let replay = seen.contains(&presented);
        seen.push(presented.clone());
        if replay {
            return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"}));
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("at-{presented}"),
            "refresh_token": format!("{presented}-next"),
            "expires_in": 3600,
        }))
    }
}

/// A replica: the built binary, serving and sweeping every second.
struct Replica(Child);

impl Replica {
    fn start(database_url: &str, keys: &str, token_server: &str) -> Replica {
        let data = std::env::temp_dir().join(format!("plugboard-replica-{}", uuid::Uuid::new_v4()));
        let child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("PLUGBOARD_ENCRYPTION_KEYS", keys)
            .env(
                "PLUGBOARD_JWT_SECRET",
                "test-jwt-secret-that-is-long-enough-to-sign",
            )
            .env("PLUGBOARD_BIND", "127.0.0.1:0")
            .env("PLUGBOARD_DATA_DIR", &data)
            .env("PLUGBOARD_SANDBOX", "false")
            .env(
                "PLUGBOARD_PROVIDER_BASE_URLS",
                format!("linkedin={token_server}"),
            )
            .env("LINKEDIN_CLIENT_ID", "li-client")
            .env("LINKEDIN_CLIENT_SECRET", "li-secret")
            .env("PLUGBOARD_REFRESH_INTERVAL_SECS", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the plugboard binary starts");
        Replica(child)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn two_replicas_refresh_each_of_1000_connections_exactly_once() {
    assert!(
        is_postgres(),
        "this module runs only against PostgreSQL (TEST_DATABASE_URL): several processes share it"
    );
    let app = spawn_app().await;
    let keys = KeyRing::parse(&app.encryption_keys).unwrap();
    let now = chrono::Utc::now();
    // Tokens issued an hour ago and expiring in 20 s: due (a 6-minute window) at once.
    let issued = (now - chrono::Duration::hours(1)).to_rfc3339();
    let tested = now.to_rfc3339();
    let expires = (now + chrono::Duration::seconds(20)).to_rfc3339();
    let mut orgs = Vec::new();
    for chunk in 0..CONNECTIONS / 100 {
        let (mut o, mut c, mut s) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..100 {
            let n = chunk * 100 + i;
            let (org, connection) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
            orgs.push((org, n));
            o.push(format!("('{org}', 'Brand {n}', '{issued}', '{issued}')"));
            c.push(format!(
                "('{connection}', '{org}', 'linkedin', 'connected', true, '{{}}', '', '{expires}', '{tested}', '{issued}', '{issued}', '{issued}', 1)"
            ));
            for (field, value) in [
                ("access_token", format!("at-{n}")),
                ("refresh_token", format!("rt-{n}")),
            ] {
                let aad = SecretAad {
                    org_id: domain::OrgId(org),
                    provider: "linkedin",
                    field,
                };
                let sealed = keys.encrypt(&aad, &value).unwrap();
                s.push(format!(
                    "('{}', '{org}', '{connection}', '{field}', '{sealed}', 'test1', NULL, '{issued}')",
                    uuid::Uuid::new_v4()
                ));
            }
        }
        app.raw_rows(&format!(
            "INSERT INTO organizations (id, name, created_at, updated_at) VALUES {}",
            o.join(",")
        ))
        .await;
        app.raw_rows(&format!(
            "INSERT INTO connections (id, org_id, provider, status, enabled, config, scopes, token_expires_at, last_tested_at, connected_at, created_at, updated_at, version) VALUES {}",
            c.join(",")
        ))
        .await;
        app.raw_rows(&format!(
            "INSERT INTO connection_secrets (id, org_id, connection_id, field, ciphertext, key_id, last4, updated_at) VALUES {}",
            s.join(",")
        ))
        .await;
    }

    let presented = Arc::new(Mutex::new(Vec::new()));
    let token_server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Counting(presented.clone()))
        .mount(&token_server)
        .await;
    let key_spec = app.encryption_keys.expose_secret().to_owned();
    let replicas = [
        Replica::start(&app.database_url, &key_spec, &token_server.uri()),
        Replica::start(&app.database_url, &key_spec, &token_server.uri()),
    ];
    for _ in 0..600 {
        if presented.lock().unwrap().len() >= CONNECTIONS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more sweeps: nothing is refreshed again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(replicas);

    let presented = presented.lock().unwrap().clone();
    assert_eq!(
        presented.len(),
        CONNECTIONS,
        "exactly one refresh per connection"
    );
    let unique: HashSet<&String> = presented.iter().collect();
    assert_eq!(
        unique.len(),
        CONNECTIONS,
        "each refresh token presented once"
    );
    assert!(
        presented
            .iter()
            .all(|t| t.starts_with("rt-") && !t.ends_with("-next"))
    );

    // Every row holds its new tokens and a later expiry, and is still connected.
    let rows = app
        .raw_rows(
            "SELECT s.org_id, s.field, s.ciphertext, c.status, c.token_expires_at \
             FROM connection_secrets s JOIN connections c ON c.id = s.connection_id",
        )
        .await;
    assert_eq!(rows.len(), CONNECTIONS * 2);
    let failures: Vec<String> = app
        .raw_rows(
            "SELECT action, code, message FROM connection_events WHERE success = false LIMIT 3",
        )
        .await
        .iter()
        .map(|r| {
            format!(
                "{:?} {:?}",
                r.try_get::<String>("", "action"),
                r.try_get::<String>("", "message")
            )
        })
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
    for row in rows {
        let org: uuid::Uuid = row.try_get("", "org_id").unwrap();
        let field: String = row.try_get("", "field").unwrap();
        let status: String = row.try_get("", "status").unwrap();
        let expires: chrono::DateTime<chrono::Utc> = row.try_get("", "token_expires_at").unwrap();
        assert_eq!(status, "connected");
        assert!(expires > now + chrono::Duration::minutes(30));
        let aad = SecretAad {
            org_id: domain::OrgId(org),
            provider: "linkedin",
            field: &field,
        };
        let value = keys
            .decrypt(&aad, &row.try_get::<String>("", "ciphertext").unwrap())
            .unwrap();
        let n = orgs.iter().find(|(o, _)| *o == org).unwrap().1;
        let expected = match field.as_str() {
            "refresh_token" => format!("rt-{n}-next"),
            _ => format!("at-rt-{n}"),
        };
        assert_eq!(value.expose_secret(), expected);
    }
}
