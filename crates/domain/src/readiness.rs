//! Platform readiness rules: which platform variables each provider and each operator task
//! needs, what is missing, and what to do next. Only whether a variable is set ever enters
//! here (`is_set`), never its value.

use std::collections::BTreeMap;

use crate::model::ConnectionStatus;
use crate::registry::{Level, Onboarding, Provider, Registry};

/// Whether a platform variable counts as set; the caller decides (e.g. `DATABASE_URL` only
/// counts when it points at PostgreSQL).
pub type IsSet<'a> = &'a dyn Fn(&str) -> bool;

/// One platform variable and whether it is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvCheck {
    pub name: String,
    pub configured: bool,
}

fn check_all<'n>(names: impl IntoIterator<Item = &'n str>, is_set: IsSet<'_>) -> Vec<EnvCheck> {
    names
        .into_iter()
        .map(|name| EnvCheck {
            name: name.to_owned(),
            configured: is_set(name),
        })
        .collect()
}

fn missing(checks: &[EnvCheck]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.configured)
        .map(|c| c.name.clone())
        .collect()
}

/// "1 connection", "2 connections".
fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where a provider stands on the platform's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceStatus {
    Ready,
    SetupNeeded,
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceStatus::Ready => "ready",
            ServiceStatus::SetupNeeded => "setup_needed",
        }
    }
}

/// A provider's platform variables and what they add up to.
#[derive(Clone, Debug)]
pub struct ServiceReadiness<'r> {
    pub provider: &'r Provider,
    pub variables: Vec<EnvCheck>,
    pub missing: Vec<String>,
    pub status: ServiceStatus,
    pub summary: String,
}

pub fn service<'r>(provider: &'r Provider, is_set: IsSet<'_>) -> ServiceReadiness<'r> {
    let variables = check_all(provider.platform_env.iter().map(String::as_str), is_set);
    let missing = missing(&variables);
    let total = variables.len() as u64;
    let summary = if variables.is_empty() {
        "Nothing to set on the platform: each brand brings its own credentials.".to_owned()
    } else if missing.is_empty() {
        format!(
            "All {} set.",
            count_of(
                total,
                "required environment variable is",
                "required environment variables are"
            )
        )
    } else {
        format!(
            "Missing {}.",
            count_of(
                missing.len() as u64,
                "required environment variable",
                "required environment variables"
            )
        )
    };
    ServiceReadiness {
        provider,
        status: if missing.is_empty() {
            ServiceStatus::Ready
        } else {
            ServiceStatus::SetupNeeded
        },
        variables,
        missing,
        summary,
    }
}

/// A provider's connections across every organization, by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub not_connected: u64,
    pub connected: u64,
    pub expired: u64,
    pub error: u64,
    pub disabled: u64,
}

impl StatusCounts {
    pub fn add(&mut self, status: ConnectionStatus, count: u64) {
        let slot = match status {
            ConnectionStatus::NotConnected => &mut self.not_connected,
            ConnectionStatus::Connected => &mut self.connected,
            ConnectionStatus::Expired => &mut self.expired,
            ConnectionStatus::Error => &mut self.error,
            ConnectionStatus::Disabled => &mut self.disabled,
        };
        *slot += count;
    }

    pub fn total(&self) -> u64 {
        self.not_connected + self.connected + self.expired + self.error + self.disabled
    }
}

/// The health summary's verdict for one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthState {
    /// Platform variables are missing: nothing can work until they are set.
    MissingCredentials,
    /// Some brands' connections are expired or failing.
    NeedsAttention,
    Healthy,
    /// Ready, but no brand has connected it.
    Unused,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::MissingCredentials => "missing_credentials",
            HealthState::NeedsAttention => "needs_attention",
            HealthState::Healthy => "healthy",
            HealthState::Unused => "unused",
        }
    }
}

/// The verdict and the retry guidance, one sentence per thing to do.
pub fn health(provider: &Provider, missing: usize, counts: &StatusCounts) -> (HealthState, String) {
    let mut todo = Vec::new();
    if missing > 0 {
        todo.push(format!(
            "Add {} before retrying.",
            count_of(
                missing as u64,
                "missing environment variable",
                "missing environment variables"
            )
        ));
    }
    if counts.expired > 0 {
        todo.push(format!(
            "{} expired: ask the brands to reconnect.",
            count_of(counts.expired, "connection", "connections")
        ));
    }
    if counts.error > 0 {
        todo.push(format!(
            "{} failing: see their last errors.",
            count_of(counts.error, "connection", "connections")
        ));
    }
    let state = if missing > 0 {
        HealthState::MissingCredentials
    } else if counts.expired + counts.error > 0 {
        HealthState::NeedsAttention
    } else if provider.level == Level::Tenant && counts.connected + counts.disabled == 0 {
        HealthState::Unused
    } else {
        HealthState::Healthy
    };
    if todo.is_empty() {
        todo.push(match state {
            HealthState::Unused => "Ready; no brand has connected it yet.".to_owned(),
            _ => "Healthy.".to_owned(),
        });
    }
    (state, todo.join(" "))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Required,
    Soon,
    Later,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Required => "required",
            Priority::Soon => "soon",
            Priority::Later => "later",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemStatus {
    Ready,
    Partial,
    NotStarted,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Ready => "ready",
            ItemStatus::Partial => "partial",
            ItemStatus::NotStarted => "not_started",
        }
    }
}

/// An account or key the operator has to obtain, and where it goes.
#[derive(Clone, Debug)]
pub struct ChecklistItem {
    pub key: String,
    pub title: String,
    pub description: String,
    pub priority: Priority,
    /// What to collect from the account.
    pub collect: Vec<String>,
    pub variables: Vec<EnvCheck>,
    pub missing: Vec<String>,
    pub status: ItemStatus,
    /// The providers this item unlocks, if it is a provider's platform app.
    pub providers: Vec<String>,
    pub notes: String,
}

/// An operator task that is not a provider's app.
struct Task {
    key: &'static str,
    title: &'static str,
    description: &'static str,
    priority: Priority,
    collect: &'static [&'static str],
    variables: &'static [&'static str],
    /// Plugboard runs on a local stand-in until it is set (a SQLite file, a generated key),
    /// so an unset variable is `partial`, not `not_started`.
    local_fallback: bool,
    notes: &'static str,
}

const ADMIN_SECURITY: Task = Task {
    key: "admin_security",
    title: "Platform admin security",
    description: "Decides who sees platform readiness, and signs every user's access token.",
    priority: Priority::Required,
    collect: &[
        "Approved platform admin e-mail list",
        "Long random secret for signing access tokens (48 bytes or more)",
    ],
    variables: &["PLUGBOARD_ADMIN_EMAILS", "PLUGBOARD_JWT_SECRET"],
    local_fallback: false,
    notes: "Keep secrets in the deployment environment or a password manager only. Changing the JWT secret signs everybody out.",
};

const MICROSOFT_SIGN_IN: Task = Task {
    key: "microsoft_sign_in",
    title: "Microsoft 365 / Entra admin sign-in",
    description: "Lets approved admins sign in with their Microsoft work accounts.",
    priority: Priority::Soon,
    collect: &[
        "Application (client) ID",
        "Client secret",
        "Tenant ID or the organizations authority",
        "Redirect URI registered as a Web platform in the app registration",
    ],
    variables: &[
        "MICROSOFT_CLIENT_ID",
        "MICROSOFT_CLIENT_SECRET",
        "MICROSOFT_TENANT_ID",
    ],
    local_fallback: false,
    notes: "Keep e-mail and password sign-in as the fallback after single sign-on is enabled.",
};

const GOOGLE_SIGN_IN: Task = Task {
    key: "google_sign_in",
    title: "Google sign-in",
    description: "Lets people sign in with their Google accounts.",
    priority: Priority::Later,
    collect: &[
        "OAuth client ID and secret (Web application) used for sign-in only",
        "Redirect URI registered on that OAuth client",
    ],
    variables: &["GOOGLE_SIGNIN_CLIENT_ID", "GOOGLE_SIGNIN_CLIENT_SECRET"],
    local_fallback: false,
    notes: "Keep e-mail and password sign-in as the fallback.",
};

/// What a live look at a sign-in provider's configuration found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInProbe {
    /// Not looked at: the variables are not all set.
    NotChecked,
    /// The discovery document answered and names the endpoints sign-in uses.
    Reachable,
    /// It did not, and why, in a sentence.
    Failed(String),
}

/// A sign-in provider's check: the redirect URI to register and what the probe found.
#[derive(Clone, Debug)]
pub struct SignInCheck {
    pub redirect_uri: String,
    pub probe: SignInProbe,
}

/// The checks of both sign-in providers.
#[derive(Clone, Debug)]
pub struct SignInChecks {
    pub microsoft: SignInCheck,
    pub google: SignInCheck,
}

/// A sign-in item is ready only when its variables are set and sign-in works with them (the
/// provider's discovery answers): set variables alone prove nothing. `register` says where the
/// redirect URI goes at the provider.
fn sign_in(task: &Task, register: &str, is_set: IsSet<'_>, check: &SignInCheck) -> ChecklistItem {
    let mut item = from_task(task, is_set);
    let register = format!("Register {} as {register}.", check.redirect_uri);
    let found = match (&check.probe, item.status) {
        (SignInProbe::Reachable, ItemStatus::Ready) => {
            "The provider's sign-in configuration answered: sign-in works.".to_owned()
        }
        (SignInProbe::Failed(why), ItemStatus::Ready) => {
            item.status = ItemStatus::Partial;
            format!("Sign-in does not work yet: {why}")
        }
        (_, ItemStatus::Ready) => {
            item.status = ItemStatus::Partial;
            "Sign-in has not been checked yet.".to_owned()
        }
        _ => String::new(),
    };
    item.notes = [register.as_str(), found.as_str(), task.notes]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    item
}

const DATABASE: Task = Task {
    key: "database",
    title: "PostgreSQL database",
    description: "Stores organizations, connections, encrypted credentials and their history; several replicas can share it.",
    priority: Priority::Required,
    collect: &[
        "Production database URL",
        "Backup and restore access",
        "Database owner credentials",
    ],
    variables: &["DATABASE_URL"],
    local_fallback: true,
    notes: "Without a PostgreSQL DATABASE_URL, Plugboard keeps an SQLite file under ./data: fine on one machine, not for real traffic.",
};

const ENCRYPTION_KEYS: Task = Task {
    key: "encryption_keys",
    title: "Credential encryption keys",
    description: "Encrypt every stored credential; without the key that sealed them, stored credentials cannot be read.",
    priority: Priority::Required,
    collect: &[
        "A random 32-byte key per key id (kid:base64key)",
        "A safe copy of every key that still seals stored credentials",
    ],
    variables: &["PLUGBOARD_ENCRYPTION_KEYS"],
    local_fallback: true,
    notes: "A generated key lives in ./data on this machine only. To rotate, put a new key first, run `plugboard rotate-keys`, then retire the old one.",
};

const PUBLIC_URL: Task = Task {
    key: "public_url",
    title: "Public URL, domain and hosting",
    description: "OAuth redirect URIs and links in notifications are built from it, never from request headers.",
    priority: Priority::Required,
    collect: &[
        "Domain registrar and DNS access",
        "TLS certificate (https)",
        "Hosting account and deploy access",
    ],
    variables: &["PLUGBOARD_PUBLIC_URL"],
    local_fallback: false,
    notes: "Set it before registering provider apps: their redirect URIs live under this URL.",
};

const SMTP: Task = Task {
    key: "smtp",
    title: "Outgoing e-mail (SMTP)",
    description: "Sends connection alerts to brands by e-mail.",
    priority: Priority::Soon,
    collect: &[
        "SMTP server URL with its credentials",
        "Sender address on a domain with SPF and DKIM",
    ],
    variables: &["SMTP_URL", "SMTP_FROM"],
    local_fallback: false,
    notes: "Until it is set, alerts still go out by webhook and Slack.",
};

const MONITORING_TITLE: &str = "Monitoring and error tracking";
const MONITORING_DESCRIPTION: &str =
    "Catches downtime, failed refreshes and server errors before brands notice.";
const MONITORING_COLLECT: &[&str] = &[
    "Sentry project DSN and an auth token with org:read",
    "Better Stack Uptime API token and webhook signing secret",
    "Where alerts should go (e-mail, Slack channel, on-call)",
];

/// Every platform variable a checklist task reads, beyond the providers' own.
pub const TASK_VARIABLES: &[&[&str]] = &[
    ADMIN_SECURITY.variables,
    MICROSOFT_SIGN_IN.variables,
    GOOGLE_SIGN_IN.variables,
    DATABASE.variables,
    ENCRYPTION_KEYS.variables,
    PUBLIC_URL.variables,
    SMTP.variables,
];

fn item_status(variables: &[EnvCheck], local_fallback: bool) -> ItemStatus {
    let set = variables.iter().filter(|v| v.configured).count();
    if set == variables.len() {
        ItemStatus::Ready
    } else if set > 0 || local_fallback {
        ItemStatus::Partial
    } else {
        ItemStatus::NotStarted
    }
}

fn from_task(task: &Task, is_set: IsSet<'_>) -> ChecklistItem {
    let variables = check_all(task.variables.iter().copied(), is_set);
    ChecklistItem {
        key: task.key.to_owned(),
        title: task.title.to_owned(),
        description: task.description.to_owned(),
        priority: task.priority,
        collect: task.collect.iter().map(|c| (*c).to_owned()).collect(),
        missing: missing(&variables),
        status: item_status(&variables, task.local_fallback),
        variables,
        providers: Vec::new(),
        notes: task.notes.to_owned(),
    }
}

/// "A", "A and B", "A, B and C".
fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `GOOGLE_ADS_DEVELOPER_TOKEN` among `GOOGLE_ADS_*` reads "Developer token".
fn humanize(name: &str, prefix: &str) -> String {
    let words = name.strip_prefix(prefix).unwrap_or(name).replace('_', " ");
    let lower = words.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The longest common `_`-ended prefix of variable names (`GOOGLE_ADS_`).
fn common_prefix(names: &[&str]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    let mut prefix = (*first).to_owned();
    for name in names {
        while !name.starts_with(&prefix) {
            prefix.pop();
        }
    }
    match prefix.rfind('_') {
        Some(end) => prefix[..=end].to_owned(),
        None => String::new(),
    }
}

/// One item per platform app that brands' connections go through: tenant providers sharing
/// the same client credentials (the Google family) share one app.
fn provider_apps(registry: &Registry, is_set: IsSet<'_>) -> Vec<ChecklistItem> {
    let mut groups: BTreeMap<String, Vec<&Provider>> = BTreeMap::new();
    let mut order = Vec::new();
    for provider in registry.providers() {
        if provider.level != Level::Tenant || provider.platform_env.is_empty() {
            continue;
        }
        let app = match provider.oauth() {
            Some(oauth) => format!("{}|{}", oauth.client_id_env, oauth.client_secret_env),
            None => provider.platform_env.join("|"),
        };
        if !groups.contains_key(&app) {
            order.push(app.clone());
        }
        groups.entry(app).or_default().push(provider);
    }
    let mut items: Vec<ChecklistItem> = order
        .iter()
        .filter_map(|app| groups.get(app))
        .filter_map(|members| {
            let first = members.first()?;
            let mut names: Vec<&str> = Vec::new();
            for provider in members {
                for env in &provider.platform_env {
                    if !names.contains(&env.as_str()) {
                        names.push(env);
                    }
                }
            }
            let prefix = common_prefix(&names);
            let oauth = first.oauth();
            let collect = names
                .iter()
                .map(|name| {
                    let what = match oauth {
                        Some(o) if o.client_id_env == *name => "Client ID".to_owned(),
                        Some(o) if o.client_secret_env == *name => "Client secret".to_owned(),
                        _ => humanize(name, &prefix),
                    };
                    format!("{what} ({name})")
                })
                .collect();
            let provider_names: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
            let joined = join_names(&provider_names);
            let notes = if oauth.is_some() {
                let uris: Vec<String> = members
                    .iter()
                    .map(|p| format!("{{PLUGBOARD_PUBLIC_URL}}/api/v1/oauth/{}/callback", p.id))
                    .collect();
                format!(
                    "Register {} as the app's redirect URI{}.",
                    join_names(&uris.iter().map(String::as_str).collect::<Vec<_>>()),
                    if uris.len() == 1 { "" } else { "s" }
                )
            } else {
                format!("Brands can connect {joined} once these are set.")
            };
            let priority = members
                .iter()
                .map(|p| match p.onboarding {
                    Onboarding::Required => Priority::Required,
                    Onboarding::Recommended => Priority::Soon,
                    Onboarding::Optional => Priority::Later,
                })
                .min()
                .unwrap_or(Priority::Later);
            let variables = check_all(names.iter().copied(), is_set);
            // A shared app is named after its family (`GOOGLE_CLIENT_ID` → Google), one app
            // after its provider.
            let family = match (members.as_slice(), prefix.split('_').next()) {
                ([_, _, ..], Some(word)) if !word.is_empty() => humanize(word, ""),
                _ => joined.clone(),
            };
            Some(ChecklistItem {
                key: format!("app.{}", first.id),
                title: format!("{family} developer app"),
                description: format!(
                    "The platform's own app{}: one app serves every brand that connects {joined}.",
                    if oauth.is_some() { " for OAuth" } else { "" }
                ),
                priority,
                collect,
                missing: missing(&variables),
                status: item_status(&variables, false),
                variables,
                providers: members.iter().map(|p| p.id.clone()).collect(),
                notes,
            })
        })
        .collect();
    // Stable: registry order within a priority.
    items.sort_by_key(|item| item.priority);
    items
}

/// The platform-level providers' variables, as one monitoring item.
fn monitoring(registry: &Registry, is_set: IsSet<'_>) -> ChecklistItem {
    let platform: Vec<&Provider> = registry
        .providers()
        .iter()
        .filter(|p| p.level == Level::Platform)
        .collect();
    let variables = check_all(
        platform
            .iter()
            .flat_map(|p| p.platform_env.iter().map(String::as_str)),
        is_set,
    );
    ChecklistItem {
        key: "monitoring".to_owned(),
        title: MONITORING_TITLE.to_owned(),
        description: MONITORING_DESCRIPTION.to_owned(),
        priority: Priority::Later,
        collect: MONITORING_COLLECT.iter().map(|c| (*c).to_owned()).collect(),
        missing: missing(&variables),
        status: item_status(&variables, false),
        variables,
        providers: platform.iter().map(|p| p.id.clone()).collect(),
        notes: "Test each one from the readiness page once its variables are set.".to_owned(),
    }
}

/// The account and key checklist, in the order an operator works through it.
pub fn checklist(
    registry: &Registry,
    is_set: IsSet<'_>,
    sign_ins: &SignInChecks,
) -> Vec<ChecklistItem> {
    let mut items = vec![
        from_task(&ADMIN_SECURITY, is_set),
        sign_in(
            &MICROSOFT_SIGN_IN,
            "a Web redirect URI in the app registration",
            is_set,
            &sign_ins.microsoft,
        ),
        sign_in(
            &GOOGLE_SIGN_IN,
            "an authorized redirect URI on the OAuth client",
            is_set,
            &sign_ins.google,
        ),
        from_task(&DATABASE, is_set),
        from_task(&ENCRYPTION_KEYS, is_set),
    ];
    items.extend(provider_apps(registry, is_set));
    items.push(from_task(&PUBLIC_URL, is_set));
    items.push(from_task(&SMTP, is_set));
    items.push(monitoring(registry, is_set));
    items
}

#[cfg(test)]
mod tests;
