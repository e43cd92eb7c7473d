//! Logs and request ids.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// The span every request is logged in. Only the path is recorded, never the query string:
/// OAuth callbacks carry the provider's authorization code, the state and Shopify's hmac there.
/// A path that itself carries a secret (an invitation token) is logged as its route pattern.
pub struct RequestSpan;

fn logged_target(request: &ServiceRequest) -> String {
    request
        .match_pattern()
        .filter(|pattern| pattern.contains("{token}"))
        .unwrap_or_else(|| request.path().to_owned())
}

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %request.match_pattern().unwrap_or_else(|| "default".to_owned()),
            http.target = %logged_target(request),
            http.status_code = Empty,
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Structured logs to stdout: JSON when `PLUGBOARD_LOG_FORMAT=json`, text otherwise.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let json = std::env::var("PLUGBOARD_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Sends the request id back as `x-request-id`, so a person can quote it.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    crate::headers::with_headers(next.call(req).await, |headers| {
        if let Some(id) = id
            && let Ok(value) = HeaderValue::from_str(&id.to_string())
        {
            headers.insert(HeaderName::from_static("x-request-id"), value);
        }
    })
}
