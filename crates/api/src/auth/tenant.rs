//! Tenancy in the type system. `tenant_guard` wraps every `/orgs/{org_id}` route: it
//! authenticates the caller, loads the membership (or API key) for that organization and puts a
//! `TenantContext` in the request, before any body is read. Non-members get 404: another
//! tenant's resources do not exist for them. Handlers then take `OrgMember`, `OrgAdmin` or
//! `OrgOwnerOrAdmin`, which only read that context.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use domain::ids::ApiKeyId;
use domain::model::Actor;
use domain::model::User;
use domain::{OrgId, Role, UserId};
use futures_util::future::LocalBoxFuture;
use persistence::{api_keys, orgs, users};
use tracing::Instrument;

use crate::contract::Scope;
use crate::error::ApiError;
use crate::recent::Recent;
use crate::state::AppState;

/// Who is calling inside an organization.
#[derive(Clone, Debug)]
pub enum Caller {
    User {
        id: UserId,
        role: Role,
    },
    ApiKey {
        id: ApiKeyId,
        scopes: Vec<String>,
        /// The providers it may call through the proxy; `None`: every one.
        providers: Option<Vec<String>>,
    },
}

/// The checked caller of an `/orgs/{org_id}` route.
#[derive(Clone, Debug)]
pub struct TenantContext {
    pub org_id: OrgId,
    pub caller: Caller,
}

impl TenantContext {
    /// Who is calling, as a stable string (`user:<id>` or `key:<id>`): the caller's own rate
    /// budget and idempotency keys are kept under it.
    pub fn caller_id(&self) -> String {
        match &self.caller {
            Caller::User { id, .. } => format!("user:{}", id.0),
            Caller::ApiKey { id, .. } => format!("key:{}", id.0),
        }
    }

    pub fn actor(&self) -> Actor {
        match &self.caller {
            Caller::User { id, .. } => Actor::User(*id),
            Caller::ApiKey { id, .. } => Actor::ApiKey(*id),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match &self.caller {
            Caller::User { id, .. } => Some(*id),
            Caller::ApiKey { .. } => None,
        }
    }

    /// Whether a key holds one of `scopes` (users are not limited by scopes).
    fn key_holds(&self, wanted: &[Scope]) -> bool {
        match &self.caller {
            Caller::User { .. } => true,
            Caller::ApiKey { scopes, .. } => scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .any(|s| wanted.contains(&s)),
        }
    }

    /// Members read integrations; so do keys with an integrations scope.
    fn can_read(&self) -> bool {
        self.key_holds(&[Scope::IntegrationsRead, Scope::IntegrationsWrite])
    }

    /// Admins and owners change integrations; so do keys with the write scope.
    fn can_write(&self) -> bool {
        match &self.caller {
            Caller::User { role, .. } => role.can_manage(),
            Caller::ApiKey { .. } => self.key_holds(&[Scope::IntegrationsWrite]),
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state is missing")))
}

fn no_such_org() -> ApiError {
    ApiError::not_found("No organization with that id exists for you.")
}

fn unauthenticated() -> ApiError {
    ApiError::unauthorized(
        "Sign in first: send `Authorization: Bearer <access token or organization API key>`.",
    )
}

/// The signed-in user, from a Bearer access token whose account still exists.
#[derive(Clone, Debug)]
pub struct AuthUser(pub User);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let token = bearer(&req).ok_or_else(unauthenticated)?;
            let state = state(&req)?;
            let user_id = state.jwt.check(token).ok_or_else(invalid_token)?;
            users::get(&state.db, user_id)
                .await?
                .map(AuthUser)
                .ok_or_else(account_gone)
        })
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized(
        "The access token is invalid or has expired. Log in again or refresh it.",
    )
}

/// A token signed for an account that was deleted since: as good as no token.
fn account_gone() -> ApiError {
    ApiError::unauthorized("This account no longer exists. Sign up again.")
}

/// Who presented a bearer: a signed-in user, or the API key with this hash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Bearer {
    User(UserId),
    Key(String),
}

/// Who each bearer is in an organization, as read within the last second: a member's role, a
/// key's scopes. Membership and key changes in this process forget them at once; another
/// replica's are seen within the second. 10 000 at most.
pub type RecentCallers = Recent<(OrgId, Bearer), Caller>;

pub fn recent_callers() -> RecentCallers {
    Recent::new(std::time::Duration::from_secs(1), 10_000)
}

async fn authenticate(req: &HttpRequest, org_id: OrgId) -> Result<TenantContext, ApiError> {
    let state = state(req)?;
    let token = bearer(req).ok_or_else(unauthenticated)?;
    let bearer = if token.starts_with(super::API_KEY_PREFIX) {
        Bearer::Key(super::hash_token(token))
    } else {
        Bearer::User(state.jwt.check(token).ok_or_else(invalid_token)?)
    };
    let caller = state
        .recent_callers
        .get_or_read(
            (org_id, bearer.clone()),
            read_caller(state, org_id, &bearer),
        )
        .await?;
    match (caller, bearer) {
        (Some(caller), _) => Ok(TenantContext { org_id, caller }),
        (None, Bearer::Key(_)) => Err(ApiError::unauthorized(
            "This API key is not valid, or it was revoked.",
        )),
        // Not a member: either of this organization, or of anything any more.
        (None, Bearer::User(user)) => Err(if users::get(&state.db, user).await?.is_none() {
            account_gone()
        } else {
            no_such_org()
        }),
    }
}

/// Who the bearer is in the organization; `None` for a key that is not live or a user who is
/// not a member.
async fn read_caller(
    state: &AppState,
    org_id: OrgId,
    bearer: &Bearer,
) -> Result<Option<Caller>, ApiError> {
    let hash = match bearer {
        Bearer::User(user) => {
            let role = orgs::role_of(&state.db, org_id, *user).await?;
            return Ok(role.map(|role| Caller::User { id: *user, role }));
        }
        Bearer::Key(hash) => hash,
    };
    let Some(key) = api_keys::find_live(&state.db, hash).await? else {
        return Ok(None);
    };
    // A key opens only its own organization; every other one does not exist for it.
    if key.org_id != org_id {
        return Err(no_such_org());
    }
    // "Last used" to the minute is enough; it spares a write on most requests.
    let stale = key
        .last_used_at
        .is_none_or(|at| chrono::Utc::now() - at > chrono::Duration::minutes(1));
    if stale {
        api_keys::touch(&state.db, org_id, key.id).await?;
    }
    Ok(Some(Caller::ApiKey {
        id: key.id,
        scopes: key.scopes,
        providers: key.providers,
    }))
}

/// Middleware for the `/orgs/{org_id}` scope.
pub async fn tenant_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let org_id: OrgId = req
        .match_info()
        .get("org_id")
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(no_such_org)?;
    let context = authenticate(req.request(), org_id).await?;
    req.extensions_mut().insert(context);
    let span = tracing::info_span!("tenant", org_id = %org_id);
    next.call(req).instrument(span).await
}

fn context(req: &HttpRequest) -> Result<TenantContext, ApiError> {
    req.extensions()
        .get::<TenantContext>()
        .cloned()
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "tenant route registered outside tenant_guard"
            ))
        })
}

/// Any member of the organization, or a key with a read scope.
#[derive(Debug)]
pub struct OrgMember(pub TenantContext);

impl FromRequest for OrgMember {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(context(req).and_then(|ctx| {
            if ctx.can_read() {
                Ok(OrgMember(ctx))
            } else {
                Err(missing_scope(Scope::IntegrationsRead))
            }
        }))
    }
}

/// Any member of the organization, or a key with `members:read`: may see who belongs to it
/// and who is invited (e-mail addresses included).
#[derive(Debug)]
pub struct MembersReader(pub TenantContext);

impl FromRequest for MembersReader {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(context(req).and_then(|ctx| {
            if ctx.key_holds(&[Scope::MembersRead]) {
                Ok(MembersReader(ctx))
            } else {
                Err(missing_scope(Scope::MembersRead))
            }
        }))
    }
}

fn missing_scope(scope: Scope) -> ApiError {
    ApiError::forbidden(format!(
        "This API key lacks the `{}` scope this needs; create a key that has it.",
        scope.as_str()
    ))
}

/// An admin or owner, or a key with the write scope: may change integrations.
#[derive(Debug)]
pub struct OrgAdmin(pub TenantContext);

impl FromRequest for OrgAdmin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(context(req).and_then(|ctx| {
            if ctx.can_write() {
                Ok(OrgAdmin(ctx))
            } else if matches!(ctx.caller, Caller::ApiKey { .. }) {
                Err(missing_scope(Scope::IntegrationsWrite))
            } else {
                Err(ApiError::forbidden(
                    "Only admins and owners of this organization can change this.",
                ))
            }
        }))
    }
}

/// A signed-in admin or owner (not an API key): may manage members and keys.
#[derive(Debug)]
pub struct OrgOwnerOrAdmin {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
}

impl FromRequest for OrgOwnerOrAdmin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(context(req).and_then(|ctx| match ctx.caller {
            Caller::User { id, role } if role.can_manage() => Ok(OrgOwnerOrAdmin {
                org_id: ctx.org_id,
                user_id: id,
                role,
            }),
            Caller::User { .. } => Err(ApiError::forbidden(
                "Only admins and owners of this organization can change this.",
            )),
            Caller::ApiKey { .. } => Err(ApiError::forbidden(
                "API keys cannot manage members or keys; sign in as an admin.",
            )),
        }))
    }
}

/// An admin or owner, or a key with a proxy scope for this method: may call a provider
/// through the proxy with the organization's connection. `proxy:read` covers GET and HEAD,
/// `proxy:write` every method; members may not (the provider's data is the admins' to share).
#[derive(Debug)]
pub struct OrgProxyCaller(pub TenantContext);

impl FromRequest for OrgProxyCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let reads = matches!(
            *req.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
        ready(context(req).and_then(|ctx| match &ctx.caller {
            Caller::User { role, .. } if role.can_manage() => Ok(OrgProxyCaller(ctx)),
            Caller::User { .. } => Err(ApiError::forbidden(
                "Only admins and owners of this organization can call providers through Plugboard.",
            )),
            Caller::ApiKey { .. } => {
                let allowed: &[Scope] = if reads {
                    &[Scope::ProxyRead, Scope::ProxyWrite]
                } else {
                    &[Scope::ProxyWrite]
                };
                if !ctx.key_holds(allowed) {
                    Err(missing_scope(if reads {
                        Scope::ProxyRead
                    } else {
                        Scope::ProxyWrite
                    }))
                } else if let Some(limited) = outside_key_providers(&ctx, req) {
                    Err(limited)
                } else {
                    Ok(OrgProxyCaller(ctx))
                }
            }
        }))
    }
}

/// A key limited to some providers, called for another: 403 naming the ones it may reach.
fn outside_key_providers(ctx: &TenantContext, req: &HttpRequest) -> Option<ApiError> {
    let Caller::ApiKey {
        providers: Some(providers),
        ..
    } = &ctx.caller
    else {
        return None;
    };
    let asked = req.match_info().get("provider").unwrap_or_default();
    if providers.iter().any(|p| p == asked) {
        return None;
    }
    Some(ApiError::forbidden(format!(
        "This API key may call only {} through Plugboard; create a key that lists `{asked}` to call it.",
        providers.join(", ")
    )))
}
