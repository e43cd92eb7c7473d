//! Notification settings per organization, and turning a connection's notice into outbox
//! rows (one per configured channel) inside the status change's transaction.

use chrono::{DateTime, Utc};
use domain::OrgId;
use domain::crypto::SecretAad;
use domain::model::{Connection, ConnectionStatus, Problem};
use domain::notifications::{
    self as notice, ConnectionNotice, NotificationKind, Routing, SLACK_CHANNEL_SETTING,
    SLACK_PROVIDER,
};
use domain::registry::Provider;
use domain::webhooks;
use persistence::notifications::{self as store, NewNotification, StoredSettings};
use persistence::{DatabaseTransaction, StoreError};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::state::AppState;

/// The AAD "provider" of notification secrets: they belong to the organization, not to a
/// connection, and no provider has this id.
const AAD_SCOPE: &str = "notifications";
pub const WEBHOOK_SECRET: &str = "webhook_secret";
pub const SLACK_WEBHOOK_URL: &str = "slack_webhook_url";

fn aad(org_id: OrgId, field: &str) -> SecretAad<'_> {
    SecretAad {
        org_id,
        provider: AAD_SCOPE,
        field,
    }
}

/// Seals one of an organization's notification secrets.
pub fn seal(state: &AppState, org_id: OrgId, field: &str, value: &str) -> ApiResult<String> {
    state
        .keys
        .encrypt(&aad(org_id, field), value)
        .map_err(ApiError::internal)
}

/// Opens one; `None` (and a warning) when it does not open.
pub fn open(state: &AppState, org_id: OrgId, field: &str, sealed: &str) -> Option<SecretString> {
    match state.keys.decrypt(&aad(org_id, field), sealed) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!(field, error = %err, "a notification secret does not open");
            None
        }
    }
}

/// What the settings page shows: never a secret, only whether it is set.
pub struct SettingsView {
    pub webhook_url: Option<String>,
    pub webhook_secret_set: bool,
    pub webhook_disabled_at: Option<DateTime<Utc>>,
    pub webhook_disabled_reason: Option<String>,
    pub slack_webhook_configured: bool,
    pub email_recipients: Vec<String>,
    pub slack_app_notices: Vec<NotificationKind>,
    /// The channel the Slack connection points at, when it is connected and points at one.
    pub slack_app_channel: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl SettingsView {
    fn of(s: StoredSettings, slack_app_channel: Option<String>) -> Self {
        SettingsView {
            slack_app_notices: s.slack_app_notices,
            slack_app_channel,
            webhook_secret_set: s.webhook_secret_sealed.is_some(),
            webhook_url: s.webhook_url,
            webhook_disabled_at: s.webhook_disabled_at,
            webhook_disabled_reason: s.webhook_disabled_reason,
            slack_webhook_configured: s.slack_webhook_url_sealed.is_some(),
            email_recipients: s.email_recipients,
            updated_at: s.updated_at,
        }
    }
}

/// A change: `None` keeps a value, `Some(None)` removes it, `Some(Some(v))` sets it.
pub struct SettingsChange {
    pub webhook_url: Option<Option<String>>,
    pub slack_webhook_url: Option<Option<SecretString>>,
    pub email_recipients: Option<Option<Vec<String>>>,
    pub slack_app_notices: Option<Vec<NotificationKind>>,
}

pub async fn get(state: &AppState, org_id: OrgId) -> ApiResult<SettingsView> {
    let settings = store::settings(&state.db, org_id).await?;
    let channel = slack_app_channel(&state.db, org_id).await?;
    Ok(SettingsView::of(settings, channel))
}

/// The channel notices are posted to through the organization's Slack connection: set when
/// the connection may be used and points at a channel.
pub(crate) async fn slack_app_channel(
    db: &impl persistence::ConnectionTrait,
    org_id: OrgId,
) -> Result<Option<String>, StoreError> {
    let connection = persistence::connections::find(db, org_id, SLACK_PROVIDER).await?;
    Ok(domain::lifecycle::usable(connection.as_ref())
        .ok()
        .and_then(|c| c.config.get(SLACK_CHANNEL_SETTING))
        .filter(|id| !id.is_empty())
        .cloned())
}

/// Where the organization's notifications may go now.
async fn routing(
    db: &impl persistence::ConnectionTrait,
    org_id: OrgId,
    settings: &StoredSettings,
) -> Result<Routing, StoreError> {
    let slack_app = if settings.slack_app_notices.is_empty()
        || slack_app_channel(db, org_id).await?.is_none()
    {
        Vec::new()
    } else {
        settings.slack_app_notices.clone()
    };
    Ok(Routing {
        webhook: settings.webhook_url.is_some()
            && settings.webhook_secret_sealed.is_some()
            && settings.webhook_disabled_at.is_none(),
        slack_webhook: settings.slack_webhook_url_sealed.is_some(),
        email: !settings.email_recipients.is_empty(),
        slack_app,
    })
}

/// Checks a URL a tenant gave for Plugboard to call: https (plain http only where private
/// networks are allowed, i.e. tests and local work), and not a literal private address
/// (names are checked again when they resolve, by the SSRF guard).
fn check_url(state: &AppState, field: &str, raw: &str) -> Result<url::Url, FieldError> {
    let bad = |message: &str| FieldError::new(field, message);
    let url = url::Url::parse(raw.trim())
        .map_err(|_| bad("Enter a full URL, such as https://example.com/hooks/plugboard."))?;
    let private_ok = state.settings.allow_private_network;
    match url.scheme() {
        "https" => {}
        "http" if private_ok => {}
        _ => return Err(bad("Use an https:// URL.")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("The URL needs a host name."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("Put no user name or password in the URL."));
    }
    if state.http.refuses_literal(&url, true, false)
        || (!private_ok && url.host_str() == Some("localhost"))
    {
        return Err(bad(
            "This URL points at a private or local address; use one reachable on the internet.",
        ));
    }
    Ok(url)
}

/// Applies a change. A new `webhook_url` gets a new signing secret, returned here once.
pub async fn update(
    state: &AppState,
    org_id: OrgId,
    change: SettingsChange,
) -> ApiResult<(SettingsView, Option<SecretString>)> {
    let mut errors = Vec::new();
    let webhook_url = match &change.webhook_url {
        Some(Some(raw)) => match check_url(state, "webhook_url", raw) {
            Ok(url) => Some(Some(url.to_string())),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    let slack = match &change.slack_webhook_url {
        Some(Some(raw)) => match check_url(state, "slack_webhook_url", raw.expose_secret()) {
            Ok(url) => Some(Some(url.to_string())),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    let recipients = match &change.email_recipients {
        Some(Some(list)) => match notice::parse_recipients(list) {
            Ok(parsed) if !parsed.is_empty() && state.settings.background.smtp_url.is_none() => {
                errors.push(FieldError::new(
                    "email_recipients",
                    "E-mail notifications need an SMTP server: ask the operator to set PLUGBOARD_SMTP_URL.",
                ));
                None
            }
            Ok(parsed) => Some(parsed),
            Err(bad) => {
                errors.push(FieldError::new(
                    "email_recipients",
                    format!(
                        "`{bad}` is not an e-mail address; list addresses such as ops@example.com."
                    ),
                ));
                None
            }
        },
        Some(None) => Some(Vec::new()),
        None => None,
    };
    let slack_app_channel = slack_app_channel(&state.db, org_id).await?;
    if change
        .slack_app_notices
        .as_ref()
        .is_some_and(|kinds| !kinds.is_empty())
        && slack_app_channel.is_none()
    {
        errors.push(FieldError::new(
            "slack_app_notices",
            "Connect Slack and choose the channel it posts to first.",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }

    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let mut stored = store::settings(&txn, org_id).await?;
    let mut new_secret = None;
    if let Some(url) = webhook_url {
        match url {
            Some(url) => {
                if stored.webhook_url.as_deref() != Some(url.as_str())
                    || stored.webhook_secret_sealed.is_none()
                {
                    let secret = webhooks::generate_secret().map_err(ApiError::internal)?;
                    stored.webhook_secret_sealed =
                        Some(seal(state, org_id, WEBHOOK_SECRET, secret.expose_secret())?);
                    new_secret = Some(secret);
                }
                stored.webhook_url = Some(url);
            }
            None => {
                stored.webhook_url = None;
                stored.webhook_secret_sealed = None;
            }
        }
        // Saving the URL again turns a disabled endpoint back on.
        stored.webhook_disabled_at = None;
        stored.webhook_disabled_reason = None;
    }
    if let Some(url) = slack {
        stored.slack_webhook_url_sealed = match url {
            Some(url) => Some(seal(state, org_id, SLACK_WEBHOOK_URL, &url)?),
            None => None,
        };
    }
    if let Some(list) = recipients {
        stored.email_recipients = list;
    }
    if let Some(kinds) = change.slack_app_notices {
        // In one order, each once, and only what may be posted.
        stored.slack_app_notices = NotificationKind::FOR_PEOPLE
            .iter()
            .copied()
            .filter(|k| kinds.contains(k))
            .collect();
    }
    store::put_settings(&txn, org_id, &stored).await?;
    let saved = store::settings(&txn, org_id).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok((SettingsView::of(saved, slack_app_channel), new_secret))
}

/// Queues a test notification on every configured channel; how many were queued.
pub async fn send_test(state: &AppState, org_id: OrgId) -> ApiResult<usize> {
    let settings = store::settings(&state.db, org_id).await?;
    let channels = routing(&state.db, org_id, &settings)
        .await?
        .channels(NotificationKind::Test);
    if channels.is_empty() {
        return Err(ApiError::conflict(
            ErrorCode::NoChannel,
            "No channel is set up: save a webhook URL, a Slack webhook URL or e-mail recipients, or have test notices posted through Slack, first.",
        ));
    }
    let org_name = persistence::orgs::get(&state.db, org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let payload = notice::test_payload(org_id, &org_name, Utc::now());
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    for channel in &channels {
        store::enqueue(
            &txn,
            org_id,
            NewNotification {
                connection_id: None,
                provider: None,
                kind: NotificationKind::Test,
                incident_id: None,
                channel: *channel,
                payload: payload.clone(),
            },
        )
        .await?;
    }
    txn.commit().await.map_err(StoreError::from)?;
    Ok(channels.len())
}

/// Hands a provider's webhook or privacy request on, in the caller's transaction: to the
/// organization's own webhook, and a privacy request also to the Slack channel when chosen.
/// Nothing goes to the Slack webhook or e-mail: these are for the brand's systems.
pub(crate) async fn forward(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    connection_id: domain::ConnectionId,
    provider: &str,
    kind: NotificationKind,
    payload: serde_json::Value,
) -> Result<(), StoreError> {
    let settings = store::settings(txn, org_id).await?;
    for channel in routing(txn, org_id, &settings).await?.channels(kind) {
        store::enqueue(
            txn,
            org_id,
            NewNotification {
                connection_id: Some(connection_id),
                provider: Some(provider.to_owned()),
                kind,
                incident_id: None,
                channel,
                payload: payload.clone(),
            },
        )
        .await?;
    }
    Ok(())
}

/// What a status change needs said.
pub enum Due<'a> {
    /// Into `expired` or `error`, with the machine code and sentence.
    Broken(&'a Problem),
    /// Back to `connected`.
    Recovered,
}

/// Writes a connection's notice to the outbox inside the status change's transaction: a
/// `broken` notice opens an incident (none while one is already open: one notice per
/// incident); `recovered` closes it and names it. Nothing is queued without an incident.
pub async fn record_notice(
    txn: &DatabaseTransaction,
    provider: &Provider,
    connection: &Connection,
    old_status: ConnectionStatus,
    due: Due<'_>,
) -> Result<(), StoreError> {
    let org_id = connection.org_id;
    let open = store::open_incident(txn, org_id, connection.id).await?;
    let (kind, incident_id, error) = match due {
        Due::Broken(problem) => {
            if open.is_some() {
                return Ok(());
            }
            let id = store::open(
                txn,
                org_id,
                connection.id,
                &provider.id,
                connection.status.as_str(),
                Some(problem.code.as_str()),
            )
            .await?;
            (NotificationKind::Broken, id, Some(problem.clone()))
        }
        Due::Recovered => {
            let Some(id) = open else {
                return Ok(());
            };
            store::close_incidents(txn, org_id, connection.id).await?;
            (NotificationKind::Recovered, id, None)
        }
    };
    let settings = store::settings(txn, org_id).await?;
    let org_name = persistence::orgs::get(txn, org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let payload = ConnectionNotice {
        kind,
        org_id,
        org_name,
        connection_id: connection.id,
        provider: provider.id.clone(),
        provider_name: provider.name.clone(),
        old_status,
        new_status: connection.status,
        error,
        incident_id,
        // A path here; made absolute with the public URL when sent and listed.
        settings_url: format!("/settings/integrations/{}", provider.id),
        occurred_at: Utc::now(),
    }
    .payload();
    for channel in routing(txn, org_id, &settings).await?.channels(kind) {
        store::enqueue(
            txn,
            org_id,
            NewNotification {
                connection_id: Some(connection.id),
                provider: Some(provider.id.clone()),
                kind,
                incident_id: Some(incident_id),
                channel,
                payload: payload.clone(),
            },
        )
        .await?;
    }
    Ok(())
}
