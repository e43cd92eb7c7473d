//! Which headers pass through the proxy, each way.

/// Hop-by-hop headers (RFC 9110 §7.6.1), meaningful for one connection only.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What the caller sends for Plugboard, never for the provider.
const CALLER_ONLY: &[&str] = &[
    "authorization",
    "cookie",
    "host",
    "forwarded",
    "x-real-ip",
    "content-length",
    // Plugboard asks for identity so it can redact what comes back.
    "accept-encoding",
    "plugboard-retries",
    "x-request-id",
    "origin",
    "referer",
];

/// Whether a caller's header goes on to the provider. `injected` are the lower-case names the
/// registry sets (the credential, fixed headers); `connection_listed` are the names the
/// caller's `Connection` header makes hop-by-hop.
pub fn forwards_request_header(
    name: &str,
    injected: &[String],
    connection_listed: &[String],
) -> bool {
    let name = name.to_ascii_lowercase();
    !(HOP_BY_HOP.contains(&name.as_str())
        || CALLER_ONLY.contains(&name.as_str())
        || name.starts_with("x-forwarded-")
        || injected.contains(&name)
        || connection_listed.contains(&name))
}

/// Whether a provider's answer header comes back to the caller. Cookies never do: they are
/// the provider's session with Plugboard. The length goes because redaction may change it.
pub fn forwards_response_header(name: &str, connection_listed: &[String]) -> bool {
    let name = name.to_ascii_lowercase();
    !(HOP_BY_HOP.contains(&name.as_str())
        || matches!(
            name.as_str(),
            "set-cookie" | "set-cookie2" | "content-length" | "strict-transport-security"
        )
        || connection_listed.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_credentials_and_hop_by_hop_headers_stay_behind() {
        let injected = vec!["x-shopify-access-token".to_owned()];
        let listed = vec!["x-custom-hop".to_owned()];
        for name in [
            "Authorization",
            "Cookie",
            "Host",
            "X-Forwarded-For",
            "x-forwarded-host",
            "Forwarded",
            "Connection",
            "Keep-Alive",
            "Transfer-Encoding",
            "TE",
            "Upgrade",
            "Proxy-Authorization",
            "X-Shopify-Access-Token",
            "X-Custom-Hop",
            "Accept-Encoding",
            "Content-Length",
        ] {
            assert!(!forwards_request_header(name, &injected, &listed), "{name}");
        }
        for name in [
            "Accept",
            "Content-Type",
            "Idempotency-Key",
            "If-None-Match",
            "X-Custom",
        ] {
            assert!(forwards_request_header(name, &injected, &listed), "{name}");
        }
    }

    #[test]
    fn cookies_never_come_back() {
        for name in [
            "Set-Cookie",
            "set-cookie2",
            "Connection",
            "Transfer-Encoding",
            "Content-Length",
        ] {
            assert!(!forwards_response_header(name, &[]), "{name}");
        }
        for name in [
            "Content-Type",
            "Retry-After",
            "Link",
            "X-RateLimit-Remaining",
            "ETag",
        ] {
            assert!(forwards_response_header(name, &[]), "{name}");
        }
    }
}
