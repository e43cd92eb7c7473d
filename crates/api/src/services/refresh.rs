//! Renewing an OAuth connection's access token with its refresh token.
//!
//! One refresh per connection at a time, across replicas: a short claim on the connection row
//! is taken first (a rotated refresh token works once; two refreshes racing would make the
//! loser look revoked). A refusal (`invalid_grant`, revoked) makes the connection `expired` —
//! reconnecting is the only way back; an outage keeps the tokens and changes nothing else.

use chrono::{Duration, Utc};
use domain::lifecycle::{self, Event, Input, Refresh};
use domain::model::{Actor, Connection};
use domain::oauth::TokenError;
use domain::registry::Provider;
use domain::{ConnectionStatus, OrgId};
use persistence::connections::{self, SealedSecret};

use super::catalog::{IntegrationView, provider, tenant_level, view};
use super::checks::{ACCESS_TOKEN, REFRESH_TOKEN, open_secrets};
use super::lifecycle::{Secrets, store};
use super::oauth::{Refusal, TokenExchange, oauth_of, platform_credentials};
use super::vault::Vault;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// How long a refresh may hold its claim; longer than any token request can take.
const CLAIM_SECS: i64 = 120;

/// What the provider said to a refresh.
enum Renewal {
    Renewed(domain::oauth::TokenSet),
    /// The grant is gone: the brand must reconnect.
    Refused(String),
    /// The provider could not be reached or failed; try again later.
    Unavailable,
}

/// POST …/refresh (and, later, the background refresher): renews the access token now.
pub async fn refresh<'r>(
    state: &'r AppState,
    org_id: OrgId,
    actor: &Actor,
    provider_id: &str,
) -> ApiResult<IntegrationView<'r>> {
    let provider = provider(state, provider_id)?;
    tenant_level(provider)?;
    let oauth = oauth_of(provider)?;
    let not_connected = || {
        ApiError::conflict(
            ErrorCode::NotConnected,
            format!(
                "{} is not connected yet: connect it before refreshing its access.",
                provider.name
            ),
        )
    };
    let existing = connections::find(&state.db, org_id, &provider.id)
        .await?
        .filter(|c| c.status != ConnectionStatus::NotConnected)
        .ok_or_else(not_connected)?;
    let opened = open_secrets(state, org_id, provider, Some(&existing)).await?;
    let Some(refresh_token) = opened.secrets.get(REFRESH_TOKEN) else {
        return Err(ApiError::conflict(
            ErrorCode::NoRefreshToken,
            format!(
                "{} gave Plugboard no refresh token, so there is nothing to renew: its access stays valid until the provider ends it. Reconnect {} to replace it.",
                provider.name, provider.name
            ),
        ));
    };
    let (client_id, client_secret) = platform_credentials(state, provider)?;

    let now = Utc::now();
    let existing_id = existing.id;
    let claimed = connections::claim_refresh(
        &state.db,
        org_id,
        existing.id,
        now,
        now + Duration::seconds(CLAIM_SECS),
    )
    .await?;
    if !claimed {
        return Err(ApiError::conflict(
            ErrorCode::RefreshInProgress,
            format!(
                "{}'s access is being renewed right now; look again in a moment.",
                provider.name
            ),
        ));
    }
    let exchange = TokenExchange {
        state,
        provider,
        oauth,
        config: &existing.config,
        client_id,
        client_secret,
    };
    let answer = exchange.refresh(refresh_token).await;
    let renewal = match answer {
        Ok(Ok(body)) => match domain::oauth::read_token_answer(oauth, &body, Utc::now()) {
            Ok(tokens) => Renewal::Renewed(tokens),
            Err(TokenError::Refused(code)) => Renewal::Refused(code),
            Err(TokenError::Malformed) => Renewal::Unavailable,
        },
        Ok(Err(Refusal("provider_unavailable"))) => Renewal::Unavailable,
        Ok(Err(Refusal(code))) => Renewal::Refused(code.to_owned()),
        Err(err) => {
            connections::release_refresh(&state.db, org_id, existing.id).await?;
            return Err(err);
        }
    };

    let mut put = Vec::new();
    let outcome = match &renewal {
        Renewal::Renewed(tokens) => {
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
            // A rotated refresh token replaces the old one in the same transaction.
            if let Some(rotated) = &tokens.refresh_token {
                put.push(
                    vault
                        .seal(REFRESH_TOKEN, rotated, false)
                        .map_err(ApiError::internal)?,
                );
            }
            Refresh::Renewed {
                expires_at: tokens.expires_at,
                scopes: tokens.scopes.clone(),
            }
        }
        Renewal::Refused(code) => {
            tracing::warn!(provider = %provider.id, code = %code, "refresh refused; the connection needs a reconnect");
            Refresh::Revoked
        }
        Renewal::Unavailable => Refresh::Transient,
    };
    let written = store_fresh(state, org_id, actor, provider, existing, outcome, put).await;
    connections::release_refresh(&state.db, org_id, existing_id).await?;
    let event = written?;
    if matches!(renewal, Renewal::Unavailable) {
        return Err(ApiError::unavailable(
            ErrorCode::ProviderUnavailable,
            event.message,
        ));
    }
    view(&state.db, org_id, provider).await
}

/// Stores a refresh's outcome. The new tokens must not be lost to a concurrent change of the
/// same connection (a rotated refresh token works once), so a write that finds the row changed
/// is decided again on what is stored now, a few times, before it gives up.
async fn store_fresh(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    mut read: Connection,
    outcome: Refresh,
    put: Vec<SealedSecret>,
) -> ApiResult<Event> {
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
                read = connections::find(&state.db, org_id, &provider.id)
                    .await?
                    .ok_or_else(|| {
                        ApiError::conflict(
                            ErrorCode::NotConnected,
                            format!(
                                "{} was disconnected while its access was being renewed.",
                                provider.name
                            ),
                        )
                    })?;
            }
            Err(err) => return Err(err),
            Ok(_) => return Ok(event),
        }
    }
}
