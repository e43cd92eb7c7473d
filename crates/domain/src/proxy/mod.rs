//! The authenticated proxy's rules: which upstream URL a proxied path becomes, which headers
//! pass each way, and how an answer is kept free of stored secrets. Sending is the API's job;
//! everything here is pure.
//!
//! The host comes only from the registry's API base and the connection's validated host
//! fields. The caller's path is checked after percent-decoding — no `.`/`..` segment, no empty
//! segment, no `\`, `@`, scheme, encoded slash or encoded percent — and the URL built from it
//! must still have the base's scheme, host, port and path prefix.

mod headers;
mod retry;
mod rewrite;

use std::collections::BTreeMap;
use std::fmt;

use url::Url;

use crate::oauth::ACCESS_TOKEN;
use crate::registry::{FieldKind, Provider};
use crate::template::{self, Escape};
use crate::verify::{BuildError, VerifyValues, label_of, render_credentials};

pub use headers::{forwards_request_header, forwards_response_header};
pub use retry::{MAX_RETRIES, WAIT_CAP, may_retry, retry_after, wait_before_retry};
pub use rewrite::Rewriter;

/// Why a path was refused, before anything was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathRefusal {
    /// `.` or `..` as a segment, percent-encoded or not.
    DotSegment,
    /// `//`, or a path that starts with `/`.
    EmptySegment,
    Backslash,
    At,
    /// `http://…` or another scheme.
    Scheme,
    /// `%2F` or `%5C`: a slash the upstream would see but the check would not.
    EncodedSlash,
    /// `%25`: decoded once more upstream, it could hide any of the above.
    EncodedPercent,
    /// A control character, or bytes that are not UTF-8 once decoded.
    Unreadable,
    /// The URL built from the path left the provider's base.
    LeavesBase,
}

impl PathRefusal {
    /// A sentence for the caller.
    pub fn message(self) -> &'static str {
        match self {
            PathRefusal::DotSegment => {
                "The path has a `.` or `..` segment; write the provider's path from its API base without climbing out of it."
            }
            PathRefusal::EmptySegment => {
                "The path has an empty segment (`//` or a leading `/`); write it relative to the provider's API base."
            }
            PathRefusal::Backslash => "The path has a backslash, which no provider path needs.",
            PathRefusal::At => "The path has an `@`, which could name another host.",
            PathRefusal::Scheme => {
                "The path names a scheme (such as `https://`); give only the path under the provider's API base."
            }
            PathRefusal::EncodedSlash => {
                "The path has an encoded slash or backslash (`%2F`, `%5C`); write slashes as they are."
            }
            PathRefusal::EncodedPercent => {
                "The path has an encoded percent sign (`%25`), which Plugboard does not forward."
            }
            PathRefusal::Unreadable => {
                "The path has control characters or is not UTF-8 once percent-decoded."
            }
            PathRefusal::LeavesBase => "The path does not stay under the provider's API base.",
        }
    }
}

/// Why no upstream request could be built.
#[derive(Debug, PartialEq, Eq)]
pub enum ProxyError {
    /// The provider has no API section: it is not proxied.
    NotProxied,
    Path(PathRefusal),
    /// A value the API section needs is missing, or the base does not render to a URL.
    Build(BuildError),
}

fn unhex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes once; `%` not followed by two hex digits stays as it is.
fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).copied().and_then(unhex),
                bytes.get(i + 2).copied().and_then(unhex),
            )
        {
            out.push(high * 16 + low);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

const SCHEMES: &[&str] = &[
    "http",
    "https",
    "ftp",
    "file",
    "ws",
    "wss",
    "data",
    "javascript",
    "gopher",
];

/// Checks a caller's path (as sent, percent-encoded; relative to the API base).
pub fn check_path(raw: &str) -> Result<(), PathRefusal> {
    let lower = raw.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return Err(PathRefusal::EncodedSlash);
    }
    if lower.contains("%25") {
        return Err(PathRefusal::EncodedPercent);
    }
    let decoded = String::from_utf8(percent_decode(raw)).map_err(|_| PathRefusal::Unreadable)?;
    if decoded.chars().any(char::is_control) {
        return Err(PathRefusal::Unreadable);
    }
    if decoded.contains('\\') {
        return Err(PathRefusal::Backslash);
    }
    if decoded.contains('@') {
        return Err(PathRefusal::At);
    }
    if decoded.contains("://") {
        return Err(PathRefusal::Scheme);
    }
    if let Some((first, _)) = decoded.split('/').next().unwrap_or("").split_once(':') {
        let first = first.to_ascii_lowercase();
        if SCHEMES.contains(&first.as_str()) {
            return Err(PathRefusal::Scheme);
        }
    }
    if decoded.is_empty() {
        return Ok(());
    }
    // A trailing slash is an empty last segment some APIs want (Klaviyo's `lists/`).
    let segments: Vec<&str> = decoded.split('/').collect();
    let last = segments.len() - 1;
    for (at, segment) in segments.iter().enumerate() {
        if *segment == "." || *segment == ".." {
            return Err(PathRefusal::DotSegment);
        }
        if segment.is_empty() && at != last {
            return Err(PathRefusal::EmptySegment);
        }
    }
    Ok(())
}

/// A request ready to send upstream. Its `Debug` shows no header value or query.
pub struct Upstream {
    pub url: Url,
    /// What the registry injects: the credential and the provider's fixed headers.
    pub headers: Vec<(String, String)>,
    pub basic: Option<(String, String)>,
    /// The host came from what a tenant typed, so the request must pass the SSRF guard.
    pub tenant_supplied_host: bool,
    /// The operator pointed this provider elsewhere (tests, sandbox); trusted.
    pub redirected: bool,
    /// Lower-case names of the headers the injection sets (the caller's are dropped).
    pub injected: Vec<String>,
    /// The API base as the provider writes it in its answers, and where it was redirected.
    bases: Vec<String>,
    /// Query parameters that carry credentials, the injected ones and `access_token`.
    credential_params: Vec<String>,
    secret_texts: Vec<String>,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("host", &self.url.host_str())
            .field("path", &self.url.path())
            .field("injected", &self.injected)
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// The rewriter for this request's answer: links to the provider's API base point back
    /// through `proxy_base` (`…/integrations/{provider}/proxy`) without the credential, and
    /// every other stored secret's value is redacted.
    pub fn rewriter(&self, proxy_base: &str) -> Rewriter {
        Rewriter::new(
            &self.bases,
            proxy_base,
            &self.credential_params,
            &self.secret_texts,
        )
    }

    /// The rewriter for an answer Plugboard reads itself (a listing): the provider's links
    /// stay as they are, for the cursors in them; every secret's value is redacted.
    pub fn scrubber(&self) -> Rewriter {
        Rewriter::new(&[], "", &self.credential_params, &self.secret_texts)
    }
}

/// Builds the upstream request for `raw_path` (percent-encoded, relative to the API base)
/// and the caller's raw query string.
pub fn build(
    provider: &Provider,
    values: &VerifyValues<'_>,
    raw_path: &str,
    raw_query: Option<&str>,
) -> Result<Upstream, ProxyError> {
    build_with(provider, values, raw_path, raw_query, &BTreeMap::new())
}

/// `build`, with more query parameters the injection sets from templates (a listing's
/// `{env.…}` app credentials): treated as the credential is, so a caller's value is dropped
/// and the answer is scrubbed of theirs.
pub fn build_with(
    provider: &Provider,
    values: &VerifyValues<'_>,
    raw_path: &str,
    raw_query: Option<&str>,
    injected_query: &BTreeMap<String, String>,
) -> Result<Upstream, ProxyError> {
    let api = provider.api.as_ref().ok_or(ProxyError::NotProxied)?;
    check_path(raw_path).map_err(ProxyError::Path)?;
    let missing = |template::TemplateError::Missing(name)| {
        ProxyError::Build(BuildError::Missing(label_of(provider, &name)))
    };
    let in_url = |name: &str| values.lookup(provider, name, true);
    let plain = |name: &str| values.lookup(provider, name, false);

    let base = template::render(&api.base, in_url).map_err(missing)?;
    let base_url =
        Url::parse(&base).map_err(|e| ProxyError::Build(BuildError::BadUrl(e.to_string())))?;
    let joined = if raw_path.is_empty() {
        base.clone()
    } else {
        format!("{}/{raw_path}", base.trim_end_matches('/'))
    };
    let mut url = Url::parse(&joined).map_err(|_| ProxyError::Path(PathRefusal::LeavesBase))?;
    let base_path = base_url.path().trim_end_matches('/');
    let same_place = url.scheme() == base_url.scheme()
        && url.host() == base_url.host()
        && url.port_or_known_default() == base_url.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && (url.path() == base_path || url.path().starts_with(&format!("{base_path}/")));
    if !same_place {
        return Err(ProxyError::Path(PathRefusal::LeavesBase));
    }

    let injected_params: BTreeMap<&String, &String> =
        api.query.iter().chain(injected_query).collect();
    let mut credential_params: Vec<String> =
        injected_params.keys().map(|name| (*name).clone()).collect();
    if !credential_params.iter().any(|p| p == ACCESS_TOKEN) {
        credential_params.push(ACCESS_TOKEN.to_owned());
    }
    // The caller's query as sent, less any parameter the injection sets.
    let kept: Vec<&str> = raw_query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let name =
                String::from_utf8_lossy(&percent_decode(&name.replace('+', " "))).into_owned();
            !injected_params.contains_key(&name)
        })
        .collect();
    url.set_query((!kept.is_empty()).then(|| kept.join("&")).as_deref());
    for (name, value) in injected_params {
        let value = template::render(value, plain).map_err(missing)?;
        url.query_pairs_mut().append_pair(name, &value);
    }

    let tenant_supplied_host = template::placeholders(&api.base).iter().any(|name| {
        provider
            .field(name)
            .is_some_and(|f| matches!(f.kind, FieldKind::Url | FieldKind::Host))
    });
    let redirected = provider.base_url_override.is_some();
    let mut bases = vec![base.trim_end_matches('/').to_owned()];
    if redirected {
        let moved = provider.redirect(base_url.clone());
        bases.push(moved.as_str().trim_end_matches('/').to_owned());
    }
    let url = provider.redirect(url);

    let (headers, basic) =
        render_credentials(provider, values, &api.headers, api.basic.as_ref()).map_err(missing)?;
    let mut injected: Vec<String> = api.headers.keys().map(|n| n.to_ascii_lowercase()).collect();
    if basic.is_some() {
        injected.push("authorization".to_owned());
    }
    Ok(Upstream {
        url,
        headers,
        basic,
        tenant_supplied_host,
        redirected,
        injected,
        bases,
        credential_params,
        secret_texts: values.secret_texts(),
    })
}

/// Escapes a value as it would sit in a URL query.
pub(crate) fn url_escaped(text: &str) -> String {
    template::render("{v}", |_| Some((text, Escape::Url))).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests;
