//! Several `plugboard serve` processes on one PostgreSQL:
//! - 1 000 connections due for renewal and a token endpoint that counts: exactly 1 000 refresh
//!   calls, each refresh token presented once, every row holding its new tokens;
//! - Shopify's 20-second tokens from the sandbox kept fresh by two replicas across five
//!   lifetimes, each one-time refresh token presented once, old non-expiring tokens exchanged once;
//! - a replica killed (SIGKILL) mid-sweep, and one paused (SIGSTOP) past its leases and resumed:
//!   none lost, none refreshed twice with the same token, no newer token overwritten.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use domain::crypto::{KeyRing, SecretAad};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::{Options, TestApp, is_postgres, spawn_app, spawn_app_with};
use crate::sandbox::{connect, non_expiring_shopify_token};

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
    /// A replica on `database_url` with the test's key ring, plus `env`.
    fn start(database_url: &str, keys: &str, env: &[(&str, String)]) -> Replica {
        let data = std::env::temp_dir().join(format!("plugboard-replica-{}", uuid::Uuid::new_v4()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard"));
        command
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
            .env("PLUGBOARD_REFRESH_INTERVAL_SECS", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        Replica(command.spawn().expect("the plugboard binary starts"))
    }

    /// A replica whose LinkedIn token requests go to `token_server`.
    fn linkedin(app: &TestApp, token_server: &str, lease_secs: u64) -> Replica {
        Replica::start(
            &app.database_url,
            app.encryption_keys.expose_secret(),
            &[
                (
                    "PLUGBOARD_PROVIDER_BASE_URLS",
                    format!("linkedin={token_server}"),
                ),
                ("LINKEDIN_CLIENT_ID", "li-client".to_owned()),
                ("LINKEDIN_CLIENT_SECRET", "li-secret".to_owned()),
                ("PLUGBOARD_REFRESH_LEASE_SECS", lease_secs.to_string()),
            ],
        )
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([format!("-{name}"), self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // A paused replica is woken first, so it can be killed and reaped.
        let _ = Command::new("kill")
            .args(["-CONT".to_owned(), self.0.id().to_string()])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Stores `count` LinkedIn connections, one organization each, holding `at-{n}` and `rt-{n}`
/// and due for renewal at once (issued an hour ago, expiring in 20 s); their `(org, n)`.
async fn seed_due_linkedin(app: &TestApp, count: usize) -> Vec<(uuid::Uuid, usize)> {
    let keys = KeyRing::parse(&app.encryption_keys).unwrap();
    let now = chrono::Utc::now();
    let issued = (now - chrono::Duration::hours(1)).to_rfc3339();
    let tested = now.to_rfc3339();
    let expires = (now + chrono::Duration::seconds(20)).to_rfc3339();
    let mut orgs = Vec::new();
    for chunk in 0..count.div_ceil(100) {
        let (mut o, mut c, mut s) = (Vec::new(), Vec::new(), Vec::new());
        for n in chunk * 100..count.min((chunk + 1) * 100) {
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
    orgs
}

/// A token server that counts what it is shown (refusing replays), answering `at-{token}` and
/// `{token}-next`.
async fn counting_server() -> (MockServer, Arc<Mutex<Vec<String>>>) {
    let presented = Arc::new(Mutex::new(Vec::new()));
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(Counting(presented.clone()))
        .mount(&server)
        .await;
    (server, presented)
}

/// Waits (up to `secs`) until `check` holds.
async fn until(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 10 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

/// Every connection is connected and holds the tokens the counting server gave for its own
/// refresh token, and no refresh failed.
async fn assert_renewed_once(app: &TestApp, orgs: &[(uuid::Uuid, usize)], presented: &[String]) {
    let keys = KeyRing::parse(&app.encryption_keys).unwrap();
    assert_eq!(
        presented.len(),
        orgs.len(),
        "exactly one refresh per connection"
    );
    let unique: HashSet<&String> = presented.iter().collect();
    assert_eq!(
        unique.len(),
        orgs.len(),
        "each refresh token presented once"
    );
    assert!(
        presented
            .iter()
            .all(|t| t.starts_with("rt-") && !t.ends_with("-next"))
    );
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
    let rows = app
        .raw_rows(
            "SELECT s.org_id, s.field, s.ciphertext, c.status, c.token_expires_at \
             FROM connection_secrets s JOIN connections c ON c.id = s.connection_id",
        )
        .await;
    assert_eq!(rows.len(), orgs.len() * 2);
    let now = chrono::Utc::now();
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

#[tokio::test]
async fn two_replicas_refresh_each_of_1000_connections_exactly_once() {
    assert!(
        is_postgres(),
        "this module runs only against PostgreSQL (TEST_DATABASE_URL): several processes share it"
    );
    let app = spawn_app().await;
    let orgs = seed_due_linkedin(&app, CONNECTIONS).await;
    let (token_server, presented) = counting_server().await;
    let replicas = [
        Replica::linkedin(&app, &token_server.uri(), 120),
        Replica::linkedin(&app, &token_server.uri(), 120),
    ];
    until(60, || presented.lock().unwrap().len() >= CONNECTIONS).await;
    // A few more sweeps: nothing is refreshed again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(replicas);
    let presented = presented.lock().unwrap().clone();
    assert_renewed_once(&app, &orgs, &presented).await;
}

/// A token server that takes `delay` to answer, with tokens nobody may keep.
async fn slow_server(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "access_token": "stale-access",
                    "refresh_token": "stale-refresh",
                    "expires_in": 3600,
                }))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

async fn requests_to(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// What a server has received once a stopped sender's last writes have landed: requests written
/// before the stop may still be on their way, so the count is read when it holds for a second.
async fn settled_requests_to(server: &MockServer) -> usize {
    let mut seen = requests_to(server).await;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = requests_to(server).await;
        if now == seen {
            return now;
        }
        seen = now;
    }
}

/// Waits (up to 30 s) until the first replica's provider has been asked something: it has
/// claimed its leases and started renewing.
async fn first_request_to(server: &MockServer) {
    for _ in 0..300 {
        if requests_to(server).await > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the first replica never started renewing");
}

const LEASE_SECS: u64 = 3;

#[tokio::test]
async fn a_replica_killed_mid_sweep_loses_nothing_and_no_token_is_presented_twice() {
    let app = spawn_app().await;
    let orgs = seed_due_linkedin(&app, 40).await;
    // The first replica claims every connection; its provider has not answered when it dies.
    let unanswered = slow_server(Duration::from_secs(120)).await;
    let first = Replica::linkedin(&app, &unanswered.uri(), LEASE_SECS);
    first_request_to(&unanswered).await;
    first.signal("KILL");
    let claimed = app
        .raw_rows("SELECT id FROM connections WHERE refresh_claimed_until IS NOT NULL")
        .await
        .len();
    assert_eq!(claimed, orgs.len(), "the killed replica held every lease");

    // The second replica takes over once the leases lapse.
    let (token_server, presented) = counting_server().await;
    let second = Replica::linkedin(&app, &token_server.uri(), LEASE_SECS);
    until(60, || presented.lock().unwrap().len() >= orgs.len()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop((first, second));
    let presented = presented.lock().unwrap().clone();
    assert_renewed_once(&app, &orgs, &presented).await;
}

/// A token server that pauses (SIGSTOP) the process `pid` names the moment the first token
/// request arrives, then takes `delay` to answer, with tokens nobody may keep. The other
/// refreshes of the paused process's batch are caught wherever they are: reading the database,
/// or between their last look at the lease and their own request.
struct PausesOnFirst {
    pid: Arc<OnceLock<u32>>,
    paused: AtomicBool,
    delay: Duration,
}

impl Respond for PausesOnFirst {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if !self.paused.swap(true, Ordering::SeqCst) {
            let pid = self.pid.get().expect("the replica started before it asked");
            let sent = Command::new("kill")
                .args(["-STOP".to_owned(), pid.to_string()])
                .status()
                .unwrap();
            assert!(sent.success(), "kill -STOP");
        }
        ResponseTemplate::new(200)
            .set_body_json(json!({
                "access_token": "stale-access",
                "refresh_token": "stale-refresh",
                "expires_in": 3600,
            }))
            .set_delay(self.delay)
    }
}

#[tokio::test]
async fn a_replica_paused_past_its_leases_overwrites_nothing_when_it_resumes() {
    let app = spawn_app().await;
    let orgs = seed_due_linkedin(&app, 40).await;
    // The first replica claims every connection and is paused the moment its first token
    // request reaches the provider.
    let pid = Arc::new(OnceLock::new());
    let slow = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(PausesOnFirst {
            pid: pid.clone(),
            paused: AtomicBool::new(false),
            delay: Duration::from_secs(6),
        })
        .mount(&slow)
        .await;
    let paused = Replica::linkedin(&app, &slow.uri(), LEASE_SECS);
    pid.set(paused.0.id()).unwrap();
    first_request_to(&slow).await;
    let in_flight = settled_requests_to(&slow).await;

    // Its leases lapse; the second replica renews every connection.
    let (token_server, presented) = counting_server().await;
    let second = Replica::linkedin(&app, &token_server.uri(), LEASE_SECS);
    assert!(until(60, || presented.lock().unwrap().len() >= orgs.len()).await);
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Resumed, the paused replica gets its stale answers and holds leases that lapsed: it must
    // write none of them and present no token again.
    paused.signal("CONT");
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        requests_to(&slow).await,
        in_flight,
        "the resumed replica sent nothing more"
    );
    for request in slow.received_requests().await.unwrap() {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        assert!(
            !body.contains("-next"),
            "a newer token was presented: {body}"
        );
    }
    drop((paused, second));
    let presented = presented.lock().unwrap().clone();
    assert_renewed_once(&app, &orgs, &presented).await;
    let stale = app
        .raw_rows("SELECT id FROM connection_events WHERE message LIKE '%another refresh%'")
        .await
        .len();
    assert!(
        stale <= in_flight,
        "each stale answer of the paused replica is recorded as a lost race at most once"
    );
}

#[tokio::test]
async fn two_replicas_keep_shopify_connected_across_five_token_lifetimes() {
    const LIFETIME: u64 = 20;
    const FRESH: usize = 6;
    const OLD: usize = 3;
    let app = spawn_app_with(Options {
        sandbox: true,
        configure: |s| {
            s.background.sandbox_shopify_token_lifetime = Duration::from_secs(LIFETIME);
        },
        ..Options::default()
    })
    .await;
    // Stores connected through the sandbox with expiring tokens, and stores still on a
    // non-expiring token from before (moved to expiring ones by exactly one replica).
    let mut owners = Vec::new();
    for n in 0..FRESH + OLD {
        let (owner, org) = app.owner_with_org().await;
        let shop = format!("store-{n}.myshopify.com");
        if n < FRESH {
            let shopify = connect(&app, &owner.token, &org, "shopify", json!({"shop": shop})).await;
            assert_eq!(shopify["status"], "connected");
        } else {
            let old = non_expiring_shopify_token(&app, &owner.token, &org, &shop).await;
            app.seed_oauth_connection(&org, "shopify", &old, &[("shop", &shop)])
                .await;
        }
        owners.push((owner, org));
    }
    // Both replicas use this app's sandbox (the provider), which counts what it is shown.
    let sandboxed = || {
        Replica::start(
            &app.database_url,
            app.encryption_keys.expose_secret(),
            &[
                ("PLUGBOARD_SANDBOX", "true".to_owned()),
                ("PLUGBOARD_PUBLIC_URL", app.address.clone()),
            ],
        )
    };
    let replicas = [sandboxed(), sandboxed()];
    let started = std::time::Instant::now();
    let mut checks = 0;
    while started.elapsed() < Duration::from_secs(LIFETIME * 5) {
        let now = chrono::Utc::now();
        for row in app
            .raw_rows("SELECT status, token_expires_at FROM connections WHERE provider = 'shopify'")
            .await
        {
            let status: String = row.try_get("", "status").unwrap();
            assert_eq!(status, "connected", "after {:?}", started.elapsed());
            // The old tokens have no expiry until the first sweep exchanges them.
            if let Some(expires) = row
                .try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "token_expires_at")
                .unwrap()
            {
                assert!(
                    expires > now,
                    "a token lapsed after {:?}",
                    started.elapsed()
                );
            }
        }
        checks += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(replicas);
    assert!(checks > 100);

    let activity: Value = app
        .client
        .get(app.url("/sandbox/_activity"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shopify = &activity["shopify"];
    assert_eq!(
        shopify["replays"], 0,
        "each one-time token presented once: {activity}"
    );
    assert_eq!(
        shopify["exchanges"], OLD,
        "each old token exchanged once: {activity}"
    );
    // A 20-second token is renewed with 10 seconds left: about ten times in five lifetimes.
    let refreshes = shopify["refreshes"].as_u64().unwrap() as usize;
    assert!(refreshes >= (FRESH + OLD) * 5, "{activity}");
    for (owner, org) in &owners {
        let shopify = app.integration(&owner.token, org, "shopify").await;
        assert_eq!(shopify["status"], "connected");
        assert_eq!(shopify["credentials"]["refresh_token"]["configured"], true);
        let history = app.event_actions(&owner.token, org, "shopify").await;
        assert!(history.iter().filter(|a| *a == "refresh").count() >= 5);
    }
    let failed = app
        .raw_rows("SELECT message FROM connection_events WHERE success = false")
        .await;
    assert!(failed.is_empty(), "no refresh failed");
}
