//! Renewing an OAuth connection's access token with its refresh token.
//!
//! One refresh per connection at a time, across replicas: a short claim on the connection row
//! is taken first (a rotated refresh token works once; two refreshes racing would make the
//! loser look revoked). A refusal (`invalid_grant`, revoked) makes the connection `expired` —
//! reconnecting is the only way back; an outage keeps the tokens and changes nothing else.

use chrono::{Duration, Utc};
use domain::model::{Actor, EventAction, Problem};
use domain::oauth::TokenError;
use domain::{ConnectionStatus, OrgId};
use persistence::connections;

use super::integrations::{
    ACCESS_TOKEN, IntegrationView, REFRESH_TOKEN, Write, commit, open_secrets, provider,
    tenant_level, view,
};
use super::oauth::{Refusal, TokenExchange, oauth_of, platform_credentials};
use super::vault::Vault;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;

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
            "not_connected",
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
            "no_refresh_token",
            format!(
                "{} gave Plugboard no refresh token, so there is nothing to renew: its access stays valid until the provider ends it. Reconnect {} to replace it.",
                provider.name, provider.name
            ),
        ));
    };
    let (client_id, client_secret) = platform_credentials(state, provider)?;

    let now = Utc::now();
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
            "refresh_in_progress",
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

    let mut connection = existing.clone();
    let mut put = Vec::new();
    let event = match &renewal {
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
            connection.token_expires_at = Some(tokens.expires_at);
            if !tokens.scopes.is_empty() {
                connection.scopes = tokens.scopes.clone();
            }
            if connection.enabled {
                connection.status = ConnectionStatus::Connected;
            }
            connection.last_error = None;
            (
                true,
                None,
                format!(
                    "{}'s access was renewed; it is valid until {}.",
                    provider.name,
                    tokens.expires_at.format("%Y-%m-%d %H:%M UTC")
                ),
            )
        }
        Renewal::Refused(code) => {
            tracing::warn!(provider = %provider.id, code = %code, "refresh refused; the connection needs a reconnect");
            let message = format!(
                "{} refused to renew Plugboard's access: it was revoked or has lapsed. Reconnect {} to restore it.",
                provider.name, provider.name
            );
            if connection.enabled {
                connection.status = ConnectionStatus::Expired;
            }
            connection.last_error = Some(Problem {
                code: "refresh_refused".to_owned(),
                message: message.clone(),
            });
            (false, Some("refresh_refused"), message)
        }
        Renewal::Unavailable => (
            false,
            Some("provider_unavailable"),
            format!(
                "{} could not be reached to renew access; the current tokens are kept and the renewal will be tried again.",
                provider.name
            ),
        ),
    };
    let (success, code, message) = event;
    let written = commit(
        state,
        org_id,
        actor,
        provider,
        Some(&existing),
        Write {
            connection,
            put,
            remove: Vec::new(),
            remove_all: false,
            event: Some((EventAction::Refresh, success, code, message.clone())),
        },
    )
    .await;
    connections::release_refresh(&state.db, org_id, existing.id).await?;
    written?;
    if matches!(renewal, Renewal::Unavailable) {
        return Err(ApiError::unavailable("provider_unavailable", message));
    }
    view(&state.db, org_id, provider).await
}
