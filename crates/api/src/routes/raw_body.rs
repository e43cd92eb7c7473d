//! A body read as it came, whole, up to a limit: the proxy forwards it as it is, and a
//! provider's webhook is verified byte for byte before anything parses it.

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::error::{ApiError, ApiResult, ErrorCode};

/// The body, refused with `too_large` as soon as it is declared or read past `limit` bytes.
pub async fn read(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    too_large: impl Fn() -> ApiError,
) -> ApiResult<web::Bytes> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request(
                ErrorCode::UnreadableBody,
                "The request body could not be read whole.",
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
