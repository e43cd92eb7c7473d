//! The API's one error type. Every error answer is `application/problem+json` (RFC 9457) with a
//! stable `code`; 5xx answers say nothing internal and the cause goes to the log.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::ProblemCode;
use persistence::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One invalid input field.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// Where the problem is, e.g. `credentials.api_key`.
    pub field: String,
    /// What to do about it, in a sentence.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every `code` a problem answer can carry: stable, machine-readable, one per kind of problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    AccessRevoked,
    AccountNotFound,
    AddressNotAllowed,
    AlreadyInvited,
    AlreadyMember,
    AppUninstalled,
    BadSignature,
    BodyTooLarge,
    Busy,
    Conflict,
    ConnectionDisabled,
    ConnectionError,
    ConnectionExpired,
    ConnectionRequired,
    CredentialsRejected,
    CredentialsUnreadable,
    DatabaseFull,
    DatabaseUnavailable,
    DomainTaken,
    DuplicateInvitation,
    EmailTaken,
    Forbidden,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    InternalError,
    InvalidBody,
    InvalidIdempotencyKey,
    InvalidQuery,
    InvitationAccepted,
    InvitationExpired,
    InvitationRevoked,
    InvitationUsed,
    LastOwner,
    LastSignInMethod,
    MalformedJson,
    MethodNotAllowed,
    MissingValues,
    NoChannel,
    NoRefreshToken,
    NotConnected,
    NotFound,
    NotOauth,
    NotProxied,
    ParentNotChosen,
    PathNotAllowed,
    PlatformLevel,
    PlatformNotReady,
    ProviderAnswerTooLarge,
    ProviderRateLimited,
    ProviderRefused,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderUnreachable,
    RateLimited,
    RefreshInProgress,
    RefreshRefused,
    ResourceLost,
    ResourceNotAccessible,
    SelectionRequired,
    ShopifyNotConnected,
    ShopifyTokenRejected,
    StepRequired,
    StepsMissing,
    StripeNotConnected,
    TenantLevel,
    TokenExpired,
    TooManyAttempts,
    Unauthorized,
    UnexpectedRedirect,
    UnreadableBody,
    UnsupportedMediaType,
    UpstreamTimeout,
    UpstreamTooLarge,
    UpstreamUnavailable,
    ValidationFailed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AccessRevoked => "access_revoked",
            ErrorCode::AccountNotFound => "account_not_found",
            ErrorCode::AddressNotAllowed => "address_not_allowed",
            ErrorCode::AlreadyInvited => "already_invited",
            ErrorCode::AlreadyMember => "already_member",
            ErrorCode::AppUninstalled => "app_uninstalled",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::Busy => "busy",
            ErrorCode::Conflict => "conflict",
            ErrorCode::ConnectionDisabled => "connection_disabled",
            ErrorCode::ConnectionError => "connection_error",
            ErrorCode::ConnectionExpired => "connection_expired",
            ErrorCode::ConnectionRequired => "connection_required",
            ErrorCode::CredentialsRejected => "credentials_rejected",
            ErrorCode::CredentialsUnreadable => "credentials_unreadable",
            ErrorCode::DatabaseFull => "database_full",
            ErrorCode::DatabaseUnavailable => "database_unavailable",
            ErrorCode::DomainTaken => "domain_taken",
            ErrorCode::DuplicateInvitation => "duplicate_invitation",
            ErrorCode::EmailTaken => "email_taken",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::IdempotencyInFlight => "idempotency_in_flight",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidIdempotencyKey => "invalid_idempotency_key",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvitationAccepted => "invitation_accepted",
            ErrorCode::InvitationExpired => "invitation_expired",
            ErrorCode::InvitationRevoked => "invitation_revoked",
            ErrorCode::InvitationUsed => "invitation_used",
            ErrorCode::LastOwner => "last_owner",
            ErrorCode::LastSignInMethod => "last_sign_in_method",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::MissingValues => "missing_values",
            ErrorCode::NoChannel => "no_channel",
            ErrorCode::NoRefreshToken => "no_refresh_token",
            ErrorCode::NotConnected => "not_connected",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NotOauth => "not_oauth",
            ErrorCode::NotProxied => "not_proxied",
            ErrorCode::ParentNotChosen => "parent_not_chosen",
            ErrorCode::PathNotAllowed => "path_not_allowed",
            ErrorCode::PlatformLevel => "platform_level",
            ErrorCode::PlatformNotReady => "platform_not_ready",
            ErrorCode::ProviderAnswerTooLarge => "provider_answer_too_large",
            ErrorCode::ProviderRateLimited => "provider_rate_limited",
            ErrorCode::ProviderRefused => "provider_refused",
            ErrorCode::ProviderTimeout => "provider_timeout",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::ProviderUnreachable => "provider_unreachable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::RefreshInProgress => "refresh_in_progress",
            ErrorCode::RefreshRefused => "refresh_refused",
            ErrorCode::ResourceLost => "resource_lost",
            ErrorCode::ResourceNotAccessible => "resource_not_accessible",
            ErrorCode::SelectionRequired => "selection_required",
            ErrorCode::ShopifyNotConnected => "shopify_not_connected",
            ErrorCode::ShopifyTokenRejected => "shopify_token_rejected",
            ErrorCode::StepRequired => "step_required",
            ErrorCode::StepsMissing => "steps_missing",
            ErrorCode::StripeNotConnected => "stripe_not_connected",
            ErrorCode::TenantLevel => "tenant_level",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::UnexpectedRedirect => "unexpected_redirect",
            ErrorCode::UnreadableBody => "unreadable_body",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::UpstreamTimeout => "upstream_timeout",
            ErrorCode::UpstreamTooLarge => "upstream_too_large",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::ValidationFailed => "validation_failed",
        }
    }
}

/// Every code the domain gives has its answer code of the same name; a new domain code does not
/// compile until it is listed here.
impl From<ProblemCode> for ErrorCode {
    fn from(code: ProblemCode) -> ErrorCode {
        match code {
            ProblemCode::AccessRevoked => ErrorCode::AccessRevoked,
            ProblemCode::AccountNotFound => ErrorCode::AccountNotFound,
            ProblemCode::AddressNotAllowed => ErrorCode::AddressNotAllowed,
            ProblemCode::AppUninstalled => ErrorCode::AppUninstalled,
            ProblemCode::ConnectionError => ErrorCode::ConnectionError,
            ProblemCode::ConnectionExpired => ErrorCode::ConnectionExpired,
            ProblemCode::CredentialsRejected => ErrorCode::CredentialsRejected,
            ProblemCode::CredentialsUnreadable => ErrorCode::CredentialsUnreadable,
            ProblemCode::MissingValues => ErrorCode::MissingValues,
            ProblemCode::ProviderAnswerTooLarge => ErrorCode::ProviderAnswerTooLarge,
            ProblemCode::ProviderRateLimited => ErrorCode::ProviderRateLimited,
            ProblemCode::ProviderRefused => ErrorCode::ProviderRefused,
            ProblemCode::ProviderTimeout => ErrorCode::ProviderTimeout,
            ProblemCode::ProviderUnavailable => ErrorCode::ProviderUnavailable,
            ProblemCode::ProviderUnreachable => ErrorCode::ProviderUnreachable,
            ProblemCode::RefreshRefused => ErrorCode::RefreshRefused,
            ProblemCode::ResourceLost => ErrorCode::ResourceLost,
            ProblemCode::SelectionRequired => ErrorCode::SelectionRequired,
            ProblemCode::TokenExpired => ErrorCode::TokenExpired,
            ProblemCode::UnexpectedRedirect => ErrorCode::UnexpectedRedirect,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable and machine-readable.
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Seconds a `503` asks a client to wait: outages of the database or a provider are usually
/// short, and a client that waits at least this long does not add to one.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    errors: Vec<FieldError>,
    allow: Option<String>,
    /// Seconds to wait, sent as `Retry-After`.
    retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            allow: None,
            retry_after: None,
            source: None,
        }
    }

    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, detail)
    }

    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// Input that breaks field rules, each named.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => one.message.clone(),
            _ => format!("{} fields need attention.", errors.len()),
        };
        ApiError {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                detail,
            )
        }
    }

    /// Names the fields a problem is about.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Something Plugboard depends on is down; `Retry-After` says when to try again.
    pub fn unavailable(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail).retry_after(UNAVAILABLE_RETRY_SECS)
    }

    pub fn method_not_allowed(allow: String) -> Self {
        ApiError {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "This path does not accept that method.",
            )
        }
    }

    /// Too many attempts in a short time; `retry_after` seconds until the next one counts.
    pub fn too_many_attempts(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyAttempts,
            format!("Too many attempts to sign in. Wait {retry_after} seconds, then try again."),
        )
        .retry_after(retry_after)
    }

    /// Every password-hashing thread is taken and the queue behind them is full.
    pub fn busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "The server is busy checking other passwords. Wait a second, then try again.",
        )
        .retry_after(1)
    }

    /// Sends `Retry-After` with the problem: the seconds to wait before trying again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A failure of ours: logged with its cause, answered with nothing internal.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        ApiError {
            source: Some(source.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalError,
                "Something went wrong on our side. Try again; if it keeps happening, contact support.",
            )
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status.as_u16())
            .field("code", &self.code)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => {
                tracing::error!(error = ?anyhow::Error::from(err), "database unavailable");
                ApiError::unavailable(
                    ErrorCode::DatabaseUnavailable,
                    "The database is not reachable right now. Try again in a moment.",
                )
            }
            StoreError::Full(_) => {
                tracing::error!(error = ?anyhow::Error::from(err), "the database is full");
                ApiError::unavailable(
                    ErrorCode::DatabaseFull,
                    "Plugboard's database has no space left, so nothing was saved. Try again once space has been freed.",
                )
            }
            StoreError::Conflict => ApiError::conflict(
                ErrorCode::Conflict,
                "This record was changed by another request at the same time, and nothing of yours was saved. Load it again and repeat your change.",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::auth::password::PasswordError> for ApiError {
    fn from(err: crate::auth::password::PasswordError) -> Self {
        match err {
            crate::auth::password::PasswordError::Busy => ApiError::busy(),
            other => ApiError::internal(other),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(source) = &self.source {
            tracing::error!(error = ?source, code = %self.code, "request failed");
        }
        let body = Problem {
            kind: format!("urn:plugboard:problem:{}", self.code),
            title: self.title().to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self.errors.clone(),
        };
        let mut response = HttpResponse::build(self.status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(allow) = &self.allow {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_problem_is_answered_under_its_own_name() {
        for code in ProblemCode::ALL {
            assert_eq!(ErrorCode::from(code).as_str(), code.as_str());
        }
    }
}
