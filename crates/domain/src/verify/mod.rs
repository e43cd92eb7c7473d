//! The connection test: building a provider's `verify` request and reading its answer.
//! Sending it is the API's job; everything here is pure.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::oauth::ACCESS_TOKEN;
use crate::problem::ProblemCode;
use crate::registry::{BasicTemplate, FieldKind, HttpVerify, Level, Method, Provider, Verify};
use crate::template::{self, Escape};

/// The values a provider's templates draw on. Secrets stay wrapped until a request is built.
pub struct VerifyValues<'a> {
    pub config: &'a BTreeMap<String, String>,
    pub secrets: &'a BTreeMap<String, SecretString>,
    /// The connection's OAuth access token, for OAuth providers.
    pub access_token: Option<&'a SecretString>,
    /// The platform's own variables (`{env.NAME}`), already read from the environment.
    pub platform_env: &'a BTreeMap<String, SecretString>,
}

impl VerifyValues<'_> {
    pub(crate) fn lookup<'v>(
        &'v self,
        provider: &'v Provider,
        name: &str,
        in_url: bool,
    ) -> Option<(&'v str, Escape)> {
        if let Some(env) = name.strip_prefix("env.") {
            return self
                .platform_env
                .get(env)
                .map(|v| (v.expose_secret(), Escape::Raw));
        }
        if name == ACCESS_TOKEN {
            let token = self.access_token?.expose_secret();
            return Some((token, if in_url { Escape::Url } else { Escape::Raw }));
        }
        let field = provider.field(name)?;
        let value = if field.secret {
            self.secrets.get(name).map(|s| s.expose_secret())
        } else {
            self.config
                .get(name)
                .or(field.default.as_ref())
                .map(String::as_str)
        }?;
        let escape = match (in_url, field.kind) {
            (true, FieldKind::Url | FieldKind::Host) => Escape::Raw,
            (true, _) => Escape::Url,
            (false, _) => Escape::Raw,
        };
        Some((
            value.trim_end_matches(if field.kind == FieldKind::Url {
                "/"
            } else {
                ""
            }),
            escape,
        ))
    }

    /// Every secret value, so provider messages quoting one back can be scrubbed.
    pub(crate) fn secret_texts(&self) -> Vec<String> {
        let mut texts: Vec<String> = self
            .secrets
            .values()
            .chain(self.access_token)
            .chain(self.platform_env.values())
            .map(|s| s.expose_secret().to_owned())
            .filter(|s| s.len() >= 4)
            .collect();
        texts.sort_by_key(|s| std::cmp::Reverse(s.len()));
        texts
    }
}

pub enum RequestBody {
    Json(String),
    Form(Vec<(String, String)>),
}

/// A verify request ready to send. Its `Debug` shows no header value, query or body.
pub struct VerifyRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub basic: Option<(String, String)>,
    pub body: Option<RequestBody>,
    /// The host came from what a tenant typed, so the request must pass the SSRF guard.
    pub tenant_supplied_host: bool,
    /// The operator pointed this provider elsewhere (tests, sandbox); trusted.
    pub redirected: bool,
    secret_texts: Vec<String>,
}

impl fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("method", &self.method)
            .field("host", &self.url.host_str())
            .field("path", &self.url.path())
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl VerifyRequest {
    /// Removes every secret this request carries from a text (a provider may quote one back).
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.secret_texts)
    }
}

fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    out
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    #[error("{0} is missing")]
    Missing(String),
    #[error("the request URL is not valid: {0}")]
    BadUrl(String),
}

/// The headers and basic credentials of a credential placement, rendered; shared by the verify
/// request and the proxy. A header that carries only an optional setting the brand left empty
/// is not sent (OpenAI's organization header without an organization).
pub(crate) type Credentials = (Vec<(String, String)>, Option<(String, String)>);

pub(crate) fn render_credentials(
    provider: &Provider,
    values: &VerifyValues<'_>,
    headers: &BTreeMap<String, String>,
    basic: Option<&BasicTemplate>,
) -> Result<Credentials, template::TemplateError> {
    let plain = |name: &str| values.lookup(provider, name, false);
    let unset_optional = |text: &str| {
        template::placeholders(text).iter().any(|name| {
            provider
                .field(name)
                .is_some_and(|f| !f.required && !f.secret)
                && plain(name).is_none()
        })
    };
    let headers = headers
        .iter()
        .filter(|(_, value)| !unset_optional(value))
        .map(|(name, value)| Ok((name.clone(), template::render(value, plain)?)))
        .collect::<Result<Vec<_>, template::TemplateError>>()?;
    let basic = basic
        .map(|b| {
            Ok::<_, template::TemplateError>((
                template::render(&b.username, plain)?,
                template::render(&b.password, plain)?,
            ))
        })
        .transpose()?;
    Ok((headers, basic))
}

/// Builds the HTTP verify request, or `None` for a provider checked by format only.
pub fn build_request(
    provider: &Provider,
    values: &VerifyValues<'_>,
) -> Result<Option<VerifyRequest>, BuildError> {
    let http = match &provider.verify {
        Verify::Http(http) => http,
        Verify::Format { .. } => return Ok(None),
    };
    let missing =
        |template::TemplateError::Missing(name)| BuildError::Missing(label_of(provider, &name));
    let in_url = |name: &str| values.lookup(provider, name, true);
    let plain = |name: &str| values.lookup(provider, name, false);

    let rendered = template::render(&http.url, in_url).map_err(missing)?;
    let mut url = Url::parse(&rendered).map_err(|e| BuildError::BadUrl(e.to_string()))?;
    for (name, value) in &http.query {
        let value = template::render(value, plain).map_err(missing)?;
        url.query_pairs_mut().append_pair(name, &value);
    }
    let tenant_supplied_host = template::placeholders(&http.url).iter().any(|name| {
        provider
            .field(name)
            .is_some_and(|f| matches!(f.kind, FieldKind::Url | FieldKind::Host))
    });
    let redirected = provider.base_url_override.is_some();
    let url = provider.redirect(url);

    let (headers, basic) = render_credentials(provider, values, &http.headers, http.basic.as_ref())
        .map_err(missing)?;
    let body = if let Some(body) = &http.body {
        let json = |name: &str| {
            values
                .lookup(provider, name, false)
                .map(|(v, _)| (v, Escape::Json))
        };
        Some(RequestBody::Json(
            template::render(body, json).map_err(missing)?,
        ))
    } else if !http.form.is_empty() {
        let pairs = http
            .form
            .iter()
            .map(|(name, value)| {
                Ok((
                    name.clone(),
                    template::render(value, plain).map_err(missing)?,
                ))
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        Some(RequestBody::Form(pairs))
    } else {
        None
    };
    Ok(Some(VerifyRequest {
        method: http.method,
        url,
        headers,
        basic,
        body,
        tenant_supplied_host,
        redirected,
        secret_texts: values.secret_texts(),
    }))
}

/// How a missing template value is named to a person: a field's label, a platform variable, or
/// the access token.
pub(crate) fn label_of(provider: &Provider, name: &str) -> String {
    if let Some(env) = name.strip_prefix("env.") {
        return format!("the platform variable {env}");
    }
    if name == ACCESS_TOKEN {
        return "the access token (connect with OAuth first)".to_owned();
    }
    provider
        .field(name)
        .map_or_else(|| name.to_owned(), |f| f.label.clone())
}

/// Whether a failed check is the brand's to fix or the provider's outage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The provider said no: wrong, revoked or under-privileged credentials, or bad settings.
    Rejected,
    /// The provider could not answer properly: outage, timeout, rate limit.
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    pub kind: FailureKind,
    pub code: ProblemCode,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    Verified {
        account_name: Option<String>,
        account_id: Option<String>,
        message: String,
    },
    Failed(VerifyFailure),
}

/// Why a request got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    Timeout,
    Connect,
    /// The SSRF guard refused the address.
    Blocked,
    /// The answer was larger than any answer Plugboard reads (it stops reading there).
    TooLarge,
    Other,
}

/// Reads the provider's answer to a verify request.
pub fn interpret(
    provider: &Provider,
    request: &VerifyRequest,
    status: u16,
    body: &[u8],
) -> VerifyOutcome {
    let Verify::Http(http) = &provider.verify else {
        return format_verified(provider, &BTreeMap::new());
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let quoted = json
        .as_ref()
        .and_then(|j| provider_message(http, j))
        .map(|text| request.redact(&text));
    let reason = quoted.map(|q| format!(": {q}")).unwrap_or_default();
    let name = &provider.name;
    let failure = |kind, code, message: String| {
        VerifyOutcome::Failed(VerifyFailure {
            kind,
            code,
            message,
        })
    };

    if http.expect_status.contains(&status) {
        if let Some(check) = &http.success
            && !check.holds(json.as_ref())
        {
            return failure(
                FailureKind::Rejected,
                ProblemCode::CredentialsRejected,
                format!(
                    "{name} refused these credentials{reason}. {}",
                    what_to_do(provider)
                ),
            );
        }
        let read = |pointer: &Option<String>| {
            pointer
                .as_deref()
                .and_then(|p| json.as_ref()?.pointer(p))
                .and_then(|v| match v {
                    serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .map(|s| request.redact(&clip(&s, 200)))
        };
        let account_name = read(&http.account_name);
        let account_id = read(&http.account_id);
        let shown = account_name.as_ref().or(account_id.as_ref());
        let message = match shown {
            Some(account) => format!("Connected to {name} as {account}."),
            None => format!("{name} accepted the credentials."),
        };
        return VerifyOutcome::Verified {
            account_name,
            account_id,
            message,
        };
    }
    match status {
        401 | 403 => failure(
            FailureKind::Rejected,
            ProblemCode::CredentialsRejected,
            format!(
                "{name} rejected these credentials (HTTP {status}{reason}). {}",
                what_to_do(provider)
            ),
        ),
        404 => failure(
            FailureKind::Rejected,
            ProblemCode::AccountNotFound,
            format!(
                "{name} could not find the account (HTTP 404{reason}). Check the account details in the connection settings."
            ),
        ),
        429 => failure(
            FailureKind::Unavailable,
            ProblemCode::ProviderRateLimited,
            format!(
                "{name} is limiting requests right now (HTTP 429). Try again in a few minutes."
            ),
        ),
        500..=599 => failure(
            FailureKind::Unavailable,
            ProblemCode::ProviderUnavailable,
            format!(
                "{name} had a problem answering (HTTP {status}). Nothing is wrong with your settings; try again later."
            ),
        ),
        300..=399 => failure(
            FailureKind::Rejected,
            ProblemCode::UnexpectedRedirect,
            format!(
                "{name} answered with a redirect (HTTP {status}) instead of account details. Check the connection settings."
            ),
        ),
        _ => failure(
            FailureKind::Rejected,
            ProblemCode::ProviderRefused,
            format!(
                "{name} refused the request (HTTP {status}{reason}). Check the connection settings and credentials."
            ),
        ),
    }
}

/// What a person does about refused credentials: who holds them decides.
fn what_to_do(provider: &Provider) -> String {
    let name = &provider.name;
    if provider.level == Level::Platform {
        format!(
            "Check the platform variables {} in Plugboard's environment (the operator sets them), then restart Plugboard.",
            provider.platform_env.join(", ")
        )
    } else if provider.oauth().is_some() {
        format!("Reconnect {name} to grant access again.")
    } else {
        "Check that they are correct, active and allowed to read the account, then save them again."
            .to_owned()
    }
}

/// The outcome when no answer came back.
pub fn transport_failure(
    provider: &Provider,
    failure: TransportFailure,
    timeout_secs: u64,
) -> VerifyOutcome {
    let name = &provider.name;
    let (kind, code, message) = match failure {
        TransportFailure::Timeout => (
            FailureKind::Unavailable,
            ProblemCode::ProviderTimeout,
            format!("{name} did not answer within {timeout_secs} seconds. Try again in a few minutes."),
        ),
        TransportFailure::Connect => (
            FailureKind::Unavailable,
            ProblemCode::ProviderUnreachable,
            format!("Plugboard could not reach {name}. Check the address in the connection settings, or try again later."),
        ),
        TransportFailure::Blocked => (
            FailureKind::Rejected,
            ProblemCode::AddressNotAllowed,
            "The address points to a private or local network, which Plugboard does not call. Use the service's public address.".to_owned(),
        ),
        TransportFailure::TooLarge => (
            FailureKind::Unavailable,
            ProblemCode::ProviderAnswerTooLarge,
            format!("{name} sent a far larger answer than an account check returns, so Plugboard stopped reading it. Try again later."),
        ),
        TransportFailure::Other => (
            FailureKind::Unavailable,
            ProblemCode::ProviderUnreachable,
            format!("The request to {name} failed before an answer came back. Try again later."),
        ),
    };
    VerifyOutcome::Failed(VerifyFailure {
        kind,
        code,
        message,
    })
}

/// A provider with no secret: its identifier already passed the field's format check.
pub fn format_verified(provider: &Provider, config: &BTreeMap<String, String>) -> VerifyOutcome {
    let message = match &provider.verify {
        Verify::Format { message } => message.clone(),
        Verify::Http(_) => format!("{} accepted the credentials.", provider.name),
    };
    let account_id = provider
        .config_fields()
        .find(|f| f.required)
        .and_then(|f| config.get(&f.key).cloned());
    VerifyOutcome::Verified {
        account_name: None,
        account_id,
        message,
    }
}

fn provider_message(http: &HttpVerify, json: &serde_json::Value) -> Option<String> {
    let configured = http.error_message.as_deref().into_iter();
    let common = [
        "/error/message",
        "/error_description",
        "/message",
        "/error",
        "/errors/0/detail",
        "/errors/0/message",
        "/detail",
    ];
    configured
        .chain(common)
        .filter_map(|pointer| json.pointer(pointer)?.as_str())
        .find(|text| !text.trim().is_empty())
        .map(|text| clip(text.trim(), 200))
}

/// Keeps at most `max` characters of a provider's text, without control characters.
fn clip(text: &str, max: usize) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests;
