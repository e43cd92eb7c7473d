//! Extractor failures (bad JSON, bad path or query, a body over its limit) answered as
//! problem+json too.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, ResponseError, web};

use crate::error::{ApiError, ErrorCode};

/// The largest JSON body accepted.
pub const JSON_LIMIT: usize = 64 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|err, _req: &HttpRequest| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BodyTooLarge,
                format!("The request body is larger than {} KiB.", JSON_LIMIT / 1024),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::unprocessable(
            ErrorCode::InvalidBody,
            format!("The body does not fit this endpoint: {e}."),
        ),
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("The body is not valid JSON: {e}."),
        ),
        other => ApiError::bad_request(
            ErrorCode::UnreadableBody,
            format!("The body could not be read: {other}."),
        ),
    }
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err: PathError, _req| {
        ApiError::not_found("Nothing exists at this path: one of its ids is not valid.").into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("The query string is not valid: {err}."),
        )
        .into()
    })
}

/// A JSON body that may be left out: an empty body is `T::default()`; anything else must be
/// JSON that fits, with the same answers as every other body (400 malformed, 415 not JSON, 422
/// unknown or wrong fields).
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if body.len() > JSON_LIMIT {
        return Err(json_error(JsonPayloadError::Overflow { limit: JSON_LIMIT }));
    }
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    if !is_json {
        return Err(json_error(JsonPayloadError::ContentType));
    }
    serde_json::from_slice(body).map_err(|e| json_error(JsonPayloadError::Deserialize(e)))
}

/// Every error answer under `/api/` is problem+json, whoever made it: a refusal raised inside
/// actix (a body over an extractor's limit, a body cut short, a malformed header) arrives as
/// plain text and is rewritten here, keeping its status.
pub async fn problems_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    // The provider's own answers through the proxy keep their form.
    let proxied = response
        .headers()
        .contains_key(crate::routes::proxy::PROXIED);
    if !(status.is_client_error() || status.is_server_error())
        || is_problem
        || proxied
        || !response.request().path().starts_with("/api/")
    {
        return Ok(response);
    }
    let problem = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            ErrorCode::BodyTooLarge,
            format!("The request body is larger than {} KiB.", JSON_LIMIT / 1024),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        _ if status.is_client_error() => ApiError::new(
            status,
            ErrorCode::UnreadableBody,
            "The request could not be read: check its headers, and that the body is whole and matches its Content-Length.",
        ),
        _ => ApiError::internal(anyhow::anyhow!("a {status} answer that was not a problem")),
    };
    let (req, _) = response.into_parts();
    Ok(ServiceResponse::new(req, problem.error_response()))
}

/// Raw bodies (`web::Bytes`, forms) are held to the JSON limit too: no route takes more.
pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(JSON_LIMIT)
}
