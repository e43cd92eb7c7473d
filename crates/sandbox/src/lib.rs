//! The provider sandbox: a stand-in for every provider in the registry, mounted under
//! `/sandbox/{provider}/{original host}/…` when `PLUGBOARD_SANDBOX=true`. It shows a consent
//! page (Approve / Deny), answers the token endpoint with each provider's quirks (PKCE checked,
//! codes single-use, refresh tokens rotated) and answers the verify requests with an account.
//!
//! It can be told to fail, per provider, from `/sandbox`: `revoked` (tokens issued before the
//! switch are refused, refresh answers `invalid_grant`), `unavailable` (503 everywhere) and `slow`
//! (answers later than Plugboard waits); a platform admin switches them. The API answers (see
//! `api`) have their own: `stale` (tokens issued before the switch get a 401, renewed ones
//! work), `rate_limited` (one call a second, others 429 with `Retry-After`), `huge` (a 64 MB
//! answer of unknown length) and `endless` (an answer that never ends). Keys pasted for
//! key-based providers are accepted unless they contain `invalid`. `GET /sandbox/_activity`
//! counts, per provider, the refreshes, token exchanges and refused replays of one-time tokens
//! it saw. Its control page also sends the webhooks a provider sends its app (an uninstall, a
//! revocation, each privacy request), signed as the provider signs them, to Plugboard.
//!
//! It also plays the identity providers people sign in with, Microsoft Entra and Google, under
//! `/sandbox/sso/…` (see `sso`).

mod api;
mod consent;
mod grants;
mod inbound;
mod listings;
mod page;
mod resources;
mod slack;
pub mod sso;
mod token;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use domain::crypto::{Purpose, PurposeKey};
use domain::registry::{Provider, Registry};
use secrecy::SecretString;
use serde::Serialize;
use url::Url;

use grants::{Grant, Kind, Signer};

/// How a provider behaves right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Healthy,
    /// The brand revoked access at this moment: earlier tokens no longer work.
    Revoked(DateTime<Utc>),
    Unavailable,
    Slow,
    /// API calls with a token issued before this moment get a 401; a renewed token works.
    Stale(DateTime<Utc>),
    /// The API takes one call a second; the others get a 429 with `Retry-After: 1`.
    RateLimited,
    /// API answers are 64 MB long, of undeclared length.
    Huge,
    /// API answers start and never end.
    Endless,
    /// The login reaches nothing any more: listings are empty and every ad account, pixel,
    /// customer, property, site, channel, calendar or list is refused (a chosen one
    /// disappeared; a login with no accounts).
    Unshared,
}

impl Mode {
    const CHOICES: [(&'static str, &'static str); 9] = [
        ("healthy", "Healthy"),
        (
            "revoked",
            "Access revoked (refresh fails with invalid_grant)",
        ),
        ("unavailable", "Down (503 on every request)"),
        ("slow", "Slow (answers after Plugboard gives up)"),
        (
            "stale",
            "Stale tokens (API calls with a token from before the switch get 401)",
        ),
        (
            "rate_limited",
            "Rate limited (one API call a second, others 429 with Retry-After)",
        ),
        ("huge", "Huge answers (64 MB, length undeclared)"),
        ("endless", "Endless answers (never finish)"),
        (
            "unshared",
            "Nothing shared (nothing to choose: no ad accounts, pixels, properties, channels or lists; a chosen one is gone)",
        ),
    ];

    fn name(self) -> &'static str {
        match self {
            Mode::Healthy => "healthy",
            Mode::Revoked(_) => "revoked",
            Mode::Unavailable => "unavailable",
            Mode::Slow => "slow",
            Mode::Stale(_) => "stale",
            Mode::RateLimited => "rate_limited",
            Mode::Huge => "huge",
            Mode::Endless => "endless",
            Mode::Unshared => "unshared",
        }
    }

    fn parse(name: &str) -> Option<Mode> {
        match name {
            "healthy" => Some(Mode::Healthy),
            "revoked" => Some(Mode::Revoked(Utc::now())),
            "unavailable" => Some(Mode::Unavailable),
            "slow" => Some(Mode::Slow),
            "stale" => Some(Mode::Stale(Utc::now())),
            "rate_limited" => Some(Mode::RateLimited),
            "huge" => Some(Mode::Huge),
            "endless" => Some(Mode::Endless),
            "unshared" => Some(Mode::Unshared),
            _ => None,
        }
    }
}

/// What the sandbox counts per provider, so a developer (or a test) can see how Plugboard
/// used it: `GET /sandbox/_activity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// A refresh token traded for new tokens.
    Refresh,
    /// A non-expiring token traded for expiring ones (Shopify's migration).
    Exchange,
    /// A one-time refresh token (or exchanged token) presented again, and refused.
    Replay,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ActivityCounts {
    pub refreshes: u64,
    pub exchanges: u64,
    pub replays: u64,
}

/// What the sandbox needs from the running service.
pub struct SandboxConfig {
    pub registry: Arc<Registry>,
    /// The platform's (or the sandbox's stand-in) app credentials, by variable name.
    pub platform_env: BTreeMap<String, SecretString>,
    /// Plugboard's public URL: redirect URIs must be its callback paths.
    pub public_url: Url,
    /// Signs the sandbox's codes and tokens.
    pub secret: SecretString,
    /// How long a `slow` provider takes: longer than Plugboard waits.
    pub slow_delay: Duration,
    /// How long Shopify's expiring offline access tokens live (60 minutes; less in tests).
    pub shopify_token_lifetime: Duration,
    /// `PLUGBOARD_ADMIN_EMAILS`: the `admin` sign-in persona is the first of them.
    pub admin_emails: Vec<String>,
}

pub struct Sandbox {
    config: SandboxConfig,
    signer: Signer,
    modes: Mutex<HashMap<String, Mode>>,
    /// Codes, one-time refresh tokens and exchanged tokens already used.
    redeemed_codes: Mutex<HashSet<String>>,
    activity: Mutex<BTreeMap<String, ActivityCounts>>,
    /// When each rate-limited provider last let an API call through.
    last_allowed: Mutex<HashMap<String, std::time::Instant>>,
    /// What was posted in the Slack workspace's channels.
    slack_messages: slack::Messages,
    /// The identity providers people sign in with.
    idps: sso::Idps,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Sandbox {
        let signer = Signer::new(&PurposeKey::derive(&config.secret, Purpose::SandboxGrants));
        Sandbox {
            config,
            signer,
            modes: Mutex::new(HashMap::new()),
            redeemed_codes: Mutex::new(HashSet::new()),
            activity: Mutex::new(BTreeMap::new()),
            last_allowed: Mutex::new(HashMap::new()),
            slack_messages: slack::Messages::default(),
            idps: sso::Idps::new(),
        }
    }

    pub fn mode(&self, provider: &str) -> Mode {
        self.modes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(provider)
            .copied()
            .unwrap_or(Mode::Healthy)
    }

    pub fn set_mode(&self, provider: &str, mode: Mode) {
        self.modes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(provider.to_owned(), mode);
    }

    /// Opens a grant that is unexpired and was issued after any revocation of the provider;
    /// an access token already exchanged for another no longer opens.
    fn open_live(&self, text: &str, kind: Kind, provider: &str) -> Option<Grant> {
        let revoked_since = match self.mode(provider) {
            Mode::Revoked(since) => Some(since),
            _ => None,
        };
        if kind == Kind::Access && self.is_redeemed(text) {
            return None;
        }
        self.signer.open(text, kind, provider).filter(|grant| {
            grant.is_live(Utc::now()) && revoked_since.is_none_or(|since| grant.issued_at > since)
        })
    }

    fn is_redeemed(&self, code: &str) -> bool {
        self.redeemed_codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(code)
    }

    fn count(&self, provider: &str, what: Activity) {
        let mut activity = self.activity.lock().unwrap_or_else(PoisonError::into_inner);
        let counts = activity.entry(provider.to_owned()).or_default();
        match what {
            Activity::Refresh => counts.refreshes += 1,
            Activity::Exchange => counts.exchanges += 1,
            Activity::Replay => counts.replays += 1,
        }
    }

    /// `rate_limited`: whether an API call may pass now (one a second per provider).
    fn allow_call(&self, provider: &str) -> bool {
        let mut last = self
            .last_allowed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = std::time::Instant::now();
        match last.get(provider) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(1) => false,
            _ => {
                last.insert(provider.to_owned(), now);
                true
            }
        }
    }

    /// What each provider saw since the process started.
    pub fn activity(&self) -> BTreeMap<String, ActivityCounts> {
        self.activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Marks a code (or one-time refresh token) as used; false when it already was.
    fn redeem(&self, code: &str) -> bool {
        self.redeemed_codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(code.to_owned())
    }

    fn provider(&self, id: &str) -> Option<&Provider> {
        self.config.registry.get(id)
    }

    fn env(&self, name: &str) -> Option<&SecretString> {
        self.config.platform_env.get(name)
    }

    /// The only redirect URI the sandbox accepts for a provider, as a real provider would
    /// accept only the URIs registered for the app.
    fn callback_of(&self, provider: &Provider) -> String {
        let mut url = self.config.public_url.clone();
        url.set_path(&format!("/api/v1/oauth/{}/callback", provider.id));
        url.set_query(None);
        url.to_string()
    }
}

/// Mounts the sandbox's pages. The mode switch is not among them: it changes what every
/// organization sees, so the API mounts it behind its platform-admin check and calls
/// [`Sandbox::switch`].
pub fn configure(cfg: &mut web::ServiceConfig, sandbox: web::Data<Sandbox>) {
    cfg.app_data(sandbox)
        .route("/sandbox", web::get().to(control_page))
        .route("/sandbox/control.js", web::get().to(page::control_script))
        .route("/sandbox/_activity", web::get().to(activity))
        .route("/sandbox/_webhooks", web::post().to(send_webhook))
        // Before the providers' catch-all, which would take `sso` for a provider.
        .configure(sso::configure)
        .route(
            "/sandbox/{provider}/{host}/{tail:.*}",
            web::route().to(provider_request),
        );
}

async fn control_page(sandbox: web::Data<Sandbox>) -> HttpResponse {
    page::control(&sandbox)
}

/// The control page's webhook form: which event (`provider topic`) for which account.
#[derive(serde::Deserialize)]
struct WebhookForm {
    event: String,
    account: String,
}

/// Signs one provider webhook and sends it to Plugboard; a page saying what Plugboard answered.
async fn send_webhook(sandbox: web::Data<Sandbox>, form: web::Form<WebhookForm>) -> HttpResponse {
    let (provider_id, topic) = form.event.split_once(' ').unwrap_or((&form.event, ""));
    let known = inbound::EVENTS
        .iter()
        .any(|e| e.provider == provider_id && e.topic == topic);
    let Some(provider) = sandbox.provider(provider_id).filter(|_| known) else {
        return page::sent(400, "The sandbox sends no such webhook.");
    };
    let account = form.account.trim();
    if account.is_empty() || account.len() > 255 {
        return page::sent(400, "Name the account the webhook is about.");
    }
    let result = match inbound::build(&sandbox, provider, topic, account) {
        Ok(signed) => inbound::send(&sandbox, signed).await,
        Err(problem) => Err(problem),
    };
    match result {
        Ok((status, body)) => {
            tracing::info!(provider = %provider.id, topic, status, "sandbox webhook sent");
            page::sent(
                200,
                &format!(
                    "{} {topic} for {account} was sent; Plugboard answered {status}: {body}",
                    provider.name
                ),
            )
        }
        Err(problem) => page::sent(502, &problem),
    }
}

async fn activity(sandbox: web::Data<Sandbox>) -> HttpResponse {
    HttpResponse::Ok().json(sandbox.activity())
}

/// Why a mode switch was refused, in a sentence.
#[derive(Debug, PartialEq, Eq)]
pub enum SwitchError {
    UnknownProvider(String),
    UnknownMode(String),
}

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwitchError::UnknownProvider(p) => write!(f, "The sandbox plays no provider `{p}`."),
            SwitchError::UnknownMode(m) => write!(
                f,
                "`{m}` is not a mode: choose healthy, revoked, unavailable, slow, stale, rate_limited, huge or endless."
            ),
        }
    }
}

impl Sandbox {
    /// Puts a provider in the named mode, for every organization.
    pub fn switch(&self, provider: &str, mode: &str) -> Result<(), SwitchError> {
        if self.provider(provider).is_none() {
            return Err(SwitchError::UnknownProvider(provider.to_owned()));
        }
        let mode = Mode::parse(mode).ok_or_else(|| SwitchError::UnknownMode(mode.to_owned()))?;
        self.set_mode(provider, mode);
        tracing::info!(
            provider,
            mode = mode.name(),
            "sandbox provider mode changed"
        );
        Ok(())
    }
}

/// Everything a provider's host would answer: consent, token, and the API itself.
async fn provider_request(
    sandbox: web::Data<Sandbox>,
    request: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (provider_id, host, tail) = path.into_inner();
    let Some(provider) = sandbox.provider(&provider_id) else {
        return resources::error(404, "not_found", "The sandbox plays no such provider.");
    };
    let path = format!("/{tail}");
    let mode = sandbox.mode(&provider.id);
    if let Some(oauth) = provider.oauth() {
        if path == path_of(&oauth.authorize_url) {
            return consent::handle(&sandbox, provider, &request, &body);
        }
        if mode == Mode::Unavailable {
            return resources::unavailable();
        }
        if mode == Mode::Slow {
            tokio::time::sleep(sandbox.config.slow_delay).await;
        }
        if path == path_of(&oauth.token_url) {
            return token::handle(&sandbox, provider, oauth, &request, &body);
        }
    } else if mode == Mode::Unavailable {
        return resources::unavailable();
    } else if mode == Mode::Slow {
        tokio::time::sleep(sandbox.config.slow_delay).await;
    }
    resources::handle(&sandbox, provider, &host, &path, &request, &body)
}

/// The path part of a URL template (`https://{shop}/admin/oauth/authorize` → `/admin/oauth/authorize`).
fn path_of(template: &str) -> &str {
    let rest = template
        .split_once("://")
        .map_or(template, |(_, rest)| rest);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split('?').next().unwrap_or(path)
}

/// A request's query parameters, last value wins.
fn query_of(request: &HttpRequest) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(request.query_string().as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn template_paths() {
        assert_eq!(
            path_of("https://{shop}/admin/oauth/authorize"),
            "/admin/oauth/authorize"
        );
        assert_eq!(
            path_of("https://slack.com/api/oauth.v2.access"),
            "/api/oauth.v2.access"
        );
        assert_eq!(path_of("https://x.com"), "/");
    }
}
