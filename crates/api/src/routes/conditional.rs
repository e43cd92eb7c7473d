//! Conditional GETs: answers that polling clients fetch again and again carry an `ETag`, and a
//! request whose `If-None-Match` names the current one is answered `304 Not Modified` with no
//! body, so a poll that finds nothing new costs one small answer.

use actix_web::body::BoxBody;
use actix_web::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, Responder};
use serde::Serialize;

/// A JSON answer with an `ETag` (a digest of its body).
pub struct Tagged<T>(pub T);

impl<T: Serialize> Responder for Tagged<T> {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        let body = match serde_json::to_vec(&self.0) {
            Ok(body) => body,
            Err(err) => {
                return actix_web::ResponseError::error_response(
                    &crate::error::ApiError::internal(err),
                );
            }
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, &body);
        let tag = format!("\"{}\"", hex::encode(&digest.as_ref()[..16]));
        // The caller's own browser may keep the answer to revalidate it; nothing shared may.
        let cache = (CACHE_CONTROL, "private, no-cache");
        if matches(req, &tag) {
            return HttpResponse::NotModified()
                .insert_header((ETAG, tag))
                .insert_header(cache)
                .finish();
        }
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((ETAG, tag))
            .insert_header(cache)
            .body(body)
    }
}

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
fn matches(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim())
        .any(|v| v == "*" || v.strip_prefix("W/").unwrap_or(v) == tag)
}
