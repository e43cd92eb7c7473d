//! Settings, read once from the environment. Secrets only ever come from the environment (or,
//! in the embedded default, from files generated under ./data).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use domain::crypto::KeyRing;
use domain::registry::{Provider, Registry};
use persistence::Backend;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Platform variables readiness reports on beyond the providers' own.
pub const EXTRA_PLATFORM_ENV: &[&str] = &[
    "MICROSOFT_CLIENT_ID",
    "MICROSOFT_CLIENT_SECRET",
    "MICROSOFT_TENANT_ID",
    "GOOGLE_SIGNIN_CLIENT_ID",
    "GOOGLE_SIGNIN_CLIENT_SECRET",
    "SMTP_URL",
    "SMTP_FROM",
];

pub struct Settings {
    pub bind: String,
    pub web_dir: PathBuf,
    pub database_url: String,
    pub encryption_keys: SecretString,
    /// The key ring was generated into the data folder (embedded default), not set by the operator.
    pub encryption_keys_generated: bool,
    pub jwt_secret: SecretString,
    /// The JWT secret was generated into the data folder, not set by the operator.
    pub jwt_secret_generated: bool,
    pub public_url: Url,
    /// `PLUGBOARD_PUBLIC_URL` was set; otherwise the URL is guessed from `PLUGBOARD_BIND`.
    pub public_url_explicit: bool,
    pub admin_emails: Vec<String>,
    pub allow_private_network: bool,
    /// `PLUGBOARD_CORS_ORIGINS`: the origins (`https://app.partner.example`) whose pages may
    /// call the API from a browser; none by default.
    pub cors_origins: Vec<String>,
    /// Requests a minute per organization and per caller on the organization's routes.
    pub rate_limits: crate::ratelimit::RateLimitSettings,
    /// `provider=http://host:port,…`, set by operators for tests.
    pub provider_base_urls: String,
    pub provider_timeout: Duration,
    /// `PLUGBOARD_KEPT_LISTS`: how many organizations' integration lists are kept rendered.
    pub kept_lists: usize,
    /// The platform's own provider credentials, by variable name; only the set ones.
    pub platform_env: BTreeMap<String, SecretString>,
    /// `PLUGBOARD_SANDBOX`: the provider sandbox is mounted and every provider points at it.
    pub sandbox: bool,
    /// Platform variables the sandbox filled in because the operator left them unset; they
    /// work against the sandbox only and never count as configured.
    pub sandbox_env: BTreeSet<String>,
    /// The background worker's settings.
    pub background: Background,
    /// `PLUGBOARD_PASSWORD_HASH_CONCURRENCY` (default: the number of CPUs): how many passwords
    /// are hashed at once, each with 19 MiB of memory.
    pub password_hash_threads: usize,
    /// Log-in and sign-up allowances.
    pub throttles: crate::auth::ThrottleSettings,
    /// The provider proxy's limits.
    pub proxy: ProxySettings,
    /// Signing in with Microsoft and Google.
    pub sso: SsoSettings,
}

/// The variables each sign-in provider needs; it is on when all are set (or the sandbox
/// stands in for them).
pub const SSO_ENV: &[(domain::sso::SsoProvider, &[&str])] = &[
    (
        domain::sso::SsoProvider::Microsoft,
        &[
            "MICROSOFT_CLIENT_ID",
            "MICROSOFT_CLIENT_SECRET",
            "MICROSOFT_TENANT_ID",
        ],
    ),
    (
        domain::sso::SsoProvider::Google,
        &["GOOGLE_SIGNIN_CLIENT_ID", "GOOGLE_SIGNIN_CLIENT_SECRET"],
    ),
];

/// Where the identity providers are. Real hosts by default; the sandbox and tests point them
/// elsewhere, by configuration only.
#[derive(Clone, Debug, Default)]
pub struct SsoSettings {
    /// `PLUGBOARD_SSO_MICROSOFT_BASE_URL`: stands for `https://login.microsoftonline.com`.
    pub microsoft_base: Option<Url>,
    /// `PLUGBOARD_SSO_GOOGLE_BASE_URL`: stands for `https://accounts.google.com`.
    pub google_base: Option<Url>,
}

/// How much the provider proxy carries and how long it waits.
#[derive(Clone, Copy, Debug)]
pub struct ProxySettings {
    /// `PLUGBOARD_PROXY_TIMEOUT_SECS` (default 30): the whole upstream call, answer included.
    pub timeout: Duration,
    /// `PLUGBOARD_PROXY_MAX_ANSWER_MB` (default 50): a larger declared answer is a 502
    /// `upstream_too_large`; a streamed one is cut there.
    pub max_answer: u64,
    /// The largest request body forwarded (10 MB); a larger one is a 413 and nothing is sent.
    pub max_request: usize,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            timeout: Duration::from_secs(30),
            max_answer: 50 * 1024 * 1024,
            max_request: 10 * 1024 * 1024,
        }
    }
}

/// The background worker: token refresh, health checks and notification delivery.
#[derive(Clone)]
pub struct Background {
    /// `PLUGBOARD_WORKER` (default true): false makes an API-only replica.
    pub enabled: bool,
    /// `PLUGBOARD_REFRESH_INTERVAL_SECS` (default 60): how often the refresh sweep runs.
    pub refresh_interval: Duration,
    /// `PLUGBOARD_REFRESH_LEASE_SECS` (default 120): how long a refresh holds its connection's
    /// lease. Another replica takes the connection over only after it lapses, so it must be
    /// longer than a token request can take (the provider timeout).
    pub refresh_lease: Duration,
    /// `PLUGBOARD_HEALTH_CHECK_INTERVAL_SECS` (default a day): how often each connection's
    /// verify request is re-run.
    pub health_check_every: Duration,
    /// How often the outbox is looked at for due notifications.
    pub delivery_interval: Duration,
    /// `PLUGBOARD_SMTP_URL` (`smtp://user:pass@host:port`, `smtps://…`): e-mail notifications.
    pub smtp_url: Option<SecretString>,
    /// `PLUGBOARD_SMTP_FROM`: the sender of notification e-mails.
    pub smtp_from: String,
    /// `PLUGBOARD_SANDBOX_SHOPIFY_TOKEN_SECS` (default 3600): how long the sandbox's Shopify
    /// access tokens live, so tests can watch several lifetimes pass.
    pub sandbox_shopify_token_lifetime: Duration,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            enabled: true,
            refresh_interval: Duration::from_secs(60),
            refresh_lease: Duration::from_secs(120),
            health_check_every: Duration::from_secs(24 * 3600),
            delivery_interval: Duration::from_secs(1),
            smtp_url: None,
            smtp_from: "Plugboard <notifications@plugboard.localhost>".to_owned(),
            sandbox_shopify_token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// Integration lists kept rendered by default: about 25 KB each, so at most some 6 MB.
pub const KEPT_LISTS: u32 = 256;

impl Settings {
    /// Reads the environment. In the embedded default (no `DATABASE_URL`) missing keys are
    /// generated into `data_dir` with a warning; with PostgreSQL they must be set.
    pub fn from_env(registry: &Registry) -> anyhow::Result<Settings> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let data_dir =
            PathBuf::from(var("PLUGBOARD_DATA_DIR").unwrap_or_else(|| "data".to_owned()));
        let embedded = var("DATABASE_URL").is_none();
        let database_url = match var("DATABASE_URL") {
            Some(url) => url,
            None => {
                std::fs::create_dir_all(&data_dir)
                    .with_context(|| format!("creating the data folder {}", data_dir.display()))?;
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("plugboard.sqlite").display()
                )
            }
        };
        if Backend::of(&database_url).is_none() {
            bail!("DATABASE_URL must start with sqlite:// or postgres://");
        }
        let (encryption_keys, encryption_keys_generated) = secret_or_generated(
            var("PLUGBOARD_ENCRYPTION_KEYS"),
            "PLUGBOARD_ENCRYPTION_KEYS",
            embedded,
            &data_dir.join("encryption.keys"),
            || {
                Ok(KeyRing::generate_entry("local1")?
                    .expose_secret()
                    .to_owned())
            },
        )?;
        let (jwt_secret, jwt_secret_generated) = secret_or_generated(
            var("PLUGBOARD_JWT_SECRET"),
            "PLUGBOARD_JWT_SECRET",
            embedded,
            &data_dir.join("jwt.secret"),
            random_secret,
        )?;
        let bind = var("PLUGBOARD_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let public_url_explicit = var("PLUGBOARD_PUBLIC_URL").is_some();
        let public_url = match var("PLUGBOARD_PUBLIC_URL") {
            Some(url) => Url::parse(&url).context("PLUGBOARD_PUBLIC_URL is not a URL")?,
            None => {
                Url::parse(&format!("http://{bind}")).context("PLUGBOARD_BIND is not host:port")?
            }
        };
        let flag = |name: &str, default: bool| -> anyhow::Result<bool> {
            match var(name).as_deref() {
                None => Ok(default),
                Some("true" | "1" | "yes") => Ok(true),
                Some("false" | "0" | "no") => Ok(false),
                Some(other) => bail!("{name} must be true or false, not `{other}`"),
            }
        };
        let mut names: Vec<&str> = registry
            .providers()
            .iter()
            .flat_map(|p| p.platform_env.iter().map(String::as_str))
            .chain(inbound_secret_envs(registry))
            .chain(EXTRA_PLATFORM_ENV.iter().copied())
            .collect();
        names.sort_unstable();
        names.dedup();
        let platform_env = names
            .into_iter()
            .filter_map(|name| var(name).map(|v| (name.to_owned(), SecretString::from(v))))
            .collect();
        // The sandbox is for local work: on by default only with the embedded database.
        let sandbox = flag("PLUGBOARD_SANDBOX", embedded)?;
        let secs = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            match var(name) {
                None => Ok(default),
                Some(text) => match text.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
                    _ => bail!("{name} must be a whole number of seconds above 0, not `{text}`"),
                },
            }
        };
        let defaults = Background::default();
        let background = Background {
            enabled: flag("PLUGBOARD_WORKER", true)?,
            refresh_interval: secs("PLUGBOARD_REFRESH_INTERVAL_SECS", defaults.refresh_interval)?,
            refresh_lease: secs("PLUGBOARD_REFRESH_LEASE_SECS", defaults.refresh_lease)?,
            health_check_every: secs(
                "PLUGBOARD_HEALTH_CHECK_INTERVAL_SECS",
                defaults.health_check_every,
            )?,
            delivery_interval: defaults.delivery_interval,
            smtp_url: var("PLUGBOARD_SMTP_URL").map(SecretString::from),
            smtp_from: var("PLUGBOARD_SMTP_FROM").unwrap_or(defaults.smtp_from),
            sandbox_shopify_token_lifetime: secs(
                "PLUGBOARD_SANDBOX_SHOPIFY_TOKEN_SECS",
                defaults.sandbox_shopify_token_lifetime,
            )?,
        };
        let mut settings = Settings {
            bind,
            web_dir: PathBuf::from(
                var("PLUGBOARD_WEB_DIR").unwrap_or_else(|| "frontend/dist".to_owned()),
            ),
            database_url,
            encryption_keys,
            encryption_keys_generated,
            jwt_secret,
            jwt_secret_generated,
            public_url,
            public_url_explicit,
            admin_emails: var("PLUGBOARD_ADMIN_EMAILS")
                .map(|list| {
                    list.split(',')
                        .map(|e| e.trim().to_lowercase())
                        .filter(|e| !e.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            allow_private_network: flag("PLUGBOARD_ALLOW_PRIVATE_NETWORK", false)?,
            cors_origins: origins(var("PLUGBOARD_CORS_ORIGINS").as_deref().unwrap_or_default())?,
            rate_limits: {
                let defaults = crate::ratelimit::RateLimitSettings::default();
                crate::ratelimit::RateLimitSettings {
                    org_per_minute: number(
                        "PLUGBOARD_RATE_LIMIT_ORG_PER_MINUTE",
                        defaults.org_per_minute,
                        1,
                    )?,
                    caller_per_minute: number(
                        "PLUGBOARD_RATE_LIMIT_CALLER_PER_MINUTE",
                        defaults.caller_per_minute,
                        1,
                    )?,
                }
            },
            provider_base_urls: var("PLUGBOARD_PROVIDER_BASE_URLS").unwrap_or_default(),
            provider_timeout: Duration::from_secs(10),
            kept_lists: number("PLUGBOARD_KEPT_LISTS", KEPT_LISTS, 0)? as usize,
            platform_env,
            sandbox: false,
            sandbox_env: BTreeSet::new(),
            background,
            password_hash_threads: number(
                "PLUGBOARD_PASSWORD_HASH_CONCURRENCY",
                default_hash_threads(),
                1,
            )? as usize,
            throttles: Default::default(),
            proxy: ProxySettings {
                timeout: secs(
                    "PLUGBOARD_PROXY_TIMEOUT_SECS",
                    ProxySettings::default().timeout,
                )?,
                max_answer: u64::from(number("PLUGBOARD_PROXY_MAX_ANSWER_MB", 50, 1)?)
                    * 1024
                    * 1024,
                max_request: ProxySettings::default().max_request,
            },
            sso: SsoSettings::default(),
        };
        let base_url = |name: &str| -> anyhow::Result<Option<Url>> {
            var(name)
                .map(|text| Url::parse(&text).with_context(|| format!("{name} is not a URL")))
                .transpose()
        };
        settings.sso = SsoSettings {
            microsoft_base: base_url("PLUGBOARD_SSO_MICROSOFT_BASE_URL")?,
            google_base: base_url("PLUGBOARD_SSO_GOOGLE_BASE_URL")?,
        };
        if sandbox {
            settings.enable_sandbox(registry);
        }
        Ok(settings)
    }

    /// Turns the sandbox on: the providers' platform variables the operator did not set get
    /// sandbox stand-ins, so every provider can be connected locally with no app of our own.
    pub fn enable_sandbox(&mut self, registry: &Registry) {
        self.sandbox = true;
        let names = registry
            .providers()
            .iter()
            .flat_map(|p| p.platform_env.iter().map(String::as_str))
            .chain(inbound_secret_envs(registry))
            .chain(SSO_ENV.iter().flat_map(|(_, names)| names.iter().copied()));
        for name in names.map(str::to_owned).collect::<Vec<_>>() {
            if !self.platform_env.contains_key(&name) {
                let value = match name.as_str() {
                    // The sandbox's Entra plays this tenant as the brand's own.
                    "MICROSOFT_TENANT_ID" => sandbox::sso::HOME_TENANT.to_owned(),
                    _ => format!("sandbox-{}", name.to_lowercase().replace('_', "-")),
                };
                self.platform_env
                    .insert(name.clone(), SecretString::from(value));
                self.sandbox_env.insert(name);
            }
        }
    }

    /// How far the platform's own app for a provider is set up. The one answer the catalog,
    /// OAuth, feature flags and platform readiness all give.
    pub fn platform_app<'p>(&self, provider: &'p Provider) -> PlatformApp<'p> {
        PlatformApp {
            missing: provider
                .platform_env
                .iter()
                .filter(|name| !self.operator_set(name))
                .map(String::as_str)
                .collect(),
            usable: provider
                .platform_env
                .iter()
                .all(|name| self.platform_env.contains_key(name)),
        }
    }

    /// Whether the operator set a platform variable (a sandbox stand-in does not count).
    pub fn operator_set(&self, name: &str) -> bool {
        self.platform_env.contains_key(name) && !self.sandbox_env.contains(name)
    }

    pub fn backend(&self) -> Backend {
        Backend::of(&self.database_url).unwrap_or(Backend::Sqlite)
    }

    pub fn is_platform_admin(&self, email: &str) -> bool {
        self.admin_emails
            .iter()
            .any(|admin| admin.eq_ignore_ascii_case(email))
    }
}

fn random_secret() -> anyhow::Result<String> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 48];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The variables holding the providers' webhook secrets (`STRIPE_WEBHOOK_SECRET` is no app
/// credential, so no provider's `platform_env` lists it).
fn inbound_secret_envs(registry: &Registry) -> impl Iterator<Item = &str> {
    registry
        .providers()
        .iter()
        .filter_map(|p| p.inbound.as_ref().map(|i| i.secret_env.as_str()))
}

/// The secret a provider's webhooks are verified with, when it is set (or stood in for by the
/// sandbox).
impl Settings {
    pub fn inbound_secret(&self, provider: &Provider) -> Option<&SecretString> {
        self.platform_env
            .get(&provider.inbound.as_ref()?.secret_env)
    }
}

/// A secret from the environment; in the embedded default, one kept in (or first written to)
/// a file readable only by this user. The flag says it came from that file (readiness reports it).
fn secret_or_generated(
    from_env: Option<String>,
    name: &str,
    embedded: bool,
    file: &Path,
    generate: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<(SecretString, bool)> {
    if let Some(value) = from_env {
        return Ok((SecretString::from(value), false));
    }
    if !embedded {
        bail!(
            "{name} must be set when DATABASE_URL points at PostgreSQL; refusing to start without it"
        );
    }
    if let Ok(existing) = std::fs::read_to_string(file) {
        return Ok((SecretString::from(existing.trim().to_owned()), true));
    }
    let value = generate()?;
    write_private(file, &value).with_context(|| format!("writing {}", file.display()))?;
    tracing::warn!(
        file = %file.display(),
        "{name} is not set: generated one for this machine only. Set {name} before storing anything you need to keep."
    );
    Ok((SecretString::from(value), true))
}

fn write_private(file: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(file)?.write_all(value.as_bytes())
}

/// A provider's platform app, as the operator has (or has not) set it up.
pub struct PlatformApp<'p> {
    /// Platform variables the operator has not set (sandbox stand-ins included).
    pub missing: Vec<&'p str>,
    /// Connections can be made now: every variable is set, by the operator or, with the
    /// sandbox on, by a stand-in that works against the sandbox only.
    pub usable: bool,
}

/// A whole number of at least `least` from the environment, or `default` when unset.
/// One password hash at a time per CPU: more would only queue inside the kernel.
pub fn default_hash_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1)
}

fn number(name: &str, default: u32, least: u32) -> anyhow::Result<u32> {
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<u32>() {
            Ok(n) if n >= least => Ok(n),
            _ => bail!("{name} must be a whole number of at least {least}, not `{text}`"),
        },
    }
}

/// Parses `PLUGBOARD_CORS_ORIGINS`: a comma list of origins, each a scheme and host (and port)
/// with nothing after them.
fn origins(list: &str) -> anyhow::Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let url = Url::parse(origin)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .filter(|u| u.path() == "/" && u.query().is_none() && !origin.ends_with('/'))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "PLUGBOARD_CORS_ORIGINS: `{origin}` is not an origin; write it as https://host or https://host:port"
                    )
                })?;
            Ok(url.origin().ascii_serialization())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::origins;

    #[test]
    fn cors_origins_are_origins_only() {
        assert_eq!(
            origins(" https://app.partner.example , http://localhost:5173").unwrap(),
            ["https://app.partner.example", "http://localhost:5173"]
        );
        assert!(origins("").unwrap().is_empty());
        for bad in [
            "partner.example",
            "https://partner.example/",
            "https://p.example/app",
            "ftp://p.example",
            "*",
        ] {
            assert!(origins(bad).is_err(), "{bad}");
        }
    }
}
