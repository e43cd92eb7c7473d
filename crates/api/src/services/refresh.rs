//! Renewing an OAuth connection's access token with its refresh token.
//!
//! One refresh per connection at a time, across replicas: a lease on the connection row (an
//! owner id and an expiry, see `persistence::leases`) is taken first, no transaction is held
//! across the provider call, and the lease is released compare-and-set on its owner. The
//! holder keeps the lease's deadline in memory (`lease::Deadline`) and reads it right before
//! the token request leaves: a request goes out only while the lease has time left, and its
//! timeout ends it before the lease does. A rotated refresh token works once, so:
//! - an `invalid_grant` when the stored refresh token changed since the attempt began is a
//!   lost race (another refresh won and its token stands), not a revocation;
//! - a write that finds the row changed meanwhile is decided again on what is stored, and if
//!   the refresh token moved on, the newer one is kept (a lapsed lease cannot overwrite it);
//! - an answer stored after the lease lapsed (the process was paused once it had it) is still
//!   stored when the row's version allows: its tokens are the newest the provider issued.
//!
//! A refusal (`invalid_grant`, revoked, 401) makes the connection `expired`; an outage keeps
//! the tokens and is retried with backoff by the worker. What each outcome does to the
//! connection, and its sentence in the history, are the lifecycle's.

use std::time::Instant;

use chrono::{Duration, Utc};
use domain::OrgId;
use domain::lifecycle::{self, Event, Input, Refresh};
use domain::model::{Actor, Connection};
use domain::oauth::{CallbackFailure, TokenError, TokenSet};
use domain::registry::Provider;
use persistence::connections::{self, SealedSecret};
use persistence::leases;
use secrecy::{ExposeSecret, SecretString};

use super::catalog::{IntegrationView, provider, tenant_level, view};
use super::checks::{ACCESS_TOKEN, REFRESH_TOKEN, open_secrets};
use super::lease::Deadline;
use super::lifecycle::{Secrets, store};
use super::oauth::{Refusal, TokenExchange, oauth_of, platform_credentials};
use super::vault::Vault;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;
use domain::oauth::requests;

/// POST …/refresh: renews the access token now. When a refresh of the same connection is in
/// flight (here or on another replica), waits for it and answers what it left.
pub async fn refresh<'r>(
    state: &'r AppState,
    org_id: OrgId,
    actor: &Actor,
    provider_id: &str,
) -> ApiResult<IntegrationView<'r>> {
    let provider = provider(state, provider_id)?;
    tenant_level(provider)?;
    oauth_of(provider)?;
    let existing = connected(state, org_id, provider).await?;
    if let Some((Refresh::Transient, event)) =
        renew_single_flight(state, org_id, actor, provider, &existing).await?
    {
        return Err(ApiError::unavailable(
            ErrorCode::ProviderUnavailable,
            event.message,
        ));
    }
    view(&state.db, org_id, provider).await
}

/// Renews a connection's token under its lease. When a renewal of the same connection is
/// already in flight (here, in the worker or on another replica), waits for it instead and
/// answers `None`: what it left is stored.
pub(crate) async fn renew_single_flight(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    existing: &Connection,
) -> ApiResult<Option<(Refresh, Event)>> {
    let owner = format!("request-{}", uuid::Uuid::new_v4().simple());
    let (started, now) = (Instant::now(), Utc::now());
    if !leases::claim_one(&state.db, org_id, existing.id, &owner, now, lease_of(state)).await? {
        wait_for_lease(state, org_id, existing).await?;
        return Ok(None);
    }
    let deadline = Deadline::new(started, now, lease_of(state));
    // Read again under the lease: a renewal that ended between the caller's read and this
    // claim rotated the refresh token and moved the version on, so what the caller read would
    // present a spent token, or have the fresh one's write refused.
    let renewed = match connected(state, org_id, provider).await {
        Ok(current) => renew(state, org_id, actor, provider, current, deadline).await,
        Err(err) => Err(err),
    };
    let how = match &renewed {
        Ok(None) => leases::Released::Unused,
        _ => leases::Released::Settled,
    };
    leases::release(&state.db, org_id, existing.id, &owner, how).await?;
    match renewed? {
        Some(done) => Ok(Some(done)),
        None => Err(ApiError::unavailable(
            ErrorCode::ProviderTimeout,
            format!(
                "Plugboard ran out of time before it could ask {} for a new token; nothing changed. Try again in a moment.",
                provider.name
            ),
        )),
    }
}

/// How long a refresh holds its connection's lease (`PLUGBOARD_REFRESH_LEASE_SECS`).
pub fn lease_of(state: &AppState) -> Duration {
    Duration::from_std(state.settings.background.refresh_lease).unwrap_or(Duration::minutes(2))
}

/// Waits until nobody holds the connection's lease (at most one lease's length).
async fn wait_for_lease(state: &AppState, org_id: OrgId, existing: &Connection) -> ApiResult<()> {
    let deadline = Utc::now() + lease_of(state);
    while Utc::now() < deadline {
        if !leases::is_leased(&state.db, org_id, existing.id, Utc::now()).await? {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(ApiError::conflict(
        ErrorCode::RefreshInProgress,
        "Another renewal of this connection is taking too long; look again in a moment.",
    ))
}

async fn connected(state: &AppState, org_id: OrgId, provider: &Provider) -> ApiResult<Connection> {
    connections::find(&state.db, org_id, &provider.id)
        .await?
        .filter(lifecycle::may_renew)
        .ok_or_else(|| {
            ApiError::conflict(
                ErrorCode::NotConnected,
                format!(
                    "{} is not connected yet: connect it before refreshing its access.",
                    provider.name
                ),
            )
        })
}

/// One stored secret of a connection, opened.
async fn stored_secret(
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
    connection: &Connection,
    field: &str,
) -> ApiResult<Option<SecretString>> {
    Ok(open_secrets(state, org_id, provider, Some(connection))
        .await?
        .secrets
        .remove(field))
}

/// What a renewal presents to the provider: the refresh token, or — for a Shopify connection
/// still on a non-expiring token — that token, exchanged once for expiring ones.
struct Presented {
    field: &'static str,
    token: SecretString,
}

impl Presented {
    /// Whether the secret stored now is another one: a renewal that presented this one lost.
    fn replaced_by(&self, stored: Option<&SecretString>) -> bool {
        stored.is_some_and(|s| s.expose_secret() != self.token.expose_secret())
    }

    /// What new tokens for this one come to: a refresh token renews; a non-expiring access
    /// token is exchanged for expiring ones.
    fn renewed_by(&self, tokens: &TokenSet) -> Refresh {
        let (expires_at, scopes) = (tokens.expires_at, tokens.scopes.clone());
        if self.field == ACCESS_TOKEN {
            Refresh::Exchanged { expires_at, scopes }
        } else {
            Refresh::Renewed { expires_at, scopes }
        }
    }
}

/// Renews a connection's token; the caller holds its lease until `lease`. `None` when the
/// lease had too little time left to ask the provider: nothing was sent and nothing stored.
pub(crate) async fn renew(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    existing: Connection,
    lease: Deadline,
) -> ApiResult<Option<(Refresh, Event)>> {
    let oauth = oauth_of(provider)?;
    let mut stored = open_secrets(state, org_id, provider, Some(&existing))
        .await?
        .secrets;
    let presented = match (stored.remove(REFRESH_TOKEN), stored.remove(ACCESS_TOKEN)) {
        (Some(token), _) => Presented {
            field: REFRESH_TOKEN,
            token,
        },
        (None, Some(token)) if requests::exchanges_non_expiring_tokens(oauth) => Presented {
            field: ACCESS_TOKEN,
            token,
        },
        _ => {
            return Err(ApiError::conflict(
                ErrorCode::NoRefreshToken,
                format!(
                    "{} gave Plugboard no refresh token, so there is nothing to renew: its access stays valid until the provider ends it. Reconnect {} to replace it.",
                    provider.name, provider.name
                ),
            ));
        }
    };
    let (client_id, client_secret) = platform_credentials(state, provider)?;
    let exchange = TokenExchange {
        state,
        provider,
        oauth,
        config: &existing.config,
        client_id,
        client_secret,
        lease: Some(lease),
    };
    let answer = if presented.field == REFRESH_TOKEN {
        exchange.refresh(&presented.token).await?
    } else {
        exchange.to_expiring(&presented.token).await?
    };
    let mut put = Vec::new();
    let outcome = match answer {
        Ok(body) => match domain::oauth::read_token_answer(oauth, &body, Utc::now()) {
            Ok(tokens) => {
                let vault = Vault {
                    keys: &state.keys,
                    org_id,
                    provider: &provider.id,
                };
                put.push(
                    vault
                        .seal(ACCESS_TOKEN, &tokens.access_token, false)
                        .map_err(ApiError::internal)?,
                );
                // A rotated refresh token replaces the old one in the same transaction; a
                // provider that sends none keeps the old one.
                if let Some(rotated) = &tokens.refresh_token {
                    put.push(
                        vault
                            .seal(REFRESH_TOKEN, rotated, false)
                            .map_err(ApiError::internal)?,
                    );
                }
                presented.renewed_by(&tokens)
            }
            Err(TokenError::Refused(code)) => {
                refused(state, org_id, provider, &presented, &code).await?
            }
            Err(TokenError::Malformed) => Refresh::Transient,
        },
        Err(Refusal::LeaseLapsed) => return Ok(None),
        Err(Refusal::Failed(CallbackFailure::ProviderUnavailable)) => Refresh::Transient,
        Err(Refusal::Failed(failure)) => {
            refused(state, org_id, provider, &presented, failure.as_str()).await?
        }
    };
    // Whatever the provider answered is stored now, however late: the version read fences
    // the write, so it never lands over a newer row.
    store_fresh(
        state,
        Fresh {
            org_id,
            actor,
            provider,
            read: existing,
            outcome,
            put,
            presented: &presented,
        },
    )
    .await
    .map(Some)
}

/// A refusal is a revocation unless what was presented moved on meanwhile: then another
/// refresh won the race and its token stands.
async fn refused(
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
    presented: &Presented,
    code: &str,
) -> ApiResult<Refresh> {
    if moved_on(state, org_id, provider, presented).await? {
        tracing::info!(provider = %provider.id, "refresh lost a race to another renewal; its token stands");
        return Ok(Refresh::LostRace);
    }
    tracing::warn!(provider = %provider.id, code = %code, "refresh refused; the connection needs a reconnect");
    Ok(Refresh::Revoked)
}

/// Whether the stored secret a renewal presented was replaced since (another renewal won).
async fn moved_on(
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
    presented: &Presented,
) -> ApiResult<bool> {
    let Some(now) = connections::find(&state.db, org_id, &provider.id).await? else {
        return Ok(false);
    };
    let stored = stored_secret(state, org_id, provider, &now, presented.field).await?;
    Ok(presented.replaced_by(stored.as_ref()))
}

struct Fresh<'a> {
    org_id: OrgId,
    actor: &'a Actor,
    provider: &'a Provider,
    read: Connection,
    outcome: Refresh,
    put: Vec<SealedSecret>,
    /// What this attempt sent.
    presented: &'a Presented,
}

/// Stores a refresh's outcome, conditional on the version read. A write that finds the row
/// changed is decided again on what is stored now — unless the refresh token moved on, in
/// which case the newer token stands (a lost race; a lapsed lease cannot overwrite it).
async fn store_fresh(state: &AppState, fresh: Fresh<'_>) -> ApiResult<(Refresh, Event)> {
    let Fresh {
        org_id,
        actor,
        provider,
        mut read,
        mut outcome,
        mut put,
        presented,
    } = fresh;
    let mut attempts = 0;
    loop {
        let decision = lifecycle::decide(
            &read,
            provider,
            Input::Refreshed(outcome.clone()),
            Utc::now(),
        )
        .map_err(|r| {
            ApiError::internal(anyhow::anyhow!("a refresh was refused: {}", r.problem.code))
        })?;
        let event = decision.event.clone();
        match store(
            state,
            org_id,
            actor,
            provider,
            decision,
            Secrets::put(put.clone()),
        )
        .await
        {
            Err(err) if err.code() == ErrorCode::Conflict && attempts < 3 => {
                attempts += 1;
                let disconnected = || {
                    ApiError::conflict(
                        ErrorCode::NotConnected,
                        format!(
                            "{} was disconnected while its access was being renewed; the new tokens were not kept.",
                            provider.name
                        ),
                    )
                };
                read = connections::find(&state.db, org_id, &provider.id)
                    .await?
                    .ok_or_else(disconnected)?;
                // A disconnect that landed meanwhile deleted the credentials on purpose: the
                // renewed tokens must not bring them back.
                if !lifecycle::may_renew(&read) {
                    return Err(disconnected());
                }
                let stored = stored_secret(state, org_id, provider, &read, presented.field).await?;
                if presented.replaced_by(stored.as_ref()) {
                    outcome = Refresh::LostRace;
                    put.clear();
                }
            }
            Err(err) => return Err(err),
            Ok(_) => return Ok((outcome, event)),
        }
    }
}

/// After a renewal failed for an outage: a token already past its expiry makes the connection
/// `error` when the lifecycle says so (renewals go on). A write that finds the connection
/// changed meanwhile is left for the next sweep to look at.
pub(crate) async fn record_lapse(
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
) -> ApiResult<()> {
    let Some(current) = connections::find(&state.db, org_id, &provider.id).await? else {
        return Ok(());
    };
    let now = Utc::now();
    let Some(input) = lifecycle::due::lapsed_during_outage(&current, now) else {
        return Ok(());
    };
    let decision = lifecycle::decide(&current, provider, input, now).map_err(|r| {
        ApiError::internal(anyhow::anyhow!(
            "token past expiry refused: {}",
            r.problem.code
        ))
    })?;
    if let Err(err) = store(
        state,
        org_id,
        &Actor::System,
        provider,
        decision,
        Secrets::none(),
    )
    .await
    {
        tracing::info!(error = %err, "the connection changed meanwhile; its expiry is looked at next sweep");
    }
    Ok(())
}
