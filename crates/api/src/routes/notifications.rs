//! `/orgs/{org_id}/notification-settings` and `/orgs/{org_id}/notifications`: where an
//! organization hears about connections that need attention, and what was sent.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use domain::notifications::{Channel, DeliveryStatus, NotificationKind};
use domain::webhooks;
use persistence::notifications::{self as store, Attempt, Notification};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::paging::{PageOut, PageQuery};
use crate::auth::{OrgAdmin, OrgMember};
use crate::error::{ApiResult, Problem};
use crate::services::notifications::{self as service, SettingsChange, SettingsView};
use crate::state::AppState;

/// A present field, `null` included, as `Some(…)`; an absent one as `None` (with `default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A change to the settings. An absent field keeps its value; `null` removes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "webhook_url": "https://hooks.acme.example/plugboard",
    "email_recipients": [
        "ops@acme.example"
    ]
})))]
pub struct NotificationSettingsIn {
    /// Where signed webhooks (Standard Webhooks) are POSTed. A new URL gets a new signing
    /// secret, answered once as `webhook_secret`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub webhook_url: Option<Option<String>>,
    /// A Slack incoming-webhook URL. Write-only: it is a credential.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub slack_webhook_url: Option<Option<SecretString>>,
    /// Addresses that get notification e-mails.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>, nullable)]
    pub email_recipients: Option<Option<Vec<String>>>,
    /// The notices posted through the Slack connection, to the channel it points at (Slack
    /// connected and its channel chosen first); `[]` posts none.
    #[serde(default)]
    pub slack_app_notices: Option<Vec<SlackAppNotice>>,
}

/// A notice that may be posted through the Slack connection.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlackAppNotice {
    Broken,
    Recovered,
    PrivacyRequest,
    Test,
}

impl From<SlackAppNotice> for NotificationKind {
    fn from(notice: SlackAppNotice) -> Self {
        match notice {
            SlackAppNotice::Broken => NotificationKind::Broken,
            SlackAppNotice::Recovered => NotificationKind::Recovered,
            SlackAppNotice::PrivacyRequest => NotificationKind::PrivacyRequest,
            SlackAppNotice::Test => NotificationKind::Test,
        }
    }
}

impl SlackAppNotice {
    fn of(kind: NotificationKind) -> Option<Self> {
        match kind {
            NotificationKind::Broken => Some(SlackAppNotice::Broken),
            NotificationKind::Recovered => Some(SlackAppNotice::Recovered),
            NotificationKind::PrivacyRequest => Some(SlackAppNotice::PrivacyRequest),
            NotificationKind::Test => Some(SlackAppNotice::Test),
            NotificationKind::ProviderEvent => None,
        }
    }
}

/// Why the webhook endpoint is off.
#[derive(Serialize, ToSchema)]
pub struct WebhookDisabledOut {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// An organization's notification settings.
fn settings_example() -> serde_json::Value {
    serde_json::json!({
        "webhook_url": "https://hooks.acme.example/plugboard",
        "webhook_secret_configured": true,
        "webhook_disabled": null,
        "slack_webhook_configured": true,
        "email_recipients": [
            "ops@acme.example"
        ],
        "slack_app_notices": ["broken", "recovered"],
        "slack_app_channel": "C0123456789",
        "updated_at": "2026-11-24T09:31:12Z"
    })
}

/// The same settings as the save that set the webhook answers them, its secret shown once.
fn settings_saved_example() -> serde_json::Value {
    let mut example = settings_example();
    example["webhook_secret"] = "whsec_…WXYZ".into();
    example
}

#[derive(Serialize, ToSchema)]
#[schema(examples(settings_example))]
pub struct NotificationSettingsOut {
    pub webhook_url: Option<String>,
    /// Whether a signing secret is set (it is shown once, when the URL is saved).
    pub webhook_secret_configured: bool,
    /// Set when the endpoint answered 410 Gone: nothing is sent until the URL is saved again.
    pub webhook_disabled: Option<WebhookDisabledOut>,
    pub slack_webhook_configured: bool,
    pub email_recipients: Vec<String>,
    /// The notices posted through the Slack connection.
    pub slack_app_notices: Vec<SlackAppNotice>,
    /// The channel they go to: the one the Slack connection points at; `null` while Slack is
    /// not connected or no channel is chosen (then nothing is posted).
    pub slack_app_channel: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<SettingsView> for NotificationSettingsOut {
    fn from(v: SettingsView) -> Self {
        NotificationSettingsOut {
            webhook_url: v.webhook_url,
            webhook_secret_configured: v.webhook_secret_set,
            webhook_disabled: v.webhook_disabled_at.map(|at| WebhookDisabledOut {
                at,
                reason: v.webhook_disabled_reason.unwrap_or_default(),
            }),
            slack_webhook_configured: v.slack_webhook_configured,
            email_recipients: v.email_recipients,
            slack_app_notices: v
                .slack_app_notices
                .into_iter()
                .filter_map(SlackAppNotice::of)
                .collect(),
            slack_app_channel: v.slack_app_channel,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(settings_saved_example))]
pub struct NotificationSettingsSavedOut {
    #[serde(flatten)]
    pub settings: NotificationSettingsOut,
    /// The new webhook's signing secret (`whsec_…`), only in the answer that set the URL.
    /// Verify each delivery's `webhook-signature` with it; store it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "queued": 2
})))]
pub struct TestQueuedOut {
    /// How many channels a test notification was queued for.
    pub queued: usize,
}

#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKindOut {
    Broken,
    Recovered,
    Test,
    /// A provider's webhook handed on (`provider.event`).
    ProviderEvent,
    /// A privacy request to answer (`privacy.request`).
    PrivacyRequest,
}

#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOut {
    Webhook,
    /// The Slack incoming webhook.
    Slack,
    Email,
    /// Posted through the Slack connection.
    SlackApp,
}

#[derive(Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatusOut {
    Pending,
    Delivered,
    Failed,
    Disabled,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    pub number: u32,
    pub success: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub attempted_at: DateTime<Utc>,
}

impl From<Attempt> for AttemptOut {
    fn from(a: Attempt) -> Self {
        AttemptOut {
            number: a.number,
            success: a.success,
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
            attempted_at: a.attempted_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "id": "e1c5a8d2-7b4f-4093-a6e1-5d2c9f8b3a70",
    "webhook_id": "msg_e1c5a8d27b4f4093a6e15d2c9f8b3a70",
    "kind": "broken",
    "channel": "webhook",
    "status": "delivered",
    "provider": "google_ads",
    "incident_id": "3d8b1f6e-2c4a-4e97-8b15-c6a0f9d2e473",
    "attempts": 1,
    "next_attempt_at": null,
    "last_error": null,
    "delivered_at": "2026-11-24T09:32:05Z",
    "created_at": "2026-11-24T09:32:05Z",
    "payload": {
        "type": "connection.broken",
        "timestamp": "2026-11-24T09:32:05Z",
        "data": {
            "org_id": "5f0c2a9e-8d3b-4b71-9a64-2f1e7c3d9b10",
            "org_name": "Acme",
            "connection_id": "9c4e7a21-3f8d-4b52-a6e0-d17b5c2f8e94",
            "provider": "google_ads",
            "provider_name": "Google Ads",
            "old_status": "connected",
            "new_status": "expired",
            "error": {
                "code": "refresh_refused",
                "message": "Google Ads refused the refresh token; reconnect to restore the connection."
            },
            "incident_id": "3d8b1f6e-2c4a-4e97-8b15-c6a0f9d2e473",
            "settings_url": "https://plugboard.example.com/settings/integrations/google_ads"
        }
    },
    "history": [
        {
            "number": 1,
            "success": true,
            "status_code": 200,
            "duration_ms": 143,
            "error": null,
            "attempted_at": "2026-11-24T09:32:05Z"
        }
    ]
})))]
pub struct NotificationOut {
    pub id: uuid::Uuid,
    /// The `webhook-id` header it is sent with; receivers deduplicate by it.
    pub webhook_id: String,
    pub kind: NotificationKindOut,
    pub channel: ChannelOut,
    pub status: DeliveryStatusOut,
    pub provider: Option<String>,
    /// The incident a `broken` notice opened, or a `recovered` one closes.
    pub incident_id: Option<uuid::Uuid>,
    pub attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// What is sent.
    pub payload: serde_json::Value,
    /// Every delivery attempt, first first.
    pub history: Vec<AttemptOut>,
}

impl From<Notification> for NotificationOut {
    fn from(n: Notification) -> Self {
        NotificationOut {
            id: n.id,
            webhook_id: webhooks::message_id(n.id),
            kind: match n.kind {
                NotificationKind::Broken => NotificationKindOut::Broken,
                NotificationKind::Recovered => NotificationKindOut::Recovered,
                NotificationKind::Test => NotificationKindOut::Test,
                NotificationKind::ProviderEvent => NotificationKindOut::ProviderEvent,
                NotificationKind::PrivacyRequest => NotificationKindOut::PrivacyRequest,
            },
            channel: match n.channel {
                Channel::Webhook => ChannelOut::Webhook,
                Channel::Slack => ChannelOut::Slack,
                Channel::Email => ChannelOut::Email,
                Channel::SlackApp => ChannelOut::SlackApp,
            },
            status: match n.status {
                DeliveryStatus::Pending => DeliveryStatusOut::Pending,
                DeliveryStatus::Delivered => DeliveryStatusOut::Delivered,
                DeliveryStatus::Failed => DeliveryStatusOut::Failed,
                DeliveryStatus::Disabled => DeliveryStatusOut::Disabled,
            },
            provider: n.provider,
            incident_id: n.incident_id,
            attempts: n.attempts,
            next_attempt_at: (n.status == DeliveryStatus::Pending).then_some(n.next_attempt_at),
            last_error: n.last_error,
            delivered_at: n.delivered_at,
            created_at: n.created_at,
            payload: n.payload,
            history: n.history.into_iter().map(AttemptOut::from).collect(),
        }
    }
}

/// Where the organization's notifications go.
#[utoipa::path(
    operation_id = "getNotificationSettings",
    tag = "notifications",
    params(("org_id" = uuid::Uuid, Path)),
    responses((status = 200, body = NotificationSettingsOut), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/notification-settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    member: OrgMember,
) -> ApiResult<web::Json<NotificationSettingsOut>> {
    Ok(web::Json(
        service::get(&state, member.0.org_id).await?.into(),
    ))
}

/// Changes where notifications go. URLs must be public https addresses.
#[utoipa::path(
    operation_id = "putNotificationSettings",
    tag = "notifications",
    params(("org_id" = uuid::Uuid, Path)),
    request_body = NotificationSettingsIn,
    responses(
        (status = 200, body = NotificationSettingsSavedOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem, description = "A field is invalid; `errors` names it."),
    ),
    security(("bearer" = []))
)]
#[put("/notification-settings")]
#[tracing::instrument(skip_all)]
pub async fn put_settings(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    body: web::Json<NotificationSettingsIn>,
) -> ApiResult<web::Json<NotificationSettingsSavedOut>> {
    let input = body.into_inner();
    let (view, secret) = service::update(
        &state,
        admin.0.org_id,
        SettingsChange {
            webhook_url: input.webhook_url,
            slack_webhook_url: input.slack_webhook_url,
            email_recipients: input.email_recipients,
            slack_app_notices: input
                .slack_app_notices
                .map(|notices| notices.into_iter().map(NotificationKind::from).collect()),
        },
    )
    .await?;
    Ok(web::Json(NotificationSettingsSavedOut {
        settings: view.into(),
        webhook_secret: secret.map(|s| s.expose_secret().to_owned()),
    }))
}

/// Sends a test notification to every configured channel.
#[utoipa::path(
    operation_id = "sendTestNotification",
    tag = "notifications",
    params(("org_id" = uuid::Uuid, Path)),
    responses((status = 202, body = TestQueuedOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "No channel is set up yet.")),
    security(("bearer" = []))
)]
#[post("/notification-settings/test")]
pub async fn test(state: web::Data<AppState>, admin: OrgAdmin) -> ApiResult<HttpResponse> {
    let queued = service::send_test(&state, admin.0.org_id).await?;
    Ok(HttpResponse::Accepted().json(TestQueuedOut { queued }))
}

/// What was sent, newest first, with every delivery attempt.
#[utoipa::path(
    operation_id = "listNotifications",
    tag = "notifications",
    params(("org_id" = uuid::Uuid, Path), PageQuery),
    responses((status = 200, body = PageOut<NotificationOut>), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/notifications")]
pub async fn list(
    state: web::Data<AppState>,
    member: OrgMember,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<PageOut<NotificationOut>>> {
    let page = store::list(&state.db, member.0.org_id, query.request()?).await?;
    let base = &state.settings.public_url;
    Ok(web::Json(PageOut::from_page(page, |mut n| {
        n.payload = domain::notifications::with_base_url(n.payload, base);
        NotificationOut::from(n)
    })))
}
