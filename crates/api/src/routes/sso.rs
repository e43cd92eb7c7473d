//! Signing in with Microsoft or Google, and the identities linked to the signed-in user.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use domain::IdentityId;
use domain::sso::{Identity, SsoFailure, SsoProvider};
use persistence::identities::{self, Unlinked};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ListOut;
use super::browser_binding::SSO;
use crate::auth::{AuthUser, Throttles};
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::services::sso::{self, Begun, Finished};
use crate::state::AppState;

/// A provider people can sign in with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SsoProviderId {
    Microsoft,
    Google,
}

impl From<SsoProviderId> for SsoProvider {
    fn from(id: SsoProviderId) -> Self {
        match id {
            SsoProviderId::Microsoft => SsoProvider::Microsoft,
            SsoProviderId::Google => SsoProvider::Google,
        }
    }
}

impl From<SsoProvider> for SsoProviderId {
    fn from(provider: SsoProvider) -> Self {
        match provider {
            SsoProvider::Microsoft => SsoProviderId::Microsoft,
            SsoProvider::Google => SsoProviderId::Google,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SsoProviderOut {
    pub id: SsoProviderId,
    /// E.g. `Microsoft`: the button reads "Sign in with Microsoft".
    pub name: &'static str,
    /// Where the sign-in button sends the browser (add `?next=/path` to come back there).
    pub start_url: String,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "providers": [
        { "id": "microsoft", "name": "Microsoft", "start_url": "/api/v1/auth/sso/microsoft/start" }
    ]
})))]
pub struct SsoProvidersOut {
    /// Only the providers this server is set up for.
    pub providers: Vec<SsoProviderOut>,
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "id": "4f1c2b7e-9a0d-4c1e-8b3a-2d6f5e7c9a10",
    "provider": "microsoft",
    "tenant_id": "9188040d-6c67-4c5b-b112-36a304b66dad",
    "email": "ann@acme.example",
    "created_at": "2026-12-06T09:30:00Z",
    "last_used_at": "2026-12-06T09:30:00Z"
})))]
pub struct IdentityOut {
    pub id: uuid::Uuid,
    pub provider: SsoProviderId,
    /// Entra's tenant; none for Google.
    pub tenant_id: Option<String>,
    /// The address the provider gave when it was linked.
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

impl From<Identity> for IdentityOut {
    fn from(identity: Identity) -> Self {
        IdentityOut {
            id: identity.id.0,
            provider: identity.provider.into(),
            tenant_id: Some(identity.tenant_id).filter(|t| !t.is_empty()),
            email: identity.email,
            created_at: identity.created_at,
            last_used_at: identity.last_used_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "authorization_url": "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?client_id=…&state=…"
})))]
pub struct LinkStartOut {
    /// Send the browser here; it comes back to the account page.
    pub authorization_url: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SsoStartQuery {
    /// A path on this site to land on after signing in, e.g. `/platform`.
    #[param(max_length = 512)]
    pub next: Option<String>,
}

fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// The SPA page that tells what went wrong.
fn failure_landing(failure: SsoFailure, linking: bool) -> String {
    let page = if linking { "/account" } else { "/login" };
    format!("{page}?error={}", failure.as_str())
}

/// The sign-in providers this server is set up for (none when neither is configured).
#[utoipa::path(
    operation_id = "listSsoProviders",
    tag = "auth",
    responses((status = 200, body = SsoProvidersOut))
)]
#[get("/auth/sso")]
pub async fn providers(state: web::Data<AppState>) -> web::Json<SsoProvidersOut> {
    web::Json(SsoProvidersOut {
        providers: sso::configured(&state.settings)
            .into_iter()
            .map(|p| SsoProviderOut {
                id: p.into(),
                name: p.name(),
                start_url: format!("/api/v1/auth/sso/{}/start", p.as_str()),
            })
            .collect(),
    })
}

/// Starts signing in with a provider: a 303 to its sign-in page. The browser gets the
/// `pb_sso` cookie (`__Host-pb_sso` over HTTPS) that the callback must see again.
#[utoipa::path(
    operation_id = "startSsoSignIn",
    tag = "auth",
    params(("provider" = SsoProviderId, Path), SsoStartQuery),
    responses(
        (status = 303, description = "To the provider's sign-in page; to `/login?error=sso_provider_unavailable` when the provider cannot be reached.",
            headers(("Location" = String, description = "Where to go"))),
        (status = 400, body = Problem),
        (status = 404, body = Problem, description = "This server is not set up for that provider."),
    )
)]
#[get("/auth/sso/{provider}/start")]
pub async fn start(
    state: web::Data<AppState>,
    path: web::Path<SsoProviderId>,
    query: web::Query<SsoStartQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let provider = SsoProvider::from(path.into_inner());
    let (nonce, cookie) = SSO.bind(&req, &state)?;
    match sso::start(&state, provider, query.next.as_deref(), None, &nonce).await? {
        Begun::Redirect(url) => Ok(see_other(url.as_str()).cookie(cookie).finish()),
        Begun::Failed(failure) => Ok(see_other(&failure_landing(failure, false)).finish()),
    }
}

/// Where the provider sends the browser back.
///
/// Answers 303: into the SPA signed in (the refresh cookie set, as a password log-in sets it), to `/account?linked={provider}` after a
/// link, or to `/login?error={code}` (`/account?error={code}` when linking) with a code the
/// page turns into a sentence: `sso_access_denied`, `sso_provider_error`, `sso_invalid_state`,
/// `sso_browser_mismatch`, `sso_missing_code`, `sso_provider_unavailable`, `sso_code_refused`,
/// `sso_invalid_token`, `sso_email_unverified` (the provider did not vouch for the address:
/// log in with the password and link from the account page), `sso_identity_taken` or
/// `sso_throttled`. Never a token or the provider's code.
#[utoipa::path(
    operation_id = "completeSsoSignIn",
    tag = "auth",
    params(
        ("provider" = SsoProviderId, Path),
        ("code" = Option<String>, Query),
        ("state" = Option<String>, Query),
        ("error" = Option<String>, Query),
    ),
    responses(
        (status = 303, description = "Back to the SPA with the outcome.",
            headers(("Location" = String, description = "The SPA page to land on"))),
        (status = 404, body = Problem, description = "This server is not set up for that provider."),
        (status = 503, body = Problem),
    )
)]
#[get("/auth/sso/{provider}/callback")]
pub async fn callback(
    state: web::Data<AppState>,
    throttles: web::Data<Throttles>,
    path: web::Path<SsoProviderId>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let provider = SsoProvider::from(path.into_inner());
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
    let nonce = SSO.nonce(&req, &state);
    let finished = sso::callback(
        &state,
        &throttles,
        provider,
        &query,
        nonce.as_deref(),
        req.peer_addr().map(|a| a.ip()),
    )
    .await?;
    Ok(match finished {
        Finished::SignedIn { user, landing } => {
            let (_, cookie) = super::auth::session(&state, user).await?;
            see_other(&landing).cookie(cookie).finish()
        }
        Finished::Linked => see_other(&format!("/account?linked={}", provider.as_str())).finish(),
        Finished::Failed { failure, linking } => {
            tracing::info!(
                provider = provider.as_str(),
                failure = failure.as_str(),
                "a sign-in did not complete"
            );
            see_other(&failure_landing(failure, linking)).finish()
        }
    })
}

/// The identities (Microsoft, Google) the signed-in user can sign in with.
#[utoipa::path(
    operation_id = "listMyIdentities",
    tag = "auth",
    responses((status = 200, body = ListOut<IdentityOut>), (status = 401, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/identities")]
pub async fn list_identities(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> ApiResult<web::Json<ListOut<IdentityOut>>> {
    let data = identities::list(&state.db, caller.0.id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(web::Json(ListOut { data }))
}

/// Which provider to link an account of.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({ "provider": "microsoft" })))]
pub struct IdentityLinkIn {
    pub provider: SsoProviderId,
}

/// Starts linking another identity to the signed-in user: answers the provider's URL to send
/// the browser to (and sets the `pb_sso` cookie); the callback links it and lands on
/// `/account?linked={provider}`.
#[utoipa::path(
    operation_id = "linkIdentity",
    tag = "auth",
    request_body = IdentityLinkIn,
    responses(
        (status = 200, body = LinkStartOut),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "This server is not set up for that provider."),
        (status = 422, body = Problem),
        (status = 503, body = Problem, description = "The provider cannot be reached; try again later.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security(("bearer" = []))
)]
#[post("/me/identities")]
pub async fn link_identity(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<IdentityLinkIn>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let provider = SsoProvider::from(body.provider);
    let (nonce, cookie) = SSO.bind(&req, &state)?;
    match sso::start(&state, provider, None, Some(caller.0.id), &nonce).await? {
        Begun::Redirect(url) => Ok(HttpResponse::Ok().cookie(cookie).json(LinkStartOut {
            authorization_url: url.to_string(),
        })),
        Begun::Failed(failure) => Err(ApiError::unavailable(
            ErrorCode::ProviderUnavailable,
            failure.sentence(),
        )
        .retry_after(60)),
    }
}

/// Unlinks one of the signed-in user's identities. Refused (409 `last_sign_in_method`) when it
/// is the last way in: no password and no other identity.
#[utoipa::path(
    operation_id = "unlinkIdentity",
    tag = "auth",
    params(("identity_id" = uuid::Uuid, Path)),
    responses(
        (status = 204, description = "Unlinked."),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "No such identity among yours."),
        (status = 409, body = Problem, description = "It is your last way to sign in."),
    ),
    security(("bearer" = []))
)]
#[delete("/me/identities/{identity_id}")]
pub async fn unlink_identity(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<uuid::Uuid>,
) -> ApiResult<HttpResponse> {
    let id = IdentityId(path.into_inner());
    match identities::unlink(&state.db, caller.0.id, id, domain::sso::may_unlink).await? {
        Unlinked::Done => Ok(HttpResponse::NoContent().finish()),
        Unlinked::NotFound => Err(ApiError::not_found("You have no such linked identity.")),
        Unlinked::Refused => Err(ApiError::conflict(
            ErrorCode::LastSignInMethod,
            "This is your only way to sign in: link another account first.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use domain::sso::SsoFailure;

    #[test]
    fn the_callback_documents_every_failure_code() {
        let doc = crate::openapi::document_value().unwrap();
        let described = doc["paths"]["/api/v1/auth/sso/{provider}/callback"]["get"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for failure in SsoFailure::ALL {
            assert!(
                described.contains(&format!("`{}`", failure.as_str())),
                "{}",
                failure.as_str()
            );
        }
    }
}
