//! Platform admins: signed-in users whose e-mail is in `PLUGBOARD_ADMIN_EMAILS`. A caller
//! with no valid access token gets the 401 of every other route; every other signed-in user,
//! and every API key, gets the same 404 an unknown path gets: the platform pages do not exist
//! for them.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::UserId;
use futures_util::future::LocalBoxFuture;

use super::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Clone, Copy, Debug)]
pub struct PlatformAdmin(pub UserId);

impl FromRequest for PlatformAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let hidden = ApiError::not_found(format!("Nothing exists at {}.", req.path()));
        let user = AuthUser::from_request(req, payload);
        let is_api_key = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|token| token.trim().starts_with(super::API_KEY_PREFIX));
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("application state is missing"))
            })?;
            // The account is read on every call, so removing an address from the list takes
            // effect at the next request rather than when the access token expires.
            match user.await {
                Ok(AuthUser(user)) if state.settings.is_platform_admin(&user.email) => {
                    Ok(PlatformAdmin(user.id))
                }
                Ok(_) => Err(hidden),
                Err(_) if is_api_key => Err(hidden),
                // No valid access token (401), or the database is down (503).
                Err(err) => Err(err),
            }
        })
    }
}
