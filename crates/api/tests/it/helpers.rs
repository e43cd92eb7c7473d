//! `spawn_app()`: the real application on port 0 against a fresh database (a SQLite file, or a
//! new PostgreSQL database when `TEST_DATABASE_URL` is set), with every provider's hosts
//! pointed at this test's own wiremock server. The database is dropped afterwards.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use api::config::Settings;
use api::startup::Application;
use domain::crypto::KeyRing;
use domain::registry::Registry;
use reqwest::{Method, Response};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::MockServer;

/// Shopify's GraphQL Admin endpoint on the API version the registry pins.
pub const SHOPIFY_GRAPHQL: &str = "/admin/api/2026-10/graphql.json";

/// Everything the application logged, for the tests that prove secrets never reach a log.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn contains(&self, needle: &str) -> bool {
        let bytes = self.0.lock().unwrap();
        String::from_utf8_lossy(&bytes).contains(needle)
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        if std::env::var("TEST_LOG").is_ok() {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One subscriber for the whole test binary, at debug level, writing into `Logs`.
pub fn logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug,h2=info,hyper=info,hyper_util=info,rustls=info,sqlx=info,sea_orm=info,actix_server=info,wiremock=info")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        logs
    })
    .clone()
}

enum Database_ {
    Sqlite(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

pub struct TestApp {
    pub database_url: String,
    /// The key ring the app runs with, to start it again or seal secrets as it would.
    pub encryption_keys: SecretString,
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub provider: MockServer,
    pub db: DatabaseConnection,
    pub logs: Logs,
    database: Database_,
}

/// What a test can change before the app starts.
pub struct Options {
    pub platform_env: Vec<(&'static str, &'static str)>,
    pub admin_emails: Vec<String>,
    pub allow_private_network: bool,
    pub redirect_providers: bool,
    /// Mounts the provider sandbox and points every provider at it (instead of wiremock).
    pub sandbox: bool,
    /// `PLUGBOARD_PROVIDER_BASE_URLS` to use instead of pointing every provider at wiremock.
    pub provider_base_urls: Option<String>,
    pub timeout: Duration,
    /// Last changes to the settings before the app starts (e.g. secrets marked as generated).
    pub configure: fn(&mut Settings),
    /// Where the sign-in providers are (a test's own identity provider).
    pub sso: api::config::SsoSettings,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            platform_env: Vec::new(),
            admin_emails: Vec::new(),
            allow_private_network: false,
            redirect_providers: true,
            sandbox: false,
            provider_base_urls: None,
            timeout: Duration::from_secs(2),
            configure: |_| {},
            sso: Default::default(),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub fn is_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

async fn fresh_database() -> (String, Database_) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            let name = format!("plugboard_test_{id}");
            let admin = Database::connect(&admin_url)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            let mut url = Url::parse(&admin_url).unwrap();
            url.set_path(&format!("/{name}"));
            (url.to_string(), Database_::Postgres { admin_url, name })
        }
        _ => {
            let path = std::env::temp_dir().join(format!("plugboard-test-{id}.sqlite"));
            (
                format!("sqlite://{}?mode=rwc", path.display()),
                Database_::Sqlite(path),
            )
        }
    }
}

/// Settings for a test app on port 0, with a fresh encryption key `test1`.
pub fn test_settings(database_url: &str, provider_base_urls: String, options: Options) -> Settings {
    let mut settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        web_dir: std::env::temp_dir().join("plugboard-no-spa"),
        database_url: database_url.to_owned(),
        encryption_keys: KeyRing::generate_entry("test1").unwrap(),
        encryption_keys_generated: false,
        jwt_secret: SecretString::from("test-jwt-secret-that-is-long-enough-to-sign".to_owned()),
        jwt_secret_generated: false,
        public_url: Url::parse("http://127.0.0.1:0").unwrap(),
        public_url_explicit: false,
        admin_emails: options.admin_emails,
        allow_private_network: options.allow_private_network,
        cors_origins: Vec::new(),
        rate_limits: Default::default(),
        provider_base_urls,
        provider_timeout: options.timeout,
        kept_lists: api::config::KEPT_LISTS as usize,
        platform_env: options
            .platform_env
            .into_iter()
            .map(|(k, v)| (k.to_owned(), SecretString::from(v.to_owned())))
            .collect(),
        sandbox: false,
        sandbox_env: Default::default(),
        background: api::config::Background {
            enabled: false,
            ..Default::default()
        },
        password_hash_threads: api::config::default_hash_threads() as usize,
        throttles: Default::default(),
        proxy: Default::default(),
        sso: options.sso,
    };
    if options.sandbox {
        settings.enable_sandbox(&Registry::builtin().unwrap());
    }
    (options.configure)(&mut settings);
    settings
}

/// Starts the app with `settings` (on port 0) beside the test; its address.
pub async fn start_server(settings: Settings) -> anyhow::Result<String> {
    let server = Application::build(settings).await?;
    let address = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until_stopped());
    Ok(address)
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let logs = logs();
    let provider = MockServer::start().await;
    let (database_url, database) = fresh_database().await;
    let registry = Registry::builtin().unwrap();
    let base_urls = if let Some(base_urls) = &options.provider_base_urls {
        base_urls.clone()
    } else if options.redirect_providers && !options.sandbox {
        registry
            .providers()
            .iter()
            .map(|p| format!("{}={}", p.id, provider.uri()))
            .collect::<Vec<_>>()
            .join(",")
    } else {
        String::new()
    };
    let settings = test_settings(&database_url, base_urls, options);
    let encryption_keys = settings.encryption_keys.clone();
    let app = Application::build(settings).await.expect("the app starts");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let db = Database::connect(&database_url).await.unwrap();
    TestApp {
        database_url,
        encryption_keys,
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap(),
        provider,
        db,
        logs,
        database,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.database {
            Database_::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Database_::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a separate thread gets its own.
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A signed-up user with an access token.
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn signup(&self, name: &str) -> TestUser {
        let email = format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple());
        self.signup_as(name, &email).await
    }

    /// Signs up with a chosen e-mail (e.g. one listed in `Options.admin_emails`).
    pub async fn signup_as(&self, name: &str, email: &str) -> TestUser {
        let email = email.to_owned();
        let response = self
            .request(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({"email": email, "password": "correct horse battery", "name": name})),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        TestUser {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            email,
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn create_org(&self, owner: &TestUser, name: &str) -> String {
        let response = self
            .post("/api/v1/orgs", &owner.token, json!({"name": name}))
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// An owner with a fresh organization.
    pub async fn owner_with_org(&self) -> (TestUser, String) {
        let owner = self.signup("owner").await;
        let org = self.create_org(&owner, "Acme Brand").await;
        (owner, org)
    }

    /// Adds a new user to the organization with a role, as a person joins: invited, then
    /// accepting. Invitations grant admin at most; an owner is then promoted by the owner.
    pub async fn add_member(&self, owner: &TestUser, org: &str, role: &str) -> TestUser {
        let user = self.signup(role).await;
        let invited_as = if role == "owner" { "admin" } else { role };
        let invitation = json_body(
            self.post(
                &format!("/api/v1/orgs/{org}/invitations"),
                &owner.token,
                json!({"email": user.email, "role": invited_as}),
            )
            .await,
            201,
        )
        .await;
        let token = invitation["token"].as_str().unwrap();
        json_body(
            self.post(
                &format!("/api/v1/invitations/{token}/accept"),
                &user.token,
                json!({}),
            )
            .await,
            200,
        )
        .await;
        if role == "owner" {
            json_body(
                self.patch(
                    &format!("/api/v1/orgs/{org}/members/{}", user.id),
                    &owner.token,
                    json!({"role": "owner"}),
                )
                .await,
                200,
            )
            .await;
        }
        user
    }

    /// Stores a connected OAuth connection holding `access_token`, as the OAuth callback
    /// leaves it: the token sealed with the app's key ring and bound to
    /// `org_id|provider|access_token`, so the app opens it like one it stored itself.
    pub async fn seed_oauth_connection(
        &self,
        org: &str,
        provider: &str,
        access_token: &str,
        config: &[(&str, &str)],
    ) {
        use domain::crypto::SecretAad;
        use persistence::connections::{self, ConnectionWrite, Removal, SealedSecret};

        let org_id: domain::OrgId = org.parse().unwrap();
        let keys = KeyRing::parse(&self.encryption_keys).unwrap();
        let now = chrono::Utc::now();
        let config = config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let stored = connections::find(&self.db, org_id, provider).await.unwrap();
        // As the connect flow leaves it, verified just now: a running worker's health check
        // leaves it alone instead of testing it against a provider the test has not mocked.
        let connection = domain::model::Connection {
            status: domain::ConnectionStatus::Connected,
            enabled: true,
            config,
            last_tested_at: Some(now),
            connected_at: Some(now),
            disconnected_at: None,
            last_used: None,
            last_error: None,
            ..stored.unwrap_or_else(|| domain::model::Connection::unstored(org_id, provider, now))
        };
        let aad = SecretAad {
            org_id,
            provider,
            field: "access_token",
        };
        let sealed = SealedSecret {
            field: "access_token".to_owned(),
            ciphertext: keys.encrypt(&aad, access_token).unwrap(),
            key_id: keys.active_key_id().to_owned(),
            last4: None,
        };
        let event = domain::lifecycle::Event {
            action: domain::model::EventAction::Connect,
            success: true,
            code: None,
            message: "Seeded by the test.".to_owned(),
        };
        connections::save(
            &self.db,
            org_id,
            ConnectionWrite {
                connection,
                put: vec![sealed],
                remove: Removal::Nothing,
                event: &event,
                actor: &domain::model::Actor::System,
            },
        )
        .await
        .unwrap();
    }

    /// The actions of a connection's history, newest first.
    pub async fn event_actions(&self, token: &str, org: &str, provider: &str) -> Vec<String> {
        let events = json_body(
            self.get(
                &format!("/api/v1/orgs/{org}/integrations/{provider}/events"),
                token,
            )
            .await,
            200,
        )
        .await;
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Makes the stand-in provider answer `method path` with a JSON body.
    pub async fn answer(&self, method: &str, path: &str, status: u16, body: Value) {
        wiremock::Mock::given(wiremock::matchers::method(method))
            .and(wiremock::matchers::path(path))
            .respond_with(wiremock::ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.provider)
            .await;
    }

    /// The organization's integration with a provider, as the API answers it.
    pub async fn integration(&self, token: &str, org: &str, provider: &str) -> Value {
        let path = format!("/api/v1/orgs/{org}/integrations/{provider}");
        json_body(self.get(&path, token).await, 200).await
    }

    /// Reads raw rows, for checks of what is really stored.
    pub async fn raw_rows(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        self.db
            .query_all_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .unwrap()
    }

    /// Every value of one text or JSON column, as text.
    pub async fn column_text(&self, table: &str, column: &str) -> Vec<String> {
        self.raw_rows(&format!("SELECT {column} FROM {table}"))
            .await
            .iter()
            .filter_map(|row| {
                row.try_get::<Option<String>>("", column)
                    .ok()
                    .flatten()
                    .or_else(|| {
                        row.try_get::<Option<serde_json::Value>>("", column)
                            .ok()
                            .flatten()
                            .map(|v| v.to_string())
                    })
            })
            .collect()
    }

    /// Runs a statement with bound values, `$1`, `$2`… in PostgreSQL style (rewritten for SQLite).
    pub async fn execute_with(&self, sql: &str, values: Vec<sea_orm::Value>) {
        let backend = self.db.get_database_backend();
        let sql = if backend == sea_orm::DatabaseBackend::Sqlite {
            (1..=values.len())
                .rev()
                .fold(sql.to_owned(), |sql, n| sql.replace(&format!("${n}"), "?"))
        } else {
            sql.to_owned()
        };
        self.db
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .unwrap();
    }
}

/// The body of a problem+json answer, after checking its media type and status.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string()
            && body["detail"].is_string()
            && body["code"].is_string()
            && body["type"].is_string(),
        "{body}"
    );
    body
}

pub async fn json_body(response: Response, status: u16) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The platform's Shopify app, for tests that connect Shopify through OAuth.
pub fn with_shopify_app() -> Options {
    Options {
        platform_env: vec![
            ("SHOPIFY_API_KEY", "shop-client"),
            ("SHOPIFY_API_SECRET", "shop-secret"),
        ],
        ..Options::default()
    }
}

impl TestApp {
    /// Connects the organization's Shopify store through the real OAuth flow (start, the
    /// signed callback, the token exchange and the verify answered by the stand-in provider).
    /// The app must run `with_shopify_app()`; the store's access token is `access_token`.
    pub async fn connect_shopify(&self, token: &str, org: &str, shop: &str, access_token: &str) {
        self.answer(
            "POST",
            "/admin/oauth/access_token",
            200,
            json!({"access_token": access_token, "scope": "read_products,read_orders"}),
        )
        .await;
        // Shopify's check: GraphQL Admin `{ shop { name id } }` on the pinned version.
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path(SHOPIFY_GRAPHQL))
            .and(wiremock::matchers::body_string_contains("shop { name id }"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
                json!({"data": {"shop": {"name": "Acme Store", "id": "gid://shopify/Shop/1001"}}}),
            ))
            .mount(&self.provider)
            .await;
        let response = self.shopify_callback(token, org, shop).await;
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.contains("result=connected"), "{location}");
    }

    /// Starts Shopify's OAuth flow for `shop` and comes back to the callback as Shopify would
    /// (a code, the state, Shopify's HMAC signature): the callback's answer.
    pub async fn shopify_callback(&self, token: &str, org: &str, shop: &str) -> reqwest::Response {
        let started = json_body(
            self.post(
                &format!("/api/v1/orgs/{org}/integrations/shopify/oauth/start"),
                token,
                json!({"config": {"shop": shop}}),
            )
            .await,
            200,
        )
        .await;
        let mut params: std::collections::BTreeMap<String, String> = [
            ("code", "s-code"),
            ("shop", shop),
            ("state", started["state"].as_str().unwrap()),
            ("timestamp", "1700000000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let secret = SecretString::from("shop-secret".to_owned());
        params.insert(
            "hmac".to_owned(),
            domain::oauth::shopify_hmac(&params, &secret),
        );
        let mut url = Url::parse(&self.url("/api/v1/oauth/shopify/callback")).unwrap();
        url.query_pairs_mut().extend_pairs(&params);
        self.client.get(url).send().await.unwrap()
    }
}
