//! `Idempotency-Key` on the POSTs of an organization's routes: the first answer to a caller's
//! key for one operation is kept for a day (sealed, since some answers show a secret once) and given again to a
//! retry of the same request; the same key with another request is a 422, and a retry while the
//! first request still runs is a 409. A request that fails on Plugboard's side (5xx) frees its
//! key, so a retry does the work.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use domain::OrgId;
use domain::crypto::SecretAad;
use persistence::idempotency::{self, Begun, Claim, Kept};
use secrecy::ExposeSecret;

use crate::auth::TenantContext;
use crate::error::{ApiError, ErrorCode};
use crate::request_errors::JSON_LIMIT;
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer given again for a key.
const REPLAYED: &str = "idempotent-replayed";

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = req.headers().get(IDEMPOTENCY_KEY).cloned();
    let context = req.extensions().get::<TenantContext>().cloned();
    // A proxied call's Idempotency-Key is the provider's (Stripe honours it), and its
    // answer is streamed, never kept.
    let proxied = crate::routes::proxy::is_proxy_path(req.path());
    let (Some(key), Some(context), true) = (key, context, req.method() == Method::POST && !proxied)
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = scoped(&req, &valid_key(&key)?);
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state is missing")))?;
    let body = read_body(&mut req).await?;
    let fingerprint = fingerprint(&req, &body);
    let caller = context.caller_id();
    let org_id = context.org_id;
    let claim = Claim {
        caller: &caller,
        key: &key,
        fingerprint: &fingerprint,
        now: chrono::Utc::now(),
    };
    match idempotency::begin(&state.db, org_id, claim)
        .await
        .map_err(ApiError::from)?
    {
        Begun::Started => {}
        Begun::Replay(kept) => {
            let answer = replay(&state, org_id, &key, kept)?;
            return Ok(req.into_response(answer));
        }
        Begun::InFlight => {
            return Err(ApiError::conflict(
                ErrorCode::IdempotencyInFlight,
                "A request with this Idempotency-Key is still running; retry once it has finished to get its answer.",
            )
            .into());
        }
        Begun::OtherRequest => {
            return Err(ApiError::unprocessable(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used for a different request in the last 24 hours; send a new key for a new request.",
            )
            .into());
        }
    }
    req.set_payload(Payload::from(body));
    let forget = || idempotency::abandon(&state.db, org_id, &caller, &key);
    let response = match next.call(req).await {
        Ok(response) if !response.status().is_server_error() => response,
        other => {
            if let Err(err) = forget().await {
                tracing::warn!(error = %err, "an idempotency key could not be freed");
            }
            return Ok(other?.map_into_boxed_body());
        }
    };
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = to_bytes(body.boxed())
        .await
        .map_err(|err| ApiError::internal(anyhow::anyhow!("reading an answer: {err}")))?;
    let kept = keep(&state, org_id, &key, head.status(), &head, &bytes)?;
    idempotency::complete(&state.db, org_id, &caller, &key, kept)
        .await
        .map_err(ApiError::from)?;
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(bytes)),
    ))
}

/// A key is 1 to 255 visible ASCII characters (a UUID is the usual choice).
fn valid_key(value: &HeaderValue) -> Result<String, ApiError> {
    value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID.",
            )
        })
}

async fn read_body(req: &mut ServiceRequest) -> Result<web::Bytes, ApiError> {
    let read = req
        .extract::<web::Bytes>()
        .await
        .map_err(|err| err.as_response_error().status_code());
    match read {
        Ok(body) if body.len() <= JSON_LIMIT => Ok(body),
        Ok(_) | Err(StatusCode::PAYLOAD_TOO_LARGE) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!("The request body is larger than {} KiB.", JSON_LIMIT / 1024),
        )),
        Err(_) => Err(ApiError::bad_request(
            ErrorCode::UnreadableBody,
            "The body could not be read.",
        )),
    }
}

/// A key belongs to one operation (method and path): the same value sent to another endpoint
/// is another key. Stored as a digest, so keys a client sends are never kept as they are.
fn scoped(req: &ServiceRequest, key: &str) -> String {
    digest(&[
        req.method().as_str().as_bytes(),
        req.path().as_bytes(),
        key.as_bytes(),
    ])
}

/// What makes two requests the same: method, path with query, and body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let uri = req.uri().to_string();
    digest(&[req.method().as_str().as_bytes(), uri.as_bytes(), body])
}

/// SHA-256 of the parts, each followed by a line break, in hex.
fn digest(parts: &[&[u8]]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(part);
        context.update(b"\n");
    }
    hex::encode(context.finish())
}

fn aad(org_id: OrgId, key: &str) -> SecretAad<'_> {
    SecretAad {
        org_id,
        provider: "idempotency",
        field: key,
    }
}

fn keep(
    state: &AppState,
    org_id: OrgId,
    key: &str,
    status: StatusCode,
    head: &HttpResponse<()>,
    body: &[u8],
) -> Result<Kept, ApiError> {
    let text = String::from_utf8_lossy(body);
    Ok(Kept {
        status: status.as_u16(),
        content_type: head
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: state
            .keys
            .encrypt(&aad(org_id, key), &text)
            .map_err(ApiError::internal)?,
        key_id: state.keys.active_key_id().to_owned(),
    })
}

fn replay(
    state: &AppState,
    org_id: OrgId,
    key: &str,
    kept: Kept,
) -> Result<HttpResponse, ApiError> {
    let body = state
        .keys
        .decrypt(&aad(org_id, key), &kept.body)
        .map_err(|_| {
            ApiError::conflict(
                ErrorCode::IdempotencyKeyReused,
                "The first answer to this Idempotency-Key can no longer be read; send a new key.",
            )
        })?;
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut answer = HttpResponse::build(status);
    if let Some(content_type) = kept.content_type {
        answer.insert_header((CONTENT_TYPE, content_type));
    }
    answer.insert_header((HeaderName::from_static(REPLAYED), "true"));
    Ok(answer.body(body.expose_secret().to_owned()))
}
