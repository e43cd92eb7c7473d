//! The identity providers' discovery documents and signing keys, fetched through the provider
//! client and kept: discovery for an hour, keys until a token names one that is not in the set.
//! Then the set is fetched once more (a key rotation) — at most once a minute, so tokens with
//! made-up key ids cannot make Plugboard fetch on every sign-in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use domain::sso::{IdClaims, SsoFailure, SsoProvider};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use url::Url;

use crate::outbound::{ProviderHttp, read_body};

const DISCOVERY_LIFETIME: Duration = Duration::from_secs(3600);
/// Keys are fetched again after a day even when no token asked for a new one.
const KEYS_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The least time between two fetches asked for by an unknown key id.
const UNKNOWN_KEY_REFETCH: Duration = Duration::from_secs(60);
/// Clocks differ: an ID token is accepted this long past its expiry (and before `nbf`).
pub const CLOCK_SKEW_SECS: u64 = 60;

/// The parts of a discovery document sign-in uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
}

#[derive(Default)]
struct Entry {
    metadata: Option<(Arc<Metadata>, Instant)>,
    keys: Option<(Arc<JwkSet>, Instant)>,
    /// When an unknown key id last made the set be fetched again.
    refetched_for_unknown: Option<Instant>,
}

/// Kept discovery documents and key sets, per provider.
#[derive(Default)]
pub struct SsoCache {
    entries: Mutex<HashMap<SsoProvider, Entry>>,
}

/// Why a fetch from the provider failed, for a sentence.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("it could not be reached ({0:?})")]
    Transport(domain::verify::TransportFailure),
    #[error("it answered HTTP {0}")]
    Status(u16),
    #[error("its answer is not the expected JSON")]
    Unreadable,
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    http: &ProviderHttp,
    url: &Url,
) -> Result<T, FetchError> {
    // Operator-chosen hosts (the real providers, the sandbox, a test's server): the trusted
    // client, which follows no redirect and has the provider deadline.
    let response = http
        .client_for(false, true)
        .get(url.clone())
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| FetchError::Transport(crate::outbound::classify(e)))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(FetchError::Status(status));
    }
    let body = read_body(response).await.map_err(FetchError::Transport)?;
    serde_json::from_slice(&body).map_err(|_| FetchError::Unreadable)
}

impl SsoCache {
    fn with<T>(&self, provider: SsoProvider, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        f(entries.entry(provider).or_default())
    }

    /// The provider's discovery document, fetched when none is kept or `fresh` asks for it.
    pub async fn metadata(
        &self,
        http: &ProviderHttp,
        provider: SsoProvider,
        discovery: &Url,
        fresh: bool,
    ) -> Result<Arc<Metadata>, FetchError> {
        let kept = self.with(provider, |e| {
            e.metadata
                .as_ref()
                .filter(|(_, at)| !fresh && at.elapsed() < DISCOVERY_LIFETIME)
                .map(|(m, _)| m.clone())
        });
        if let Some(metadata) = kept {
            return Ok(metadata);
        }
        let metadata: Arc<Metadata> = Arc::new(get_json(http, discovery).await?);
        self.with(provider, |e| {
            e.metadata = Some((metadata.clone(), Instant::now()))
        });
        Ok(metadata)
    }

    async fn fetch_keys(
        &self,
        http: &ProviderHttp,
        provider: SsoProvider,
        metadata: &Metadata,
    ) -> Result<Arc<JwkSet>, SsoFailure> {
        let keys: Arc<JwkSet> = Arc::new(get_json(http, &metadata.jwks_uri).await.map_err(|err| {
            tracing::warn!(provider = provider.as_str(), error = %err, "fetching the sign-in provider's keys");
            SsoFailure::ProviderUnavailable
        })?);
        self.with(provider, |e| e.keys = Some((keys.clone(), Instant::now())));
        Ok(keys)
    }

    /// The key a token's header names: from the kept set, or after one more fetch when the set
    /// does not hold it (and none was made for that reason within the last minute).
    async fn key_for(
        &self,
        http: &ProviderHttp,
        provider: SsoProvider,
        metadata: &Metadata,
        kid: Option<&str>,
    ) -> Result<DecodingKey, SsoFailure> {
        let kept = self.with(provider, |e| {
            e.keys
                .as_ref()
                .filter(|(_, at)| at.elapsed() < KEYS_LIFETIME)
                .map(|(k, _)| k.clone())
        });
        let keys = match kept {
            Some(keys) => keys,
            None => self.fetch_keys(http, provider, metadata).await?,
        };
        if let Some(key) = pick(&keys, kid) {
            return key;
        }
        let may_refetch = self.with(provider, |e| {
            let allowed = e
                .refetched_for_unknown
                .is_none_or(|at| at.elapsed() >= UNKNOWN_KEY_REFETCH);
            if allowed {
                e.refetched_for_unknown = Some(Instant::now());
            }
            allowed
        });
        if !may_refetch {
            return Err(SsoFailure::InvalidToken);
        }
        let keys = self.fetch_keys(http, provider, metadata).await?;
        pick(&keys, kid).unwrap_or(Err(SsoFailure::InvalidToken))
    }
}

/// The set's key for `kid`; without a `kid`, the set's only key.
fn pick(keys: &JwkSet, kid: Option<&str>) -> Option<Result<DecodingKey, SsoFailure>> {
    let jwk = match kid {
        Some(kid) => keys.find(kid)?,
        None if keys.keys.len() == 1 => keys.keys.first()?,
        None => return None,
    };
    Some(DecodingKey::from_jwk(jwk).map_err(|_| SsoFailure::InvalidToken))
}

/// What an ID token must match besides its signature.
pub struct Expected<'a> {
    pub provider: SsoProvider,
    pub client_id: &'a str,
    pub issuer: &'a str,
    pub nonce: &'a str,
}

/// Checks an ID token: signature by the provider's key, audience, expiry (and `nbf`) with a
/// minute's skew, issuer (Entra's per-tenant issuer included) and nonce.
pub async fn verify(
    cache: &SsoCache,
    http: &ProviderHttp,
    metadata: &Metadata,
    token: &str,
    expected: &Expected<'_>,
) -> Result<IdClaims, SsoFailure> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| SsoFailure::InvalidToken)?;
    // Asymmetric algorithms only: an `HS256` token would be "signed" with a public key.
    if !matches!(
        header.alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::ES256
            | Algorithm::ES384
    ) {
        return Err(SsoFailure::InvalidToken);
    }
    let key = cache
        .key_for(http, expected.provider, metadata, header.kid.as_deref())
        .await?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = CLOCK_SKEW_SECS;
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(|err| {
            tracing::info!(provider = expected.provider.as_str(), reason = ?err.kind(), "an ID token was refused");
            SsoFailure::InvalidToken
        })?
        .claims;
    if !domain::sso::issuer_is_valid(expected.provider, expected.issuer, &claims) {
        tracing::info!(
            provider = expected.provider.as_str(),
            "an ID token names another issuer or tenant"
        );
        return Err(SsoFailure::InvalidToken);
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        tracing::info!(
            provider = expected.provider.as_str(),
            "an ID token carries another nonce"
        );
        return Err(SsoFailure::InvalidToken);
    }
    Ok(claims)
}

/// Whether the key set answers with at least one key (readiness).
pub async fn check_keys(http: &ProviderHttp, metadata: &Metadata) -> Result<(), FetchError> {
    let keys: JwkSet = get_json(http, &metadata.jwks_uri).await?;
    if keys.keys.is_empty() {
        return Err(FetchError::Unreadable);
    }
    Ok(())
}
