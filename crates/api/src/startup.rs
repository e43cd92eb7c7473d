//! Building and running the application: `Application::build(settings)` then
//! `run_until_stopped()`, so tests start the real thing on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::{Context, bail};
use domain::crypto::{CryptoError, KeyRing, Purpose, PurposeKey, SecretAad};
use domain::oauth::StateSigner;
use domain::registry::Registry;
use persistence::Db;
use sandbox::{Sandbox, SandboxConfig};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::{JwtKeys, Passwords, Throttles};
use crate::config::Settings;
use crate::outbound::ProviderHttp;
use crate::state::AppState;
use crate::{fallback, openapi, request_errors, routes};

pub struct Application {
    port: u16,
    server: Server,
}

/// Opens the database, runs migrations and checks that the key ring opens every stored secret.
pub async fn prepare(settings: &Settings) -> anyhow::Result<(Db, KeyRing)> {
    let (db, keys) = open(settings).await?;
    check_key_ring(&db, &keys).await?;
    Ok((db, keys))
}

/// The key ring and the database, migrated; nothing is opened yet (`check-keys` reports on a
/// ring that may be missing a key).
pub async fn open(settings: &Settings) -> anyhow::Result<(Db, KeyRing)> {
    let keys = KeyRing::parse(&settings.encryption_keys).context("PLUGBOARD_ENCRYPTION_KEYS")?;
    let db = persistence::connect(&settings.database_url)
        .await
        .context("connecting to the database")?;
    persistence::migrate(&db)
        .await
        .context("applying migrations")?;
    Ok((db, keys))
}

/// Opens one stored secret per key id: the ring must hold the very keys that sealed them.
async fn check_key_ring(db: &Db, keys: &KeyRing) -> anyhow::Result<()> {
    let mut samples = persistence::connections::one_sealed_per_key(db).await?;
    samples.extend(persistence::notifications::one_sealed_per_key(db).await?);
    for sample in samples {
        let aad = SecretAad {
            org_id: sample.org_id,
            provider: &sample.provider,
            field: &sample.field,
        };
        match keys.decrypt(&aad, &sample.ciphertext) {
            Ok(_) => {}
            Err(CryptoError::UnknownKey(kid)) => bail!(
                "stored secrets are sealed with key `{kid}`, which PLUGBOARD_ENCRYPTION_KEYS does not hold; add it back (after the active key) and run `plugboard rotate-keys` before retiring it"
            ),
            Err(_) => bail!(
                "key `{}` in PLUGBOARD_ENCRYPTION_KEYS is not the key that sealed the stored secrets (they do not open with it); restore the original key material",
                sample.key_id
            ),
        }
    }
    Ok(())
}

/// The registry with the sandbox and the operator's host redirects applied.
pub fn registry(settings: &Settings) -> anyhow::Result<Registry> {
    let mut registry = Registry::builtin()?;
    if settings.sandbox {
        registry = registry.with_sandbox(&settings.public_url)?;
    }
    Ok(registry.with_base_urls(&settings.provider_base_urls)?)
}

fn sandbox(settings: &Settings, registry: &Arc<Registry>) -> Option<web::Data<Sandbox>> {
    if !settings.sandbox {
        return None;
    }
    tracing::warn!(
        url = %settings.public_url.join("/sandbox").map(|u| u.to_string()).unwrap_or_default(),
        "the provider sandbox is on: every provider points at it, not at the real service; set PLUGBOARD_SANDBOX=false to reach real providers"
    );
    Some(web::Data::new(Sandbox::new(SandboxConfig {
        registry: registry.clone(),
        platform_env: settings.platform_env.clone(),
        public_url: settings.public_url.clone(),
        secret: settings.jwt_secret.clone(),
        // Longer than Plugboard waits, so `slow` shows as a timeout.
        slow_delay: settings.provider_timeout + Duration::from_secs(5),
        shopify_token_lifetime: settings.background.sandbox_shopify_token_lifetime,
        admin_emails: settings.admin_emails.clone(),
    })))
}

/// Cross-origin calls from the partner front ends named in `PLUGBOARD_CORS_ORIGINS`, with a
/// bearer token (no cookies); the headers a client reads are exposed to it.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("ratelimit"),
            header::HeaderName::from_static("ratelimit-policy"),
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

impl Application {
    pub async fn build(mut settings: Settings) -> anyhow::Result<Application> {
        let (db, keys) = prepare(&settings).await?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        if !settings.public_url_explicit {
            // Guessed from the bind address: use the port actually bound (`:0` picks one).
            let _ = settings.public_url.set_port(Some(port));
        }
        let registry = Arc::new(registry(&settings)?);
        let sandbox = sandbox(&settings, &registry);
        let state = web::Data::new(AppState {
            db,
            registry,
            keys: Arc::new(keys),
            jwt: JwtKeys::new(&PurposeKey::derive(
                &settings.jwt_secret,
                Purpose::AccessTokens,
            )),
            states: StateSigner::new(&PurposeKey::derive(
                &settings.jwt_secret,
                Purpose::OAuthState,
            )),
            http: ProviderHttp::new(settings.provider_timeout, settings.allow_private_network)?,
            settings: Arc::new(settings),
            listings: Arc::new(crate::services::resources::listing_cache()),
            recent_callers: Arc::new(crate::auth::recent_callers()),
            recent_connections: Arc::new(crate::services::proxy::recent_connections()),
            sso: Default::default(),
        });
        let metrics = Arc::new(crate::worker::metrics::Metrics::default());
        if state.settings.background.enabled {
            crate::worker::Worker::new(state.clone(), metrics.clone()).spawn();
        }
        let metrics = web::Data::from(metrics);
        let routes = web::Data::new(fallback::RouteTable::from_openapi(&openapi::document()));
        let throttles = web::Data::new(Throttles::new(state.settings.throttles));
        tokio::spawn(Throttles::forget_lapsed(
            throttles.clone().into_inner(),
            state.db.clone(),
        ));
        let passwords = web::Data::new(
            Passwords::new(state.settings.password_hash_threads)
                .context("starting the password hashing threads")?,
        );
        let latencies = web::Data::new(crate::latency::Latencies::default());
        let proxy_metrics = web::Data::new(crate::proxy_metrics::ProxyMetrics::default());
        let answers = web::Data::new(routes::AnswerCache::new(state.settings.kept_lists));
        let rate_limits = web::Data::new(crate::ratelimit::RateLimits::new(
            state.settings.rate_limits,
        ));
        tokio::spawn(crate::ratelimit::RateLimits::forget_idle_every_minute(
            rate_limits.clone().into_inner(),
        ));
        let web_dir = state.settings.web_dir.clone();
        let document = web::Data::new(openapi::Served::new()?);
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .openapi(openapi::base())
                .app_data(state.clone())
                .app_data(routes.clone())
                .app_data(throttles.clone())
                .app_data(passwords.clone())
                .app_data(rate_limits.clone())
                .app_data(metrics.clone())
                .app_data(latencies.clone())
                .app_data(proxy_metrics.clone())
                .app_data(answers.clone())
                .app_data(request_errors::json_config())
                .app_data(request_errors::payload_config())
                .app_data(request_errors::path_config())
                .app_data(request_errors::query_config())
                .configure(routes::configure)
                .split_for_parts();
            app.service(web::redirect("/api/docs", "/api/docs/"))
                .service(
                    // Guarded as a whole, so another method falls through to the
                    // fallback's 405 problem like every other route.
                    web::resource("/api/openapi.json")
                        .guard(actix_web::guard::Get())
                        .app_data(document.clone())
                        .to(openapi::serve),
                )
                .service(
                    SwaggerUi::new("/api/docs/{_:.*}")
                        .config(SwaggerConfig::from("/api/openapi.json")),
                )
                .configure(|cfg| {
                    if let Some(sandbox) = &sandbox {
                        cfg.route(
                            "/sandbox/_modes/{provider}",
                            web::post().to(routes::sandbox::set_mode),
                        );
                        sandbox::configure(cfg, sandbox.clone());
                    }
                })
                .service(fallback::spa(&web_dir))
                .default_service(web::to(fallback::not_found))
                .wrap(Condition::new(
                    !state.settings.cors_origins.is_empty(),
                    cors(&state.settings.cors_origins),
                ))
                .wrap(from_fn(crate::input::outside_organizations))
                .wrap(from_fn(request_errors::problems_only))
                .wrap(from_fn(crate::headers::security_headers))
                .wrap(from_fn(crate::telemetry::request_id))
                .wrap(from_fn(crate::latency::measure))
                .wrap(TracingLogger::<crate::telemetry::RequestSpan>::new())
        })
        // Streamed answers (the proxy's) go out as a head and then chunks: without this,
        // Nagle's algorithm holds each small write until the client's delayed ACK.
        .on_connect(|connection, _| {
            if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
