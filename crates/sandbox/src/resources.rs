//! The providers' APIs as far as Plugboard uses them: the verify request answers with an
//! account where the registry looks for it, on the API version the registry pins, and Shopify
//! also counts products (GraphQL `productsCount`).

use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::registry::{Provider, Verify};
use serde_json::{Value, json};

use crate::grants::Kind;
use crate::{Mode, Sandbox, api, listings, query_of, slack};

/// Headers every client sends; anything else may carry a credential.
const ORDINARY_HEADERS: &[&str] = &[
    "host",
    "accept",
    "accept-encoding",
    "content-type",
    "content-length",
    "user-agent",
    "connection",
    "x-request-id",
];

/// A key containing this is refused, so a person can see what a wrong key looks like.
const REFUSED_KEY_MARKER: &str = "invalid";

pub fn handle(
    sandbox: &Sandbox,
    provider: &Provider,
    host: &str,
    path: &str,
    request: &HttpRequest,
    body: &[u8],
) -> HttpResponse {
    let credentials = credentials_of(request, body);
    let token = match authorize(sandbox, provider, &credentials) {
        Ok(token) => token,
        Err(message) => return error(401, "unauthorized", &message),
    };
    if let Some(version) = provider.api_version.as_deref()
        && !asks_for(request, path, version)
    {
        return error(
            400,
            "unsupported_version",
            &format!(
                "The sandbox serves {} API version {version} only, as the registry pins it.",
                provider.name
            ),
        );
    }
    if let Some(answer) = api::mode_answer(sandbox, provider) {
        return answer;
    }
    let shared = sandbox.mode(&provider.id) != Mode::Unshared;
    if provider.id == "slack"
        && let Some(answer) = slack::answer(&sandbox.slack_messages, path, request, body, shared)
    {
        return answer;
    }
    let query = query_of(request);
    let asked = listings::Asked {
        host,
        path,
        method: request.method(),
        query: &query,
        body,
        token: token.as_deref(),
        shared,
    };
    if let Some(answer) = listings::answer(sandbox, provider, &asked).or_else(|| {
        api::answer(
            provider,
            host,
            path,
            request,
            body,
            token.as_deref(),
            shared,
        )
    }) {
        return answer;
    }
    if is_graphql_query(body, "productsCount") {
        return HttpResponse::Ok()
            .json(json!({ "data": { "productsCount": { "count": 42, "precision": "EXACT" } } }));
    }
    let Verify::Http(verify) = &provider.verify else {
        return error(404, "not_found", "This provider has no API in the sandbox.");
    };
    let (name, id) = account_of(provider, host);
    let mut answer = Value::Null;
    if let Some(pointer) = &verify.account_name {
        set_pointer(&mut answer, pointer, Value::String(name));
    }
    if let Some(pointer) = &verify.account_id {
        set_pointer(&mut answer, pointer, Value::String(id));
    }
    if let Some(success) = &verify.success
        && let Some(equals) = &success.equals
    {
        set_pointer(&mut answer, &success.pointer, equals.clone());
    }
    if answer.is_null() {
        answer = json!({});
    }
    HttpResponse::Ok().json(answer)
}

/// Whether the request names the pinned version, in its path or in a header (Klaviyo's
/// `revision`, `Stripe-Version`, `Plaid-Version`).
fn asks_for(request: &HttpRequest, path: &str, version: &str) -> bool {
    path.split('/').any(|segment| segment == version)
        || request
            .headers()
            .iter()
            .any(|(_, value)| value.to_str().is_ok_and(|v| v.trim() == version))
}

/// Whether a GraphQL request's query asks for `field` (Shopify's product count).
fn is_graphql_query(body: &[u8], field: &str) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|json| json.get("query")?.as_str().map(|q| q.contains(field)))
        .unwrap_or(false)
}

/// Whether the request carries a credential this provider accepts; for an OAuth provider,
/// the access token that opened.
fn authorize(
    sandbox: &Sandbox,
    provider: &Provider,
    credentials: &[String],
) -> Result<Option<String>, String> {
    if credentials.is_empty() {
        return Err("No credentials were sent.".to_owned());
    }
    if provider.oauth().is_some() {
        let stale_before = match sandbox.mode(&provider.id) {
            Mode::Stale(since) => Some(since),
            _ => None,
        };
        let live = credentials.iter().find_map(|c| {
            sandbox
                .open_live(c, Kind::Access, &provider.id)
                .map(|grant| (c, grant))
        });
        return match live {
            Some((_, grant)) if stale_before.is_some_and(|since| grant.issued_at <= since) => Err(
                "The access token has expired (mode: stale); renew it and try again.".to_owned(),
            ),
            Some((token, _)) => Ok(Some(token.clone())),
            None => Err("The access token is invalid, expired or was revoked.".to_owned()),
        };
    }
    if credentials.iter().any(|c| c.contains(REFUSED_KEY_MARKER)) {
        return Err("The API key was refused.".to_owned());
    }
    Ok(None)
}

/// Every value that could be a credential: non-ordinary headers (basic auth decoded, bearer
/// prefix dropped), query values and body values.
fn credentials_of(request: &HttpRequest, body: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, value) in request.headers() {
        if ORDINARY_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        if let Some(basic) = value.strip_prefix("Basic ") {
            let decoded = STANDARD
                .decode(basic.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            found.extend(decoded.split(':').map(str::to_owned));
        } else {
            let value = value.strip_prefix("Bearer ").unwrap_or(value);
            found.push(value.trim().to_owned());
        }
    }
    found.extend(query_of(request).into_values());
    if let Ok(json) = serde_json::from_slice::<Value>(body) {
        collect_strings(&json, &mut found);
    } else {
        found.extend(url::form_urlencoded::parse(body).map(|(_, v)| v.into_owned()));
    }
    found.retain(|c| !c.is_empty());
    found
}

fn collect_strings(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, into)),
        Value::Object(fields) => fields.values().for_each(|v| collect_strings(v, into)),
        _ => {}
    }
}

/// The sandbox's account: a Shopify shop is named after its host; everything else is Acme's.
fn account_of(provider: &Provider, host: &str) -> (String, String) {
    if let Some(shop) = host.strip_suffix(".myshopify.com") {
        let mut name: String = shop.replace('-', " ");
        if let Some(first) = name.get(..1) {
            name = first.to_uppercase() + &name[1..];
        }
        return (format!("{name} (sandbox)"), host.to_owned());
    }
    (
        format!("Acme Sandbox · {}", provider.name),
        format!("sandbox-{}-001", provider.id),
    )
}

/// Writes a value at a JSON pointer, creating objects, and arrays for numeric segments.
fn set_pointer(root: &mut Value, pointer: &str, value: Value) {
    let mut current = root;
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        current = match segment.parse::<usize>() {
            Ok(index) => {
                if !current.is_array() {
                    *current = Value::Array(Vec::new());
                }
                let Value::Array(items) = current else { return };
                while items.len() <= index {
                    items.push(Value::Null);
                }
                &mut items[index]
            }
            Err(_) => {
                if !current.is_object() {
                    *current = json!({});
                }
                let Value::Object(fields) = current else {
                    return;
                };
                fields.entry(segment).or_insert(Value::Null)
            }
        };
    }
    *current = value;
}

pub fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({
        "error": { "code": code, "message": message },
        "errors": message,
        "message": message,
    }))
}

pub fn unavailable() -> HttpResponse {
    error(
        503,
        "unavailable",
        "The sandbox provider is down (mode: unavailable).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_build_the_answer_the_registry_reads() {
        let mut answer = Value::Null;
        set_pointer(&mut answer, "/data/list/0/advertiser_name", json!("Acme"));
        set_pointer(&mut answer, "/data/list/0/advertiser_id", json!("42"));
        set_pointer(&mut answer, "/code", json!(0));
        assert_eq!(
            answer.pointer("/data/list/0/advertiser_name"),
            Some(&json!("Acme"))
        );
        assert_eq!(
            answer.pointer("/data/list/0/advertiser_id"),
            Some(&json!("42"))
        );
        assert_eq!(answer.pointer("/code"), Some(&json!(0)));
        let mut list = Value::Null;
        set_pointer(&mut list, "/0/name", json!("Acme"));
        assert_eq!(list, json!([{ "name": "Acme" }]));
    }
}
