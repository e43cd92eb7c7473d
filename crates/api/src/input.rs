//! One rule for every string that comes in, whatever the route: no control characters other
//! than tab and line breaks. They have no meaning in a name, an address or a key, a NUL cannot
//! be stored by PostgreSQL at all, and refusing them here answers both databases alike — a 422
//! naming the field — before any handler or query sees the value.

use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Decompress, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::error::{ApiError, FieldError};
use crate::request_errors::JSON_LIMIT;

/// Whether a string holds a character the rule refuses.
fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn refusal(field: String) -> ApiError {
    let message = format!(
        "{field} contains a control character (such as NUL or ESC); remove it and send the value again."
    );
    ApiError::validation(vec![FieldError::new(field, message)])
}

/// The path of the first string in a JSON document that breaks the rule, e.g. `config.shop`
/// or `scopes[1]`. A key that breaks it is reported as its object (`body` at the top).
fn offending_field(value: &Value, path: &str) -> Option<String> {
    let named = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(text) => has_control(text).then(|| named(path)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| offending_field(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if has_control(key) {
                return Some(named(path));
            }
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            offending_field(item, &child)
        }),
        _ => None,
    }
}

fn is_json(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
}

type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// Reads a (decompressed) body of up to `JSON_LIMIT` bytes. A longer or unreadable one is
/// handed back as it was (the part read so far put in front of the rest), so the JSON
/// extractor answers it as it always does.
async fn read_small_body(mut stream: BodyStream) -> Result<Bytes, Payload> {
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            // Unreadable (cut short, say): the extractor meets the same failure and answers it.
            Err(err) => {
                let failed: BodyStream =
                    Box::pin(futures_util::stream::once(async move { Err(err) }));
                return Err(prepend(body.freeze(), failed));
            }
        };
        body.extend_from_slice(&chunk);
        if body.len() > JSON_LIMIT {
            return Err(prepend(body.freeze(), stream));
        }
    }
    Ok(body.freeze())
}

fn prepend(read: Bytes, rest: BodyStream) -> Payload {
    let stream: BodyStream =
        Box::pin(futures_util::stream::once(async move { Ok(read) }).chain(rest));
    Payload::from(stream)
}

/// The rule for every route outside an organization. An organization's routes apply it
/// themselves after the tenant check, so another tenant's routes answer 404 whatever the body.
pub async fn outside_organizations(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if req.path().starts_with(ORGANIZATIONS) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    Ok(refuse_control_characters(req, next)
        .await?
        .map_into_boxed_body())
}

const ORGANIZATIONS: &str = "/api/v1/orgs/";

pub async fn refuse_control_characters(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // A proxied call's query and body are the provider's; the proxy checks its path itself.
    // A provider's webhook is the provider's, verified over its raw bytes before any parsing.
    if crate::routes::proxy::is_proxy_path(req.path())
        || crate::routes::webhooks::is_webhook_path(req.path())
    {
        return next.call(req).await;
    }
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if has_control(&key) {
            return Err(refusal("query".to_owned()).into());
        }
        if has_control(&value) {
            return Err(refusal(key.into_owned()).into());
        }
    }
    if is_json(&req) {
        // Decompressed here, so the check sees what the handler will; the header goes, so
        // the extractor does not decompress a second time.
        let body: BodyStream = {
            let payload = req.parts_mut().1.take();
            Box::pin(Decompress::from_headers(payload, req.headers()))
        };
        req.headers_mut().remove(header::CONTENT_ENCODING);
        match read_small_body(body).await {
            Ok(body) => {
                // Bodies that are not JSON are the extractor's to answer.
                if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                    // Every body is an object (or `null` for an optional one); serde would
                    // read some structs from an array.
                    if !value.is_object() && !value.is_null() {
                        return Err(ApiError::validation(vec![FieldError::new(
                            "body",
                            "The body must be a JSON object with the fields this endpoint takes.",
                        )])
                        .into());
                    }
                    if let Some(field) = offending_field(&value, "") {
                        return Err(refusal(field).into());
                    }
                }
                req.set_payload(Payload::from(body));
            }
            Err(unread) => req.set_payload(unread),
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_are_named_by_their_path() {
        let doc = json!({"a": "ok", "config": {"shop": "x\u{0}"}});
        assert_eq!(offending_field(&doc, "").as_deref(), Some("config.shop"));
        let doc = json!({"scopes": ["fine", "b\u{1b}"]});
        assert_eq!(offending_field(&doc, "").as_deref(), Some("scopes[1]"));
        let doc = json!({"k\u{0}": 1});
        assert_eq!(offending_field(&doc, "").as_deref(), Some("body"));
        let doc = json!({"pem": "-----BEGIN-----\r\n\tabc\n-----END-----"});
        assert_eq!(offending_field(&doc, ""), None);
        assert!(has_control("\u{7f}") && has_control("\u{85}"));
    }
}
