//! Headers every answer carries so a browser treats Plugboard's pages and answers safely.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderMap, HeaderValue, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::web;

use crate::state::AppState;

/// Pages (the SPA, the API reference, the sandbox) load code only from this origin: no inline
/// script, no `eval`, no framing, no plug-ins. Inline styles stay allowed because the SPA's
/// dialogs inject a style element to lock scrolling and the sandbox's pages carry their own;
/// a style cannot run code.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Sent only when the public URL is https: a browser then refuses plain http for a year.
const STRICT_TRANSPORT_SECURITY_VALUE: &str = "max-age=31536000";

/// Adds the security headers an answer has not set itself, to every answer, refusals included.
/// Answers of the versioned API carry account data and are `no-store` unless their route chose
/// otherwise (the conditional GETs are `private, no-cache`, so a browser keeps them for
/// revalidation and nothing shared does). The referrer is never sent: a sandbox or callback
/// page's address can carry a state.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.settings.public_url.scheme() == "https");
    let account_data = req.path().starts_with("/api/v1/");
    with_headers(next.call(req).await, |headers| {
        let defaults = [
            (X_CONTENT_TYPE_OPTIONS, Some("nosniff")),
            (REFERRER_POLICY, Some("no-referrer")),
            (CONTENT_SECURITY_POLICY, Some(CONTENT_SECURITY_POLICY_VALUE)),
            (CACHE_CONTROL, account_data.then_some("no-store")),
            (
                STRICT_TRANSPORT_SECURITY,
                https.then_some(STRICT_TRANSPORT_SECURITY_VALUE),
            ),
        ];
        for (name, value) in defaults {
            if let Some(value) = value
                && !headers.contains_key(&name)
            {
                headers.insert(name, HeaderValue::from_static(value));
            }
        }
    })
}

/// Applies `add` to an answer's headers. A refusal raised by a middleware (the tenant guard's
/// 404, a rate limit's 429) is still an error here, answered only once it leaves the app: it
/// is rendered now and carried on with its headers, so it gets them like any other answer.
pub fn with_headers<B>(
    outcome: Result<ServiceResponse<B>, actix_web::Error>,
    add: impl FnOnce(&mut HeaderMap),
) -> Result<ServiceResponse<B>, actix_web::Error> {
    match outcome {
        Ok(mut response) => {
            add(response.headers_mut());
            Ok(response)
        }
        Err(err) => {
            let mut answer = err.error_response();
            add(answer.headers_mut());
            Err(InternalError::from_response(err, answer).into())
        }
    }
}
