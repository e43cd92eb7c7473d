//! Requests to providers. Redirects are never followed, every call has a deadline, and any
//! request whose host a tenant supplied goes through the SSRF guard: its DNS answers are
//! filtered to public addresses, so neither a literal private IP nor a name that resolves to
//! one (DNS rebinding included) can reach the internal network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use domain::proxy::Upstream;
use domain::registry::Method;
use domain::verify::{RequestBody, TransportFailure, VerifyRequest};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

/// The largest provider answer read (an account lookup or a token answer is small); a larger
/// one is a failure, read no further, so a hostile or broken provider cannot fill memory.
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("the address is not public")]
struct BlockedAddress;

/// Resolves names and keeps only public addresses.
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(BlockedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// The HTTP clients for provider calls.
#[derive(Clone)]
pub struct ProviderHttp {
    /// For registry hosts and operator-redirected ones.
    trusted: reqwest::Client,
    /// For hosts a tenant typed in.
    guarded: reqwest::Client,
    allow_private_network: bool,
    timeout: Duration,
}

/// A provider's answer.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl ProviderHttp {
    pub fn new(timeout: Duration, allow_private_network: bool) -> anyhow::Result<ProviderHttp> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(Policy::none())
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .user_agent(concat!("Plugboard/", env!("CARGO_PKG_VERSION")))
        };
        Ok(ProviderHttp {
            trusted: builder().build()?,
            guarded: builder()
                .dns_resolver(Arc::new(PublicOnlyResolver))
                .build()?,
            allow_private_network,
            timeout,
        })
    }

    pub fn timeout_secs(&self) -> u64 {
        self.timeout.as_secs()
    }

    /// The client for a URL: the guarded one unless the operator chose the host.
    pub fn client_for(&self, tenant_supplied_host: bool, redirected: bool) -> &reqwest::Client {
        if tenant_supplied_host && !redirected && !self.allow_private_network {
            &self.guarded
        } else {
            &self.trusted
        }
    }

    /// Whether a URL's literal IP host must be refused (names are checked at resolution).
    pub fn refuses_literal(
        &self,
        url: &url::Url,
        tenant_supplied_host: bool,
        redirected: bool,
    ) -> bool {
        if !tenant_supplied_host || redirected || self.allow_private_network {
            return false;
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
            _ => false,
        }
    }

    /// Sends a proxied request and hands back the answer unread, for the caller to stream.
    /// Nothing is sent to a refused literal address.
    pub async fn send_proxied(
        &self,
        upstream: &Upstream,
        method: reqwest::Method,
        forwarded: reqwest::header::HeaderMap,
        body: actix_web::web::Bytes,
        timeout: Duration,
    ) -> Result<reqwest::Response, TransportFailure> {
        if self.refuses_literal(
            &upstream.url,
            upstream.tenant_supplied_host,
            upstream.redirected,
        ) {
            return Err(TransportFailure::Blocked);
        }
        let client = self.client_for(upstream.tenant_supplied_host, upstream.redirected);
        let mut builder = client
            .request(method, upstream.url.clone())
            .timeout(timeout)
            .headers(forwarded)
            .header(reqwest::header::ACCEPT_ENCODING, "identity");
        for (name, value) in &upstream.headers {
            builder = builder.header(name, value);
        }
        if let Some((user, password)) = &upstream.basic {
            builder = builder.basic_auth(user, Some(password));
        }
        if !body.is_empty() {
            builder = builder.body(body);
        }
        builder.send().await.map_err(classify)
    }

    /// Sends a verify request and reads at most `MAX_BODY` of the answer.
    pub async fn send(&self, request: &VerifyRequest) -> Result<Answer, TransportFailure> {
        if self.refuses_literal(
            &request.url,
            request.tenant_supplied_host,
            request.redirected,
        ) {
            return Err(TransportFailure::Blocked);
        }
        let client = self.client_for(request.tenant_supplied_host, request.redirected);
        let mut builder = match request.method {
            Method::Get => client.get(request.url.clone()),
            Method::Post => client.post(request.url.clone()),
        };
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some((user, password)) = &request.basic {
            builder = builder.basic_auth(user, Some(password));
        }
        builder = match &request.body {
            Some(RequestBody::Json(json)) => builder
                .header("content-type", "application/json")
                .body(json.clone()),
            Some(RequestBody::Form(pairs)) => builder.form(pairs),
            None => builder,
        };
        let response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        Ok(Answer {
            status,
            body: read_body(response).await?,
        })
    }
}

/// Reads a provider's answer whole, within the client's deadline, up to `MAX_BODY`.
pub async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, TransportFailure> {
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY as u64)
    {
        return Err(TransportFailure::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(TransportFailure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sorts a transport error without keeping its text, which may hold the URL and its query.
pub fn classify(err: reqwest::Error) -> TransportFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if e.is::<BlockedAddress>() {
            return TransportFailure::Blocked;
        }
        source = e.source();
    }
    if err.is_timeout() {
        TransportFailure::Timeout
    } else if err.is_connect() {
        TransportFailure::Connect
    } else {
        tracing::warn!(error = %err.without_url(), "provider request failed");
        TransportFailure::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
