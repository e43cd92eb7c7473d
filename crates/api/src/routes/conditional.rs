//! Conditional GETs: answers that polling clients fetch again and again carry an `ETag`, and a
//! request whose `If-None-Match` names the current one is answered `304 Not Modified` with no
//! body, so a poll that finds nothing new costs one small answer.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::body::BoxBody;
use actix_web::http::header::{CACHE_CONTROL, ETAG, HeaderValue, IF_NONE_MATCH};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, Responder};
use domain::OrgId;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// A JSON answer with an `ETag` (a digest of its body).
pub struct Tagged<T>(pub T);

impl<T: Serialize> Responder for Tagged<T> {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        match Rendered::of(&self.0) {
            Ok(rendered) => rendered.respond_to(req),
            Err(err) => actix_web::ResponseError::error_response(&err),
        }
    }
}

/// A JSON answer serialized once, with its `ETag`. Cloning shares the bytes, so one rendering
/// can answer many requests.
#[derive(Clone)]
pub struct Rendered {
    body: Bytes,
    etag: HeaderValue,
}

impl Rendered {
    pub fn of<T: Serialize>(value: &T) -> ApiResult<Self> {
        // Lists run to tens of kilobytes: start big enough to skip most regrowth.
        let mut body = Vec::with_capacity(16 * 1024);
        serde_json::to_writer(&mut body, value).map_err(ApiError::internal)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &body);
        let tag = format!("\"{}\"", hex::encode(&digest.as_ref()[..16]));
        Ok(Rendered {
            body: body.into(),
            etag: HeaderValue::from_str(&tag).map_err(ApiError::internal)?,
        })
    }
}

impl Responder for Rendered {
    type Body = BoxBody;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse {
        // The caller's own browser may keep the answer to revalidate it; nothing shared may.
        let cache = (CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
        if matches(req, &self.etag) {
            return HttpResponse::NotModified()
                .insert_header((ETAG, self.etag))
                .insert_header(cache)
                .finish();
        }
        HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((ETAG, self.etag))
            .insert_header(cache)
            .body(self.body)
    }
}

/// Whether `If-None-Match` names `tag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
fn matches(req: &HttpRequest, tag: &HeaderValue) -> bool {
    let tag = tag.as_bytes();
    req.headers()
        .get_all(IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim())
        .any(|v| v == "*" || v.strip_prefix("W/").unwrap_or(v).as_bytes() == tag)
}

/// Answers kept per organization with the version of the data they were made from, so a list
/// polled again and again costs one small query instead of being rebuilt. Every replica keeps
/// its own and asks the database for the version each time, so none serves an answer another
/// replica's write has outdated.
pub struct AnswerCache {
    entries: Mutex<HashMap<OrgId, (i64, Rendered)>>,
    capacity: usize,
}

impl AnswerCache {
    /// Keeps at most `capacity` answers (none with 0); when full, one is dropped to make room.
    /// Which one matters little: an organization still polling gets its answer kept again on
    /// its next request.
    pub fn new(capacity: usize) -> Self {
        AnswerCache {
            entries: Mutex::new(HashMap::with_capacity(capacity)),
            capacity,
        }
    }

    /// The answer kept for the organization, if it was made from data at this version.
    pub fn get(&self, org_id: OrgId, version: i64) -> Option<Rendered> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(&org_id)
            .filter(|(kept, _)| *kept == version)
            .map(|(_, answer)| answer.clone())
    }

    /// Keeps an answer made from data at `version` (read before the data, so the answer is at
    /// least that new), replacing whatever was kept for the organization.
    pub fn put(&self, org_id: OrgId, version: i64, answer: Rendered) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&org_id) {
            let dropped = entries.keys().next().copied();
            if let Some(dropped) = dropped {
                entries.remove(&dropped);
            }
        }
        entries.insert(org_id, (version, answer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> Rendered {
        Rendered::of(&text).unwrap()
    }

    #[test]
    fn a_kept_answer_is_given_only_for_its_version_and_room_is_made_when_full() {
        let cache = AnswerCache::new(2);
        let [a, b, c] = [0, 1, 2].map(|_| OrgId(uuid::Uuid::new_v4()));
        cache.put(a, 7, answer("a"));
        assert_eq!(cache.get(a, 7).map(|r| r.body), Some(Bytes::from("\"a\"")));
        assert!(
            cache.get(a, 8).is_none(),
            "a newer version is not served the older answer"
        );
        assert!(
            cache.get(b, 7).is_none(),
            "another organization's answer is never given"
        );

        cache.put(a, 8, answer("a2"));
        cache.put(b, 1, answer("b"));
        cache.put(c, 1, answer("c"));
        let kept = [a, b, c]
            .iter()
            .filter(|org| cache.get(**org, 1).is_some() || cache.get(**org, 8).is_some())
            .count();
        assert_eq!(kept, 2, "never more than its capacity");
        assert!(cache.get(c, 1).is_some(), "the newest answer is kept");
    }
}
