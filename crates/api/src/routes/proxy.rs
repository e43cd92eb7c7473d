//! `/orgs/{org_id}/integrations/{provider}/proxy/{path}`: a provider's API called with the
//! organization's connection. The credential is injected and never returned; the answer is
//! streamed back with `Plugboard-Proxied: true`, every stored secret kept out of it.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, head, patch, post, put, web};
use futures_util::StreamExt;

use crate::auth::OrgProxyCaller;
use actix_web::ResponseError;

use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem};
use crate::proxy_metrics::{Origin, ProxyMetrics};
use crate::services::proxy::{self as service, Call, Proxied};
use crate::state::AppState;

/// Set on every answer that comes from the provider; Plugboard's own answers are problem+json
/// without it.
pub const PROXIED: &str = "plugboard-proxied";
/// How often the caller lets Plugboard wait out a 429 or 503.
pub const RETRIES: &str = "plugboard-retries";

/// Whether a request path is a proxy call (its body and answer are the provider's business,
/// not checked or kept by the organization routes' middleware).
pub fn is_proxy_path(path: &str) -> bool {
    let parts: Vec<&str> = path.splitn(9, '/').collect();
    parts.len() == 9
        && parts[1..4] == ["api", "v1", "orgs"]
        && parts[5] == "integrations"
        && parts[7] == "proxy"
}

/// The path after `…/proxy/`, exactly as the caller sent it (still percent-encoded).
fn raw_tail(path: &str) -> &str {
    path.splitn(9, '/').nth(8).unwrap_or_default()
}

type ProxyPath = web::Path<(uuid::Uuid, String, String)>;

/// Reads the request body, refusing one over the limit before anything is sent.
async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> ApiResult<web::Bytes> {
    super::raw_body::read(req, payload, limit, || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BodyTooLarge,
            format!(
                "The request body is larger than {} MB, the most Plugboard forwards; nothing was sent to the provider.",
                limit / (1024 * 1024)
            ),
        )
    })
    .await
}

/// Relays the call and counts it on `/metrics`, whoever answered.
async fn forward(
    state: web::Data<AppState>,
    caller: OrgProxyCaller,
    req: HttpRequest,
    path: ProxyPath,
    payload: web::Payload,
    metrics: web::Data<ProxyMetrics>,
) -> ApiResult<HttpResponse> {
    let method = crate::latency::method_label(req.method());
    // Only a registry id names a series, so made-up providers cannot multiply them.
    let provider = state
        .registry
        .get(&path.1)
        .map_or_else(|| "unknown".to_owned(), |p| p.id.clone());
    let mut timings = None;
    let answer = relay(state, caller, req, path, payload, &mut timings).await;
    let (status, origin) = match &answer {
        Ok(answer) if answer.headers().contains_key(PROXIED) => {
            (answer.status().as_u16(), Origin::Provider)
        }
        Ok(answer) => (answer.status().as_u16(), Origin::Plugboard),
        Err(err) => (err.status_code().as_u16(), Origin::Plugboard),
    };
    metrics.observe(&provider, method, status, origin, timings);
    answer
}

/// `timings` gets the provider's time to the answer head and the time Plugboard added.
async fn relay(
    state: web::Data<AppState>,
    caller: OrgProxyCaller,
    req: HttpRequest,
    path: ProxyPath,
    payload: web::Payload,
    timings: &mut Option<(Duration, Duration)>,
) -> ApiResult<HttpResponse> {
    let ctx = caller.0;
    let provider = path.1.clone();
    let limits = state.settings.proxy;
    let body = read_body(&req, payload, limits.max_request).await?;
    // From here on the time is Plugboard's or the provider's, not the caller's upload.
    let started = Instant::now();
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("method: {e}")))?;
    let raw_path = raw_tail(req.uri().path()).to_owned();
    let headers = req
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let proxy_base = format!(
        "{}/api/v1/orgs/{}/integrations/{provider}/proxy",
        state.settings.public_url.as_str().trim_end_matches('/'),
        ctx.org_id
    );
    let retries = retries_asked(&req)?;
    let call = Call {
        method: method.clone(),
        path: raw_path,
        query: req.uri().query().map(str::to_owned),
        headers,
        body,
        proxy_base,
        retries,
        injected_query: std::collections::BTreeMap::new(),
    };
    let logged_path = call.path.clone();
    let Proxied {
        response,
        rewriter,
        waited,
        upstream,
    } = service::call(&state, ctx.org_id, &ctx.actor(), &provider, call).await?;
    let added = started.elapsed().saturating_sub(upstream + waited);
    *timings = Some((upstream, added));
    let status = response.status().as_u16();
    tracing::info!(
        caller = %ctx.caller_id(),
        provider = %provider,
        method = %method,
        path = %logged_path,
        status,
        upstream_ms = upstream.as_millis(),
        added_ms = added.as_millis(),
        waited_ms = waited.as_millis(),
        "proxied"
    );
    if response
        .content_length()
        .is_some_and(|length| length > limits.max_answer)
    {
        return Err(service::too_large());
    }
    let mut answer =
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY));
    let listed = connection_listed(response.headers());
    for (name, value) in response.headers() {
        if !domain::proxy::forwards_response_header(name.as_str(), &listed) {
            continue;
        }
        // A value that is not text cannot be checked for secrets, so it does not pass.
        let Ok(text) = value.to_str() else { continue };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_str(&rewriter.whole(text)),
        ) else {
            continue;
        };
        answer.append_header((name, value));
    }
    answer.insert_header((
        HeaderName::from_static(PROXIED),
        HeaderValue::from_static("true"),
    ));
    let cap = limits.max_answer;
    // Streamed as it comes: counted against the cap, rewritten chunk by chunk.
    let body = futures_util::stream::unfold(
        Some((response.bytes_stream(), rewriter, 0u64)),
        move |state| async move {
            let (mut upstream, mut rewriter, mut seen) = state?;
            loop {
                match upstream.next().await {
                    Some(Ok(chunk)) => {
                        seen += chunk.len() as u64;
                        if seen > cap {
                            tracing::warn!("a proxied answer passed the size cap; cut there");
                            return Some((Err(cut("the answer passed the size cap")), None));
                        }
                        let out = rewriter.feed(&chunk);
                        if !out.is_empty() {
                            return Some((
                                Ok(web::Bytes::from(out)),
                                Some((upstream, rewriter, seen)),
                            ));
                        }
                    }
                    Some(Err(_)) => {
                        return Some((Err(cut("the provider's answer broke off")), None));
                    }
                    None => {
                        let rest = rewriter.finish();
                        return (!rest.is_empty()).then(|| (Ok(web::Bytes::from(rest)), None));
                    }
                }
            }
        },
    );
    Ok(answer.streaming(body))
}

/// `Plugboard-Retries: n` (0–5): how often a 429 or 503 is waited out. Only where sending
/// again is harmless: GET, HEAD, PUT, DELETE, or a request with an `Idempotency-Key`.
fn retries_asked(req: &HttpRequest) -> ApiResult<u8> {
    let Some(value) = req.headers().get(RETRIES) else {
        return Ok(0);
    };
    let refuse = |message: &str| {
        Err(ApiError::validation(vec![FieldError::new(
            "Plugboard-Retries",
            message,
        )]))
    };
    let Some(retries) = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u8>().ok())
        .filter(|n| *n <= domain::proxy::MAX_RETRIES)
    else {
        return refuse("Plugboard-Retries is a whole number from 0 to 5.");
    };
    let keyed = req
        .headers()
        .contains_key(crate::idempotency::IDEMPOTENCY_KEY);
    if retries > 0 && !domain::proxy::may_retry(req.method().as_str(), keyed) {
        return refuse(
            "Retries are for GET, HEAD, PUT and DELETE, or a request with an Idempotency-Key that makes sending it again harmless.",
        );
    }
    Ok(retries)
}

fn cut(why: &'static str) -> std::io::Error {
    std::io::Error::other(why)
}

/// The names a `Connection` header makes hop-by-hop.
fn connection_listed(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(reqwest::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

macro_rules! proxy_route {
    ($name:ident, $macro:ident, $operation:literal, $scopes:literal, $summary:literal) => {
        #[doc = $summary]
        ///
        /// The path after `proxy/` (any depth) and the query string go to the provider's API
        /// base; the connection's credential is added and never returned. The provider's answer
        /// comes back as it is, streamed, with `Plugboard-Proxied: true` — whatever its status.
        /// Every stored secret's value is removed from it, and a paging link to the provider's
        /// API points back through this route. Answers without `Plugboard-Proxied` are
        /// Plugboard's own problems.
        #[utoipa::path(
            operation_id = $operation,
            tag = "proxy",
            params(
                ("org_id" = uuid::Uuid, Path),
                ("provider" = String, Path, description = "A tenant-level provider with an API (`GET /api/v1/providers`)."),
                ("path" = String, Path, description = "The provider's path under its API base, e.g. `me/adaccounts` (Meta) or `graphql.json` (Shopify). No `.`/`..` segments, `//`, `\\`, `@`, scheme or encoded slash."),
                ("Plugboard-Retries" = Option<u8>, Header, nullable = false, minimum = 0, maximum = 5, description = "0–5 (default 0): how often a 429 or 503 is waited out, honouring `Retry-After` (seconds or a date) with exponential backoff and jitter, 30 seconds of waiting at most; past that the provider's answer comes back with its `Retry-After`. GET, HEAD, PUT and DELETE, or any method with an `Idempotency-Key`.")
            ),
            responses(
                (status = 200, description = "The provider's answer (any status), streamed.", headers(("Plugboard-Proxied" = String, description = "`true`: the answer is the provider's."))),
                (status = 400, body = Problem, description = "`path_not_allowed`: the path would leave the provider's API base."),
                (status = 401, body = Problem),
                (status = 403, body = Problem, description = concat!("Members may not proxy; an API key needs ", $scopes, ".")),
                (status = 404, body = Problem, description = "`not_found`, `not_proxied` (a platform-level provider or one without an API), `not_connected`."),
                (status = 409, body = Problem, description = "`connection_disabled`, `connection_expired` (reconnect), `connection_error`, `missing_values`."),
                (status = 413, body = Problem, description = "`body_too_large`: over 10 MB; nothing was sent."),
                (status = 422, body = Problem, description = "`validation`: `Plugboard-Retries` is not 0–5, or asks retries of a POST or PATCH without an `Idempotency-Key`; nothing was sent."),
                (status = 502, body = Problem, description = "`upstream_unavailable` (refused, reset, TLS), `upstream_too_large` (a declared answer over the cap), `address_not_allowed`."),
                (status = 503, body = Problem, description = "`provider_unavailable`: the token had run out and could not be renewed."),
                (status = 504, body = Problem, description = "`upstream_timeout`: no whole answer within 30 seconds.")
            ),
            security(("bearer" = []))
        )]
        #[$macro("/integrations/{provider}/proxy/{path:.*}")]
        #[tracing::instrument(skip_all, fields(provider = %path.1))]
        pub async fn $name(
            state: web::Data<AppState>,
            caller: OrgProxyCaller,
            req: HttpRequest,
            path: ProxyPath,
            payload: web::Payload,
            metrics: web::Data<ProxyMetrics>,
        ) -> ApiResult<HttpResponse> {
            forward(state, caller, req, path, payload, metrics).await
        }
    };
}

proxy_route!(
    proxy_get,
    get,
    "proxyGet",
    "`proxy:read` or `proxy:write`",
    "Calls the provider's API with GET, as the organization's connection."
);
proxy_route!(
    proxy_head,
    head,
    "proxyHead",
    "`proxy:read` or `proxy:write`",
    "Calls the provider's API with HEAD, as the organization's connection: its status and headers, no body."
);
proxy_route!(
    proxy_post,
    post,
    "proxyPost",
    "`proxy:write`",
    "Calls the provider's API with POST (GraphQL queries included), as the organization's connection."
);
proxy_route!(
    proxy_put,
    put,
    "proxyPut",
    "`proxy:write`",
    "Calls the provider's API with PUT, as the organization's connection."
);
proxy_route!(
    proxy_patch,
    patch,
    "proxyPatch",
    "`proxy:write`",
    "Calls the provider's API with PATCH, as the organization's connection."
);
proxy_route!(
    proxy_delete,
    delete,
    "proxyDelete",
    "`proxy:write`",
    "Calls the provider's API with DELETE, as the organization's connection."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_paths_are_told_apart_and_keep_their_encoding() {
        let path = "/api/v1/orgs/0b1/integrations/meta_ads/proxy/me/%2e%2e/x";
        assert!(is_proxy_path(path));
        assert_eq!(raw_tail(path), "me/%2e%2e/x");
        assert!(is_proxy_path(
            "/api/v1/orgs/0b1/integrations/meta_ads/proxy/"
        ));
        assert!(!is_proxy_path(
            "/api/v1/orgs/0b1/integrations/meta_ads/events"
        ));
        assert!(!is_proxy_path(
            "/api/v1/orgs/0b1/integrations/meta_ads/proxy"
        ));
        assert!(!is_proxy_path("/api/v1/orgs/0b1/members/x/proxy/y"));
    }
}
