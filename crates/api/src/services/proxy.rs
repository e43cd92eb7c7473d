//! Calling a provider with an organization's connection: the state gates, a token renewed
//! before it runs out (and once more after a 401), the credential injected, and the answer
//! handed back unread with the rewriter that keeps stored secrets out of it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use domain::lifecycle::{self, Refresh, Unusable};
use domain::model::{Actor, Connection, LastUse};
use domain::proxy::{self, ProxyError, Rewriter, Upstream};
use domain::registry::Provider;
use domain::verify::{TransportFailure, VerifyValues};
use domain::{ConnectionId, OrgId};
use persistence::{StoreError, api_keys, connections};
use secrecy::SecretString;

use super::catalog::provider as find_provider;
use super::checks::{ACCESS_TOKEN, REFRESH_TOKEN, open_sealed};
use super::refresh::renew_single_flight;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::recent::Recent;
use crate::state::AppState;

/// A token this close to its expiry is renewed before the call.
const RENEW_WITHIN_SECS: i64 = 60;

/// What the caller asked the provider for.
pub struct Call {
    pub method: reqwest::Method,
    /// As sent, percent-encoded, relative to the provider's API base.
    pub path: String,
    pub query: Option<String>,
    /// The caller's headers as sent; those that may go on are picked here.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: actix_web::web::Bytes,
    /// `{public}/api/v1/orgs/{org}/integrations/{provider}/proxy`, where paging links point.
    pub proxy_base: String,
    /// How many times a 429 or 503 may be tried again (`Plugboard-Retries`, already checked).
    pub retries: u8,
    /// Query parameters the injection adds from registry templates (a listing's app
    /// credentials), beside the connection's credential.
    pub injected_query: BTreeMap<String, String>,
}

/// Credentials about to be saved, with the settings they come with: a call made with them
/// checks a choice before anything is kept, so there is no stored connection to admit, renew
/// or note.
pub struct Proposed<'a> {
    pub config: &'a BTreeMap<String, String>,
    pub secrets: &'a BTreeMap<String, SecretString>,
}

/// The provider's answer, unread, and how to rewrite it.
pub struct Proxied {
    pub response: reqwest::Response,
    pub rewriter: Rewriter,
    /// Time spent waiting out the provider's 429s and 503s.
    pub waited: std::time::Duration,
    /// Time from sending to each answer head, all attempts together.
    pub upstream: std::time::Duration,
}

/// Whose call it is, which decides the connections it may use and whether it is noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A caller's request through the proxy: working connections only, noted as their use.
    Relay,
    /// Plugboard's own listing or check of what a connection is pointed at: failing
    /// connections too (that is how a brand finds and fixes a lost resource), not noted.
    Setup,
    /// Plugboard posting a notice through the connection: working connections only, not
    /// noted (it is not the brand's use).
    Notice,
}

/// Calls the provider. Errors are Plugboard's own (problem+json); any answer the provider gave
/// comes back as `Ok`, whatever its status.
pub async fn call(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider_id: &str,
    call: Call,
) -> ApiResult<Proxied> {
    call_for(state, org_id, actor, provider_id, call, Purpose::Relay).await
}

/// `call`, for a purpose.
pub async fn call_for(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider_id: &str,
    call: Call,
    purpose: Purpose,
) -> ApiResult<Proxied> {
    let provider = find_provider(state, provider_id)?;
    if !provider.is_proxied() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            ErrorCode::NotProxied,
            format!(
                "Plugboard does not call {} for you: it has no API that an organization's connection opens.",
                provider.name
            ),
        ));
    }
    let mut admitted = admitted(state, org_id, provider, purpose).await?;
    if renewal_due(provider, &admitted.connection) {
        admitted = renewed(state, org_id, actor, provider, admitted, purpose).await?;
    }
    let now = Utc::now();
    let connection = &admitted.connection;
    let record = (purpose == Purpose::Relay
        && LastUse::is_news(connection.last_used.as_ref(), actor, now))
    .then_some(connection.id);
    let mut upstream = prepare(state, provider, &admitted, &call)?;
    let mut upstream_time = std::time::Duration::ZERO;
    let mut response = send(state, &upstream, &call, &mut upstream_time).await?;
    let refreshable = provider.oauth().is_some() && admitted.secrets.contains_key(REFRESH_TOKEN);
    if response.status() == reqwest::StatusCode::UNAUTHORIZED && refreshable {
        // The provider no longer takes the token: renew it once and try once more.
        drop(response);
        tracing::info!(provider = %provider.id, "the provider refused the access token; renewing it and retrying once");
        let admitted = renewed(state, org_id, actor, provider, admitted, purpose).await?;
        upstream = prepare(state, provider, &admitted, &call)?;
        response = send(state, &upstream, &call, &mut upstream_time).await?;
    }
    let mut waited = std::time::Duration::ZERO;
    for attempt in 0..call.retries {
        let asked = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| proxy::retry_after(v, Utc::now()));
        let Some(wait) =
            proxy::wait_before_retry(response.status().as_u16(), asked, attempt, waited, jitter())
        else {
            break;
        };
        drop(response);
        tracing::info!(provider = %provider.id, attempt, wait_ms = wait.as_millis(), "the provider asked to wait; retrying");
        tokio::time::sleep(wait).await;
        waited += wait;
        response = send(state, &upstream, &call, &mut upstream_time).await?;
    }
    if let Some(connection_id) = record {
        // The provider has answered; a lost note of who used the connection must not lose
        // the answer.
        if let Err(err) = record_use(state, org_id, connection_id, actor, now).await {
            tracing::warn!(provider = %provider.id, error = %err, "the connection's last use was not recorded");
        }
        // Otherwise the next calls would find the old note and write it again.
        forget_connection(state, org_id, &provider.id);
    }
    let rewriter = rewriter_for(&upstream, &call);
    Ok(Proxied {
        response,
        rewriter,
        waited,
        upstream: upstream_time,
    })
}

/// Calls the provider once with credentials that are not stored yet.
pub async fn call_proposed(
    state: &AppState,
    provider: &Provider,
    proposed: &Proposed<'_>,
    call: Call,
) -> ApiResult<Proxied> {
    let upstream = upstream_for(state, provider, proposed.config, proposed.secrets, &call)?;
    let mut spent = std::time::Duration::ZERO;
    let response = send(state, &upstream, &call, &mut spent).await?;
    Ok(Proxied {
        response,
        rewriter: rewriter_for(&upstream, &call),
        waited: std::time::Duration::ZERO,
        upstream: spent,
    })
}

/// How the answer is rewritten: for a caller, links point back through the proxy; Plugboard's
/// own calls (no proxy base) keep the provider's links, whose cursors they read. Secrets go
/// from both.
fn rewriter_for(upstream: &Upstream, call: &Call) -> Rewriter {
    if call.proxy_base.is_empty() {
        upstream.scrubber()
    } else {
        upstream.rewriter(&call.proxy_base)
    }
}

/// Notes who called the provider with the connection, under the name they have now.
async fn record_use(
    state: &AppState,
    org_id: OrgId,
    connection_id: ConnectionId,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let by_name = match actor {
        Actor::User(id) => persistence::users::get(&state.db, *id)
            .await?
            .map(|u| u.name),
        Actor::ApiKey(id) => api_keys::get(&state.db, org_id, *id).await?.map(|k| k.name),
        Actor::System => None,
    };
    let used = LastUse {
        at,
        by: actor.clone(),
        by_name,
    };
    connections::record_use(&state.db, org_id, connection_id, &used).await
}

/// A number in [0, 1) that spreads the retries of callers refused together.
fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    // Without randomness the retry still happens, only less spread.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut byte);
    f64::from(byte[0]) / 256.0
}

/// A connection that may be used now, with its secrets opened.
pub(crate) struct Admitted {
    pub connection: Connection,
    secrets: BTreeMap<String, SecretString>,
}

/// Connections with their ciphertexts, by organization and provider, as read within the last
/// second: a caller's calls in a row read the row once a second, not once a call. Every change
/// stored in this process forgets its connection at once; another replica's is seen within the
/// second. 4 096 at most.
pub type RecentConnections = Recent<(OrgId, String), (Connection, BTreeMap<String, String>)>;

pub fn recent_connections() -> RecentConnections {
    Recent::new(std::time::Duration::from_secs(1), 4096)
}

/// The connection changed (stored, used, erased): what the proxy kept of it goes.
pub(crate) fn forget_connection(state: &AppState, org_id: OrgId, provider_id: &str) {
    state
        .recent_connections
        .forget((org_id, provider_id.to_owned()));
}

/// The connection and its secrets, read in one query, if it may be used now: connected and
/// enabled (for `Setup`, failing too). A caller's relay may use what was read within the
/// last second, unless its token is due for renewal: that is decided on the row as it is.
pub(crate) async fn admitted(
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
    purpose: Purpose,
) -> ApiResult<Admitted> {
    let key = (org_id, provider.id.clone());
    let kept = match purpose {
        Purpose::Relay => state
            .recent_connections
            .get(&key)
            .filter(|(connection, _)| !renewal_due(provider, connection)),
        Purpose::Setup | Purpose::Notice => None,
    };
    let found = match kept {
        Some(kept) => Some(kept),
        None => {
            let read_at = std::time::Instant::now();
            let found = connections::find_sealed(&state.db, org_id, &provider.id).await?;
            if let Some(found) = &found {
                state.recent_connections.keep(key, found.clone(), read_at);
            }
            found
        }
    };
    let (connection, sealed) = match found {
        Some((connection, sealed)) => (Some(connection), sealed),
        None => (None, BTreeMap::new()),
    };
    let connection = gate(provider, connection, purpose)?;
    let secrets = open_sealed(state, org_id, provider, sealed).secrets;
    Ok(Admitted {
        connection,
        secrets,
    })
}

/// Whether the token runs out soon enough to be renewed before a call.
fn renewal_due(provider: &Provider, connection: &Connection) -> bool {
    provider.oauth().is_some()
        && connection
            .token_expires_at
            .is_some_and(|at| at <= Utc::now() + Duration::seconds(RENEW_WITHIN_SECS))
}

fn gate(
    provider: &Provider,
    connection: Option<Connection>,
    purpose: Purpose,
) -> ApiResult<Connection> {
    let name = &provider.name;
    let why = match lifecycle::usable(connection.as_ref()) {
        Ok(_) => None,
        Err(Unusable::Failing) if purpose == Purpose::Setup => None,
        Err(why) => Some(why),
    };
    let said = |fallback: String| {
        connection
            .as_ref()
            .and_then(|c| c.last_error.as_ref())
            .map_or(fallback, |e| e.message.clone())
    };
    match (why, connection.as_ref()) {
        (None, Some(admitted)) => Ok(admitted.clone()),
        (Some(Unusable::Disabled), _) => Err(ApiError::conflict(
            ErrorCode::ConnectionDisabled,
            format!(
                "{name} is turned off for this organization; an admin turns it on again in its settings."
            ),
        )),
        (Some(Unusable::Expired), _) => Err(ApiError::conflict(
            ErrorCode::ConnectionExpired,
            said(format!(
                "{name}'s access has ended. Reconnect {name} to restore it."
            )),
        )),
        (Some(Unusable::Failing), _) => Err(ApiError::conflict(
            ErrorCode::ConnectionError,
            said(format!(
                "{name}'s connection failed its last check; fix its settings or reconnect it."
            )),
        )),
        (Some(Unusable::NotConnected), _) | (None, None) => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            ErrorCode::NotConnected,
            format!("{name} is not connected for this organization; connect it first."),
        )),
    }
}

/// Renews the token (single flight with the worker and other requests) and reads the
/// connection again. A refusal leaves it `expired` (409); an outage keeps a token that has not
/// run out yet.
async fn renewed(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    before: Admitted,
    purpose: Purpose,
) -> ApiResult<Admitted> {
    let connection = &before.connection;
    match renew_single_flight(state, org_id, actor, provider, connection).await {
        Ok(Some((Refresh::Transient, event))) => {
            let lapsed = connection
                .token_expires_at
                .is_some_and(|at| at <= Utc::now());
            if lapsed {
                return Err(ApiError::unavailable(
                    ErrorCode::ProviderUnavailable,
                    event.message,
                ));
            }
        }
        Ok(_) => {}
        // Nothing to renew with (Meta's long-lived tokens): the token is used as it is.
        Err(err) if err.code() == ErrorCode::NoRefreshToken => return Ok(before),
        Err(err) => return Err(err),
    }
    // Renewed here or by whoever held the lease: either way the row moved on.
    forget_connection(state, org_id, &provider.id);
    admitted(state, org_id, provider, purpose).await
}

/// Builds the upstream request with the connection's credential.
fn prepare(
    state: &AppState,
    provider: &Provider,
    admitted: &Admitted,
    call: &Call,
) -> ApiResult<Upstream> {
    upstream_for(
        state,
        provider,
        &admitted.connection.config,
        &admitted.secrets,
        call,
    )
}

/// The upstream request for a call with these settings and secrets.
fn upstream_for(
    state: &AppState,
    provider: &Provider,
    config: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, SecretString>,
    call: &Call,
) -> ApiResult<Upstream> {
    // Only this provider's platform variables: they are all the injection may use, and all
    // the rewriter needs to look for.
    let platform_env: BTreeMap<String, SecretString> = provider
        .platform_env
        .iter()
        .filter_map(|name| {
            state
                .settings
                .platform_env
                .get(name)
                .map(|v| (name.clone(), v.clone()))
        })
        .collect();
    let values = VerifyValues {
        config,
        secrets,
        access_token: secrets.get(ACCESS_TOKEN),
        platform_env: &platform_env,
    };
    proxy::build_with(
        provider,
        &values,
        &call.path,
        call.query.as_deref(),
        &call.injected_query,
    )
    .map_err(|err| match err {
        ProxyError::NotProxied => ApiError::not_found("This provider is not proxied."),
        ProxyError::Path(refusal) => {
            ApiError::bad_request(ErrorCode::PathNotAllowed, refusal.message())
        }
        ProxyError::Build(missing) => ApiError::conflict(
            ErrorCode::MissingValues,
            format!(
                "{} cannot be called yet: {missing}. Complete its settings.",
                provider.name
            ),
        ),
    })
}

/// The caller's headers that go on: not Plugboard's own, not hop-by-hop, not one the
/// injection sets.
fn forwarded(upstream: &Upstream, headers: &[(String, Vec<u8>)]) -> reqwest::header::HeaderMap {
    let listed: Vec<String> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|n| n.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        if !proxy::forwards_request_header(name, &upstream.injected, &listed) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// Sends once; the time to the answer head is added to `spent`, failed attempts included.
async fn send(
    state: &AppState,
    upstream: &Upstream,
    call: &Call,
    spent: &mut std::time::Duration,
) -> ApiResult<reqwest::Response> {
    let proxy = state.settings.proxy;
    let started = std::time::Instant::now();
    let sent = state
        .http
        .send_proxied(
            upstream,
            call.method.clone(),
            forwarded(upstream, &call.headers),
            call.body.clone(),
            proxy.timeout,
        )
        .await;
    *spent += started.elapsed();
    sent.map_err(|failure| transport_problem(failure, proxy.timeout.as_secs()))
}

/// Plugboard's own answer when the provider gave none.
pub fn transport_problem(failure: TransportFailure, timeout_secs: u64) -> ApiError {
    use actix_web::http::StatusCode;
    match failure {
        TransportFailure::Timeout => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::UpstreamTimeout,
            format!("The provider did not answer within {timeout_secs} seconds."),
        ),
        TransportFailure::Blocked => ApiError::new(
            StatusCode::BAD_GATEWAY,
            ErrorCode::AddressNotAllowed,
            "The provider's address points to a private or local network, which Plugboard does not call.",
        ),
        TransportFailure::TooLarge => too_large(),
        TransportFailure::Connect | TransportFailure::Other => ApiError::new(
            StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamUnavailable,
            "Plugboard could not reach the provider (the connection was refused, reset or failed). Try again later.",
        ),
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::BAD_GATEWAY,
        ErrorCode::UpstreamTooLarge,
        "The provider's answer is larger than Plugboard forwards; ask for less (a smaller page).",
    )
}
