//! The provider sandbox's mode switch. A mode holds for every organization (the sandbox plays
//! one provider for all of them), so only a platform admin may switch it; for anyone else the
//! path does not exist. The sandbox's own pages stay in the sandbox crate.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sandbox::{Sandbox, SwitchError};
use serde::Deserialize;

use crate::auth::PlatformAdmin;
use crate::error::{ApiError, ApiResult, FieldError};

#[derive(Deserialize)]
pub struct ModeForm {
    mode: String,
}

/// POST /sandbox/_modes/{provider} with `mode=healthy|revoked|unavailable|slow|stale|rate_limited|huge|endless`: back to the
/// control page.
pub async fn set_mode(
    _admin: PlatformAdmin,
    sandbox: web::Data<Sandbox>,
    provider: web::Path<String>,
    form: web::Form<ModeForm>,
) -> ApiResult<HttpResponse> {
    sandbox
        .switch(&provider, &form.mode)
        .map_err(|err| match err {
            SwitchError::UnknownProvider(_) => ApiError::not_found(err.to_string()),
            SwitchError::UnknownMode(_) => {
                ApiError::validation(vec![FieldError::new("mode", err.to_string())])
            }
        })?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/sandbox"))
        .finish())
}
