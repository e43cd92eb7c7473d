//! `/orgs/{org_id}/integrations`: every provider with the organization's connection to it.

use std::collections::BTreeMap;

use actix_web::{get, patch, post, web};
use chrono::{DateTime, Utc};
use domain::model::{Actor, ConnectionEvent, LastUse};
use domain::registry::AuthKind;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::ListOut;
use super::conditional::{AnswerCache, Rendered, Tagged};
use super::paging::{self, PageOut};
use crate::auth::{OrgAdmin, OrgMember};
use crate::contract::{
    ActorType, AuthType, Category, ConnectionStatus, EventAction, OnboardingClass,
};
use crate::error::{ApiResult, ErrorCode, Problem};
use crate::services::catalog::{self, IntegrationView};
use crate::services::checks::{ACCESS_TOKEN, REFRESH_TOKEN};
use crate::services::integrations::{self as service, Change};
use crate::state::AppState;
use crate::validation::validated;
use persistence::connections;
use persistence::events::EventFilter;

/// Whether a secret is set; at most its last four characters are ever shown.
#[derive(Serialize, ToSchema)]
pub struct CredentialOut {
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
}

/// A machine code and a sentence a person can act on.
#[derive(Serialize, ToSchema)]
pub struct LastErrorOut {
    pub code: ErrorCode,
    pub message: String,
}

/// Who last called a provider through the proxy with a connection, and when (to the minute).
#[derive(Serialize, ToSchema)]
pub struct LastUseOut {
    pub at: DateTime<Utc>,
    pub by_type: ActorType,
    pub by_id: Option<uuid::Uuid>,
    /// The key's or the person's name at the time.
    pub by_name: Option<String>,
}

impl From<LastUse> for LastUseOut {
    fn from(used: LastUse) -> Self {
        LastUseOut {
            at: used.at,
            by_type: ActorType::from(&used.by),
            by_id: used.by.parts().1,
            by_name: used.by_name,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "provider": "openai",
    "name": "OpenAI",
    "description": "AI-written recommendations and content on top of your own data.",
    "category": "ai",
    "category_label": "AI",
    "logo": "openai",
    "docs_url": "https://platform.openai.com/docs/api-reference/models/list",
    "auth_type": "api_key",
    "onboarding": "optional",
    "status": "connected",
    "enabled": true,
    "live": true,
    "usable": true,
    "needs_attention": false,
    "last_used": {
        "at": "2026-11-24T10:02:40Z",
        "by_type": "api_key",
        "by_id": "c3a7d1e4-92b6-4f08-8e5d-1b7f3a6c2d49",
        "by_name": "Partner app"
    },
    "credentials": {
        "api_key": {
            "configured": true,
            "last4": "WXYZ"
        }
    },
    "config": {},
    "account_name": "Acme Inc.",
    "account_id": "org-8fK2mQ4sLw9Z",
    "scopes": [],
    "token_expires_at": null,
    "last_tested_at": "2026-11-24T09:31:12Z",
    "last_sync_at": null,
    "last_error": null,
    "connected_at": "2026-11-24T09:31:12Z",
    "disconnected_at": null
})))]
pub struct IntegrationOut {
    pub provider: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub category_label: &'static str,
    pub logo: String,
    pub docs_url: String,
    pub auth_type: AuthType,
    pub onboarding: OnboardingClass,
    pub status: ConnectionStatus,
    pub enabled: bool,
    /// Connected once and not disconnected since, whatever its health: disabled, expired and
    /// failing connections are live.
    pub live: bool,
    /// Connected and switched on: Plugboard uses it now (the proxy, feature flags, onboarding
    /// steps that need it).
    pub usable: bool,
    /// Expired or failing: someone has to act (reconnect, or fix what `last_error` says).
    pub needs_attention: bool,
    /// The last call through the proxy with this connection, and who made it.
    pub last_used: Option<LastUseOut>,
    /// Per secret field: whether it is set.
    pub credentials: BTreeMap<String, CredentialOut>,
    /// Non-secret settings.
    pub config: BTreeMap<String, String>,
    pub account_name: Option<String>,
    pub account_id: Option<String>,
    pub scopes: Vec<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_tested_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<LastErrorOut>,
    pub connected_at: Option<DateTime<Utc>>,
    pub disconnected_at: Option<DateTime<Utc>>,
}

impl From<IntegrationView<'_>> for IntegrationOut {
    fn from(view: IntegrationView<'_>) -> Self {
        let p = view.provider;
        let hint = |key: &str| view.secrets.iter().find(|h| h.field == key);
        let mut credentials: BTreeMap<String, CredentialOut> = p
            .secret_fields()
            .map(|f| {
                let found = hint(&f.key);
                (
                    f.key.clone(),
                    CredentialOut {
                        configured: found.is_some(),
                        last4: found.and_then(|h| h.last4.clone()),
                    },
                )
            })
            .collect();
        if p.auth.kind() == AuthKind::Oauth2 {
            for key in [ACCESS_TOKEN, REFRESH_TOKEN] {
                credentials.insert(
                    key.to_owned(),
                    CredentialOut {
                        configured: hint(key).is_some(),
                        last4: None,
                    },
                );
            }
        }
        let c = view.connection;
        let status = c
            .as_ref()
            .map_or(domain::ConnectionStatus::NotConnected, |c| c.status);
        IntegrationOut {
            provider: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.into(),
            category_label: p.category.label(),
            logo: p.logo.clone(),
            docs_url: p.docs_url.clone(),
            auth_type: p.auth.kind().into(),
            onboarding: p.onboarding.into(),
            status: status.into(),
            enabled: c.as_ref().is_none_or(|c| c.enabled),
            live: status.is_live(),
            usable: domain::lifecycle::usable(c.as_ref()).is_ok(),
            last_used: c
                .as_ref()
                .and_then(|c| c.last_used.clone())
                .map(LastUseOut::from),
            needs_attention: c
                .as_ref()
                .is_some_and(|c| domain::lifecycle::needs_attention(c, p)),
            credentials,
            config: c.as_ref().map(|c| c.config.clone()).unwrap_or_default(),
            account_name: c.as_ref().and_then(|c| c.account_name.clone()),
            account_id: c.as_ref().and_then(|c| c.account_id.clone()),
            scopes: c.as_ref().map(|c| c.scopes.clone()).unwrap_or_default(),
            token_expires_at: c.as_ref().and_then(|c| c.token_expires_at),
            last_tested_at: c.as_ref().and_then(|c| c.last_tested_at),
            last_sync_at: c.as_ref().and_then(|c| c.last_sync_at),
            last_error: c
                .as_ref()
                .and_then(|c| domain::lifecycle::problem_shown(c, p))
                .map(|e| LastErrorOut {
                    code: e.code.into(),
                    message: e.message,
                }),
            connected_at: c.as_ref().and_then(|c| c.connected_at),
            disconnected_at: c.as_ref().and_then(|c| c.disconnected_at),
        }
    }
}

/// A change to a connection. Credentials are write-only; `null` removes an optional value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "credentials": {
        "api_key": "sk-proj-4fJ9kQ2mX7vL0pR8sT3wWXYZ"
    }
})))]
pub struct IntegrationPatch {
    /// Secret fields by key, e.g. `{"api_key": "sk-…"}`. Verified with the provider before saving.
    #[schema(value_type = Option<BTreeMap<String, Option<String>>>)]
    pub credentials: Option<BTreeMap<String, Option<SecretString>>>,
    /// Non-secret settings by key.
    pub config: Option<BTreeMap<String, Option<String>>>,
    /// `false` disables the connection and keeps its credentials.
    pub enabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "ok": true,
    "status": "connected",
    "code": null,
    "message": "Connected to OpenAI as Acme Inc.",
    "checked_at": "2026-11-24T09:32:05Z"
})))]
pub struct TestOut {
    pub ok: bool,
    /// The connection's status after the test.
    pub status: ConnectionStatus,
    /// Why the test failed, when it did.
    pub code: Option<ErrorCode>,
    pub message: String,
    pub checked_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "id": "a94f3b2c-6d1e-4a87-9c05-e2b8f71d4c36",
    "provider": "openai",
    "action": "test",
    "success": true,
    "code": null,
    "message": "Connected to OpenAI as Acme Inc.",
    "actor_type": "api_key",
    "actor_id": "c3a7d1e4-92b6-4f08-8e5d-1b7f3a6c2d49",
    "created_at": "2026-11-24T09:32:05Z"
})))]
pub struct EventOut {
    pub id: uuid::Uuid,
    pub provider: String,
    pub action: EventAction,
    pub success: bool,
    /// A machine code for what happened, such as a failed check's problem code.
    pub code: Option<String>,
    pub message: String,
    pub actor_type: ActorType,
    pub actor_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<ConnectionEvent> for EventOut {
    fn from(e: ConnectionEvent) -> Self {
        let actor_type = ActorType::from(&e.actor);
        let actor_id = match e.actor {
            Actor::User(id) => Some(id.0),
            Actor::ApiKey(id) => Some(id.0),
            Actor::System => None,
        };
        EventOut {
            id: e.id,
            provider: e.provider,
            action: e.action.into(),
            success: e.success,
            code: e.code.map(|c| c.as_str().to_owned()),
            message: e.message,
            actor_type,
            actor_id,
            created_at: e.created_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IntegrationsQuery {
    /// Only connections in this status (`not_connected` lists what is not connected yet).
    pub status: Option<ConnectionStatus>,
    /// Only providers of this category.
    pub category: Option<Category>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// At most this many events (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// The previous page's `next_cursor`, as it was given.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
    /// Only events of this action.
    pub action: Option<EventAction>,
    /// Only events that succeeded (`true`) or failed (`false`).
    pub success: Option<bool>,
}

type ProviderPath = web::Path<(uuid::Uuid, String)>;

/// Every provider, with the organization's connection status.
#[utoipa::path(
    operation_id = "listIntegrations",
    tag = "integrations",
    params(
        ("org_id" = uuid::Uuid, Path),
        IntegrationsQuery,
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the answer you hold.")
    ),
    responses(
        (status = 200, body = ListOut<IntegrationOut>, headers(("ETag" = String, description = "Changes whenever the answer does; send it back as `If-None-Match`."))),
        (status = 304, description = "Nothing changed since the `ETag` sent in `If-None-Match`; no body.", headers(("ETag" = String))),
        (status = 401, body = Problem),
        (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/integrations")]
pub async fn list(
    state: web::Data<AppState>,
    answers: web::Data<AnswerCache>,
    member: OrgMember,
    query: web::Query<IntegrationsQuery>,
) -> ApiResult<Rendered> {
    let org_id = member.0.org_id;
    let render = || async {
        let data = catalog::list(&state, org_id)
            .await?
            .into_iter()
            .map(IntegrationOut::from)
            .filter(|i| query.status.is_none_or(|s| s == i.status))
            .filter(|i| query.category.is_none_or(|c| c == i.category))
            .collect();
        Rendered::of(&ListOut::<IntegrationOut> { data })
    };
    if query.status.is_some() || query.category.is_some() {
        return render().await;
    }
    // The whole list is what the SPA and partners poll: it is kept, and made again only
    // once a connection has changed.
    let version = connections::list_version(&state.db, org_id).await?;
    if let Some(kept) = answers.get(org_id, version) {
        return Ok(kept);
    }
    let answer = render().await?;
    answers.put(org_id, version, answer.clone());
    Ok(answer)
}

/// One provider with the organization's connection.
#[utoipa::path(
    operation_id = "getIntegration",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path), ("If-None-Match" = Option<String>, Header, description = "The `ETag` of the answer you hold.")),
    responses(
        (status = 200, body = IntegrationOut, headers(("ETag" = String, description = "Changes whenever the answer does; send it back as `If-None-Match`."))),
        (status = 304, description = "Nothing changed since the `ETag` sent in `If-None-Match`; no body.", headers(("ETag" = String))),
        (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/integrations/{provider}")]
pub async fn get(
    state: web::Data<AppState>,
    member: OrgMember,
    path: ProviderPath,
) -> ApiResult<Tagged<IntegrationOut>> {
    Ok(Tagged(
        catalog::get(&state, member.0.org_id, &path.1).await?.into(),
    ))
}

/// Saves credentials (verified first; nothing is stored if the provider refuses them), settings,
/// or the enable switch.
#[utoipa::path(
    operation_id = "updateIntegration",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path)),
    request_body = IntegrationPatch,
    responses(
        (status = 200, body = IntegrationOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem, description = "Invalid fields, or the provider refused the credentials."),
        (status = 503, body = Problem, description = "The provider could not be reached; nothing was saved."),
    ),
    security(("bearer" = []))
)]
#[patch("/integrations/{provider}")]
#[tracing::instrument(skip_all, fields(provider = %path.1))]
pub async fn update(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: ProviderPath,
    body: web::Json<IntegrationPatch>,
) -> ApiResult<web::Json<IntegrationOut>> {
    let patch = body.into_inner();
    let change = Change {
        credentials: patch.credentials.unwrap_or_default(),
        config: patch.config.unwrap_or_default(),
        enabled: patch.enabled,
    };
    Ok(web::Json(
        service::update(&state, &admin.0, &path.1, change)
            .await?
            .into(),
    ))
}

/// Runs the provider's verify request against the stored credentials.
#[utoipa::path(
    operation_id = "testIntegration",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path)),
    responses((status = 200, body = TestOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = []))
)]
#[post("/integrations/{provider}/test")]
#[tracing::instrument(skip_all, fields(provider = %path.1))]
pub async fn test(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: ProviderPath,
) -> ApiResult<web::Json<TestOut>> {
    let report = service::test(&state, &admin.0, &path.1).await?;
    Ok(web::Json(TestOut {
        ok: report.ok,
        status: report.status.into(),
        code: report.code.map(ErrorCode::from),
        message: report.message,
        checked_at: report.checked_at,
    }))
}

/// Which page of a provider's resources, and what to look for in it.
#[derive(Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResourceQuery {
    /// The previous page's `next_cursor`, as it was given.
    #[validate(length(
        min = 1,
        max = 2048,
        message = "A cursor is the `next_cursor` of the page before, as it was given."
    ))]
    #[param(min_length = 1, max_length = 2048)]
    pub cursor: Option<String>,
    /// Keeps the items whose id or name holds this, case aside.
    #[validate(length(max = 200, message = "Search with 200 characters at most."))]
    #[param(max_length = 200)]
    pub q: Option<String>,
}

/// One thing a connection can be pointed at.
#[derive(Serialize, ToSchema)]
pub struct ResourceOut {
    /// What the setting stores when it is chosen (`act_1234567890`, `C0123456789`).
    pub id: String,
    pub name: Option<String>,
    /// A fact beside the name, as the provider gives it.
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "data": [
        {"id": "act_100000000000000", "name": "Acme Sandbox Ads 01", "detail": null},
        {"id": "act_100000000000001", "name": "Acme Sandbox Ads 02", "detail": null}
    ],
    "next_cursor": "c2FuZGJveDoyNQ"
})))]
pub struct ResourcePageOut {
    pub data: Vec<ResourceOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// What the connection can be pointed at, listed live from the provider with the connection
/// (a page kept a minute): Meta's ad accounts and pixels, Google Ads customers, TikTok
/// advertisers and pixels, GA4 properties and web streams, Search Console sites, YouTube
/// channels, Klaviyo lists, Slack channels, Google calendars. Choose one by saving its id in
/// the setting the provider names (`PATCH`, `config`). A kind listed under another's choice
/// (a pixel under its ad account) is a 409 `parent_not_chosen` until that one is chosen.
#[utoipa::path(
    operation_id = "listIntegrationResources",
    tag = "integrations",
    params(
        ("org_id" = uuid::Uuid, Path),
        ("provider" = String, Path),
        ("kind" = String, Path, description = "`ad_account`, `pixel`, `customer`, `property`, `channel`, `list`…: what the provider has to choose from."),
        ResourceQuery
    ),
    responses(
        (status = 200, body = ResourcePageOut),
        (status = 400, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such provider or kind, or the provider is not connected."),
        (status = 409, body = Problem, description = "The connection is off, expired or failing, the provider refused to list, or the kind's parent is not chosen yet."),
        (status = 422, body = Problem),
        (status = 502, body = Problem),
        (status = 503, body = Problem),
        (status = 504, body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/integrations/{provider}/resources/{kind}")]
#[tracing::instrument(skip_all, fields(provider = %path.1, kind = %path.2))]
pub async fn resources(
    state: web::Data<AppState>,
    member: OrgMember,
    path: web::Path<(uuid::Uuid, String, String)>,
    query: web::Query<ResourceQuery>,
) -> ApiResult<web::Json<ResourcePageOut>> {
    let query = validated(query.into_inner())?;
    let (_, provider, kind) = path.into_inner();
    let listing = crate::services::resources::list(
        &state,
        member.0.org_id,
        &member.0.actor(),
        &provider,
        &kind,
        query.cursor.as_deref(),
        query.q.as_deref(),
    )
    .await?;
    Ok(web::Json(ResourcePageOut {
        data: listing
            .items
            .into_iter()
            .map(|item| ResourceOut {
                id: item.id,
                name: item.name,
                detail: item.detail,
            })
            .collect(),
        next_cursor: listing.next_cursor,
    }))
}

/// Renews an OAuth connection's access token now with its refresh token. A refusal marks the
/// connection `expired` (reconnect to restore it); an outage keeps the tokens and answers 503.
#[utoipa::path(
    operation_id = "refreshIntegrationToken",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path)),
    responses((status = 200, body = IntegrationOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = []))
)]
#[post("/integrations/{provider}/refresh")]
#[tracing::instrument(skip_all, fields(provider = %path.1))]
pub async fn refresh(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: ProviderPath,
) -> ApiResult<web::Json<IntegrationOut>> {
    let ctx = &admin.0;
    Ok(web::Json(
        crate::services::refresh::refresh(&state, ctx.org_id, &ctx.actor(), &path.1)
            .await?
            .into(),
    ))
}

/// Deletes every secret; the connection keeps its settings and history.
#[utoipa::path(
    operation_id = "disconnectIntegration",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path)),
    responses((status = 200, body = IntegrationOut), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[post("/integrations/{provider}/disconnect")]
pub async fn disconnect(
    state: web::Data<AppState>,
    admin: OrgAdmin,
    path: ProviderPath,
) -> ApiResult<web::Json<IntegrationOut>> {
    Ok(web::Json(
        service::disconnect(&state, &admin.0, &path.1).await?.into(),
    ))
}

/// The connection's history, newest first.
#[utoipa::path(
    operation_id = "listIntegrationEvents",
    tag = "integrations",
    params(("org_id" = uuid::Uuid, Path), ("provider" = String, Path), EventsQuery),
    responses((status = 200, body = PageOut<EventOut>), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/integrations/{provider}/events")]
pub async fn events(
    state: web::Data<AppState>,
    member: OrgMember,
    path: ProviderPath,
    query: web::Query<EventsQuery>,
) -> ApiResult<web::Json<PageOut<EventOut>>> {
    let request = paging::request(query.limit, query.cursor.as_deref())?;
    let filter = EventFilter {
        action: query
            .action
            .map(|a| domain::model::EventAction::from(a).as_str()),
        success: query.success,
    };
    let page = service::history(&state, member.0.org_id, &path.1, filter, request).await?;
    Ok(web::Json(PageOut::from_page(page, EventOut::from)))
}
