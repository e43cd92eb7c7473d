//! `/platform`: readiness for platform admins. Everybody else gets 404. Platform variables
//! are reported as set or missing, never with their values.

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::model::ConnectionEvent;
use domain::readiness::{ChecklistItem, EnvCheck, ServiceReadiness, StatusCounts};
use domain::registry::versions::{Standing, VersionAlert};
use domain::verify::VerifyOutcome;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::paging::{PageOut, PageQuery};
use crate::auth::PlatformAdmin;
use crate::contract;
use crate::error::{ApiResult, Problem};
use crate::services::readiness::{self as service, HistoryEntry, PlatformCheck, ProviderHealth};
use crate::state::AppState;

/// A platform environment variable: whether it is set, never its value.
#[derive(Serialize, ToSchema)]
pub struct EnvVarOut {
    pub name: String,
    pub configured: bool,
}

impl From<EnvCheck> for EnvVarOut {
    fn from(c: EnvCheck) -> Self {
        EnvVarOut {
            name: c.name,
            configured: c.configured,
        }
    }
}

fn variables_out(checks: Vec<EnvCheck>) -> Vec<EnvVarOut> {
    checks.into_iter().map(EnvVarOut::from).collect()
}

/// A provider's platform variables.
#[derive(Serialize, ToSchema)]
pub struct ServiceReadinessOut {
    pub provider: String,
    pub name: String,
    pub description: String,
    pub category: contract::Category,
    /// `tenant` (each brand connects) or `platform` (the platform holds one).
    pub level: contract::Level,
    /// `ready` or `setup_needed`.
    pub status: contract::ServiceStatus,
    pub variables: Vec<EnvVarOut>,
    /// The required variables that are not set.
    pub missing: Vec<String>,
    /// E.g. "Missing 2 required environment variables."
    pub summary: String,
}

impl From<ServiceReadiness<'_>> for ServiceReadinessOut {
    fn from(s: ServiceReadiness<'_>) -> Self {
        let p = s.provider;
        ServiceReadinessOut {
            provider: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.into(),
            level: p.level.into(),
            status: s.status.into(),
            variables: variables_out(s.variables),
            missing: s.missing,
            summary: s.summary,
        }
    }
}

/// Connections across every organization, by status.
#[derive(Serialize, ToSchema)]
pub struct ConnectionCountsOut {
    pub total: u64,
    pub not_connected: u64,
    pub connected: u64,
    pub expired: u64,
    pub error: u64,
    pub disabled: u64,
}

impl From<StatusCounts> for ConnectionCountsOut {
    fn from(c: StatusCounts) -> Self {
        ConnectionCountsOut {
            total: c.total(),
            not_connected: c.not_connected,
            connected: c.connected,
            expired: c.expired,
            error: c.error,
            disabled: c.disabled,
        }
    }
}

/// The most recent thing that happened to any of a provider's connections.
#[derive(Serialize, ToSchema)]
pub struct LatestEventOut {
    /// `connect`, `configure`, `test`, `refresh`, `health_check`, `enable`, `disable`, `disconnect`, `sync` or `notification`.
    pub action: contract::EventAction,
    pub success: bool,
    pub code: Option<String>,
    pub message: String,
    pub org_id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<ConnectionEvent> for LatestEventOut {
    fn from(e: ConnectionEvent) -> Self {
        LatestEventOut {
            action: e.action.into(),
            success: e.success,
            code: e.code.map(|c| c.as_str().to_owned()),
            message: e.message,
            org_id: e.org_id.0,
            created_at: e.created_at,
        }
    }
}

/// One provider's health across every organization, with what to do next.
#[derive(Serialize, ToSchema)]
pub struct ProviderHealthOut {
    pub provider: String,
    pub name: String,
    /// `missing_credentials`, `needs_attention`, `healthy` or `unused`.
    pub health: contract::HealthState,
    pub counts: ConnectionCountsOut,
    /// Platform variables still to set.
    pub missing: Vec<String>,
    /// `null` when nothing was ever logged.
    pub latest_event: Option<LatestEventOut>,
    /// Retry guidance, e.g. "3 connections expired: ask the brands to reconnect."
    pub guidance: String,
}

impl From<ProviderHealth<'_>> for ProviderHealthOut {
    fn from(h: ProviderHealth<'_>) -> Self {
        ProviderHealthOut {
            provider: h.provider.id.clone(),
            name: h.provider.name.clone(),
            health: h.state.into(),
            counts: h.counts.into(),
            missing: h.missing,
            latest_event: h.latest.map(LatestEventOut::from),
            guidance: h.guidance,
        }
    }
}

/// An account or key to obtain before going live.
#[derive(Serialize, ToSchema)]
pub struct ChecklistItemOut {
    pub key: String,
    pub title: String,
    pub description: String,
    /// `required`, `soon` or `later`.
    pub priority: contract::Priority,
    /// What to collect from the account.
    pub collect: Vec<String>,
    pub variables: Vec<EnvVarOut>,
    /// `ready`, `partial` or `not_started`.
    pub status: contract::ItemStatus,
    pub missing: Vec<String>,
    /// The providers this item unlocks.
    pub providers: Vec<String>,
    pub notes: String,
}

impl From<ChecklistItem> for ChecklistItemOut {
    fn from(i: ChecklistItem) -> Self {
        ChecklistItemOut {
            key: i.key,
            title: i.title,
            description: i.description,
            priority: i.priority.into(),
            collect: i.collect,
            variables: variables_out(i.variables),
            status: i.status.into(),
            missing: i.missing,
            providers: i.providers,
            notes: i.notes,
        }
    }
}

/// One line of any organization's connection history.
#[derive(Serialize, ToSchema)]
pub struct HistoryEventOut {
    pub id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
    pub provider: String,
    pub provider_name: String,
    pub org_id: uuid::Uuid,
    pub org_name: String,
    /// `connect`, `configure`, `test`, `refresh`, `health_check`, `enable`, `disable`, `disconnect`, `sync` or `notification`.
    pub action: contract::EventAction,
    pub success: bool,
    pub code: Option<String>,
    pub message: String,
    /// The provider's platform variables missing now.
    pub missing: Vec<String>,
}

impl From<HistoryEntry<'_>> for HistoryEventOut {
    fn from(h: HistoryEntry<'_>) -> Self {
        let e = h.event;
        HistoryEventOut {
            id: e.id,
            created_at: e.created_at,
            provider_name: h
                .provider
                .map_or_else(|| e.provider.clone(), |p| p.name.clone()),
            provider: e.provider,
            org_id: e.org_id.0,
            org_name: h.org_name,
            action: e.action.into(),
            success: e.success,
            code: e.code.map(|c| c.as_str().to_owned()),
            message: e.message,
            missing: h.missing,
        }
    }
}

/// A provider API version Plugboard pins that its provider switches off soon (or already has).
#[derive(Serialize, ToSchema)]
pub struct VersionSunsetOut {
    pub provider: String,
    pub name: String,
    #[schema(example = "2026-10")]
    pub api_version: String,
    /// The day the provider switches the version off, as it publishes it.
    pub sunsets_on: NaiveDate,
    /// Days until then; 0 or less once it has lapsed.
    pub days_left: i64,
    /// The version is already switched off.
    pub lapsed: bool,
    /// What stops working, e.g. "connection tests and daily health checks stop working for every brand."
    pub breaks: String,
    /// The sentence to show, with the date and what to do.
    pub message: String,
    /// The provider's page that gives the date.
    pub source: String,
}

impl From<VersionAlert<'_>> for VersionSunsetOut {
    fn from(a: VersionAlert<'_>) -> Self {
        let (days_left, lapsed) = match a.standing {
            Standing::Lapsed { days_ago } => (-days_ago, true),
            Standing::Soon { days_left } => (days_left, false),
            Standing::Current => (0, false),
        };
        VersionSunsetOut {
            provider: a.pin.provider.id.clone(),
            name: a.pin.provider.name.clone(),
            api_version: a.pin.version.to_owned(),
            sunsets_on: a.sunsets_on,
            days_left,
            lapsed,
            breaks: a.pin.breaks(),
            message: a.message,
            source: a.pin.source.to_owned(),
        }
    }
}

/// The platform readiness page.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "services": [
        {
            "provider": "shopify",
            "name": "Shopify",
            "description": "Products, orders and checkout from your Shopify store.",
            "category": "commerce",
            "level": "tenant",
            "status": "setup_needed",
            "variables": [
                {
                    "name": "SHOPIFY_API_KEY",
                    "configured": true
                },
                {
                    "name": "SHOPIFY_API_SECRET",
                    "configured": false
                }
            ],
            "missing": [
                "SHOPIFY_API_SECRET"
            ],
            "summary": "Missing 1 required environment variable."
        }
    ],
    "health": [
        {
            "provider": "google_ads",
            "name": "Google Ads",
            "health": "needs_attention",
            "counts": {
                "total": 12,
                "not_connected": 0,
                "connected": 10,
                "expired": 1,
                "error": 1,
                "disabled": 0
            },
            "missing": [],
            "latest_event": {
                "org_id": "5f0c2a9e-8d3b-4b71-9a64-2f1e7c3d9b10",
                "action": "refresh",
                "success": false,
                "code": "refresh_refused",
                "message": "Google Ads refused the refresh token; reconnect to restore the connection.",
                "created_at": "2026-11-24T09:32:05Z"
            },
            "guidance": "2 connections need attention: ask those organizations to reconnect."
        }
    ],
    "checklist": [
        {
            "key": "admin_security",
            "title": "Platform admin security",
            "description": "Decides who sees platform readiness, and signs every user's access token.",
            "priority": "required",
            "collect": [
                "Approved platform admin e-mail list",
                "Long random secret for signing access tokens (48 bytes or more)"
            ],
            "variables": [
                {
                    "name": "PLUGBOARD_ADMIN_EMAILS",
                    "configured": true
                },
                {
                    "name": "PLUGBOARD_JWT_SECRET",
                    "configured": true
                }
            ],
            "status": "ready",
            "missing": [],
            "providers": [],
            "notes": "Keep secrets in the deployment environment or a password manager only. Changing the JWT secret signs everybody out."
        }
    ],
    "history": {
        "data": [
            {
                "id": "a94f3b2c-6d1e-4a87-9c05-e2b8f71d4c36",
                "created_at": "2026-11-24T09:32:05Z",
                "provider": "google_ads",
                "provider_name": "Google Ads",
                "org_id": "5f0c2a9e-8d3b-4b71-9a64-2f1e7c3d9b10",
                "org_name": "Acme",
                "action": "refresh",
                "success": false,
                "code": "refresh_refused",
                "message": "Google Ads refused the refresh token; reconnect to restore the connection.",
                "missing": []
            }
        ],
        "next_cursor": null
    },
    "versions": [],
    "inbound_webhooks": [
        {
            "provider": "shopify",
            "name": "Shopify",
            "scheme": "shopify_hmac",
            "urls": ["https://plugboard.example/api/v1/webhooks/shopify"],
            "secret_variable": "SHOPIFY_API_SECRET",
            "secret_configured": true,
            "docs_url": "https://shopify.dev/docs/apps/build/privacy-law-compliance",
            "last_delivery_at": "2026-11-24T09:31:12Z",
            "accepted": 42,
            "refused": 1,
            "unmatched": 3
        }
    ]
})))]
pub struct ReadinessOut {
    /// Provider API versions that sunset within 90 days (or have), soonest first, with the date
    /// and what breaks.
    pub versions: Vec<VersionSunsetOut>,
    /// Per provider: its platform variables, set or missing.
    pub services: Vec<ServiceReadinessOut>,
    /// Per provider: connections across every organization and retry guidance.
    pub health: Vec<ProviderHealthOut>,
    /// Accounts and keys to collect.
    pub checklist: Vec<ChecklistItemOut>,
    /// Recent history across every provider and organization.
    pub history: PageOut<HistoryEventOut>,
    /// Per provider that sends the platform's app webhooks: the URLs to register, whether the
    /// secret is set, and the deliveries so far.
    pub inbound_webhooks: Vec<InboundWebhookOut>,
}

/// A provider's webhooks to the platform's app.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "provider": "shopify",
    "name": "Shopify",
    "scheme": "shopify_hmac",
    "urls": ["https://plugboard.example/api/v1/webhooks/shopify"],
    "secret_variable": "SHOPIFY_API_SECRET",
    "secret_configured": true,
    "docs_url": "https://shopify.dev/docs/apps/build/privacy-law-compliance",
    "last_delivery_at": "2026-12-06T09:31:12Z",
    "accepted": 42,
    "refused": 1,
    "unmatched": 3
})))]
pub struct InboundWebhookOut {
    pub provider: String,
    pub name: String,
    /// How the provider signs them.
    pub scheme: contract::InboundScheme,
    /// Where to register them with the provider.
    pub urls: Vec<String>,
    /// The platform variable holding the signing secret (never its value).
    pub secret_variable: String,
    pub secret_configured: bool,
    /// The provider's page on registering the URL and how it signs.
    pub docs_url: String,
    /// When the last verified delivery came.
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// Verified and kept.
    pub accepted: i64,
    /// Refused for a missing, wrong or stale signature.
    pub refused: i64,
    /// Verified, but about no connection Plugboard holds.
    pub unmatched: i64,
}

impl From<service::InboundReadiness<'_>> for InboundWebhookOut {
    fn from(r: service::InboundReadiness<'_>) -> Self {
        InboundWebhookOut {
            provider: r.provider.id.clone(),
            name: r.provider.name.clone(),
            scheme: r.scheme.into(),
            urls: r.urls,
            secret_variable: r.secret_env.to_owned(),
            secret_configured: r.secret_set,
            docs_url: r.docs_url.to_owned(),
            last_delivery_at: r.tally.last_delivery_at,
            accepted: r.tally.accepted,
            refused: r.tally.refused,
            unmatched: r.tally.unmatched,
        }
    }
}

/// A platform-level provider's live check with the platform's own variables.
#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "provider": "sentry",
    "ok": true,
    "code": null,
    "message": "Connected to Sentry as acme.",
    "account_name": "acme",
    "account_id": "4508112",
    "checked_at": "2026-11-24T09:32:05Z"
})))]
pub struct PlatformCheckOut {
    pub provider: String,
    pub ok: bool,
    pub code: Option<String>,
    pub message: String,
    pub account_name: Option<String>,
    pub account_id: Option<String>,
    pub checked_at: DateTime<Utc>,
}

impl From<PlatformCheck<'_>> for PlatformCheckOut {
    fn from(c: PlatformCheck<'_>) -> Self {
        let (ok, code, message, account_name, account_id) = match c.outcome {
            VerifyOutcome::Verified {
                account_name,
                account_id,
                message,
            } => (true, None, message, account_name, account_id),
            VerifyOutcome::Failed(f) => (
                false,
                Some(f.code.as_str().to_owned()),
                f.message,
                None,
                None,
            ),
        };
        PlatformCheckOut {
            provider: c.provider.id.clone(),
            ok,
            code,
            message,
            account_name,
            account_id,
            checked_at: c.checked_at,
        }
    }
}

/// Platform readiness: platform variables per provider, connection health across every
/// organization, the account and key checklist, and recent history. Platform admins only.
#[utoipa::path(
    operation_id = "getPlatformReadiness",
    tag = "platform",
    params(PageQuery),
    responses(
        (status = 200, body = ReadinessOut),
        (status = 404, body = Problem, description = "The caller is not a platform admin."),
    ),
    security(("bearer" = []))
)]
#[get("/platform/readiness")]
pub async fn readiness(
    state: web::Data<AppState>,
    _admin: PlatformAdmin,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<ReadinessOut>> {
    let found = service::readiness(&state, query.request()?).await?;
    Ok(web::Json(ReadinessOut {
        versions: found.versions.into_iter().map(Into::into).collect(),
        services: found.services.into_iter().map(Into::into).collect(),
        health: found.health.into_iter().map(Into::into).collect(),
        checklist: found.checklist.into_iter().map(Into::into).collect(),
        history: PageOut::from_page(found.history, Into::into),
        inbound_webhooks: found.inbound.into_iter().map(Into::into).collect(),
    }))
}

/// Runs a platform-level provider's check (Sentry, Better Stack) with the platform's own
/// variables. Nothing is stored. Platform admins only.
#[utoipa::path(
    operation_id = "testPlatformProvider",
    tag = "platform",
    params(("provider" = String, Path)),
    request_body(content = Option<PlatformCheckIn>, description = "Settings for this check, e.g. Sentry's region; each unset one takes its default."),
    responses(
        (status = 200, body = PlatformCheckOut),
        (status = 404, body = Problem, description = "Not a platform admin, or no such provider."),
        (status = 409, body = Problem, description = "Each organization connects this provider itself."),
        (status = 422, body = Problem, description = "A setting is not one of the provider's, or not valid."),
    ),
    security(("bearer" = []))
)]
#[post("/platform/readiness/{provider}/test")]
pub async fn test(
    state: web::Data<AppState>,
    _admin: PlatformAdmin,
    path: web::Path<String>,
    body: Option<web::Json<PlatformCheckIn>>,
) -> ApiResult<web::Json<PlatformCheckOut>> {
    let config = body.map(|b| b.into_inner().config).unwrap_or_default();
    Ok(web::Json(
        service::check_platform_provider(&state, &path, &config)
            .await?
            .into(),
    ))
}

/// Settings for a platform provider's check.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "config": {
        "region": "de.sentry.io"
    }
})))]
pub struct PlatformCheckIn {
    /// The provider's settings by key, e.g. `{"region": "de.sentry.io"}` for an EU Sentry
    /// organization (GET /api/v1/providers lists the fields, their options and defaults).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}
