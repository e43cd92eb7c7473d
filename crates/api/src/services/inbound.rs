//! Webhooks the providers send the platform's apps. `receive` verifies a delivery with the
//! provider's secret before anything is parsed, keeps it in the inbox and answers at once;
//! `apply` (the worker) does what it says to the connections it matches, through the
//! lifecycle, in one transaction with marking it applied — so a crash in between applies it
//! after the restart, and a replay finds the row already there and changes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::inbound::{self as rules, Delivery, Effect, PrivacyKind, Refusal, Verified};
use domain::lifecycle::{self, Input};
use domain::model::{Actor, Connection};
use domain::notifications::{self as notice, NotificationKind};
use domain::registry::{Inbound, Provider};
use persistence::inbound::{self as inbox, NewDelivery, Outcome, Pending};
use persistence::privacy::{self, NewPrivacyRequest};
use persistence::{DatabaseTransaction, StoreError};
use serde_json::{Value, json};

use super::lifecycle::{Secrets, store_in};
use super::notifications::forward;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// What a verified delivery is answered with.
#[derive(Debug)]
pub enum Received {
    /// Kept (or already kept): a plain 200.
    Accepted,
    /// Slack's URL check: answered with its challenge.
    Challenge(String),
    /// Meta's data deletion: where the person can see what was deleted, and the code.
    Erasure { url: String, code: String },
}

/// Why a delivery was not kept.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error("no provider receives webhooks at this address")]
    UnknownProvider,
    #[error("the provider's webhook secret is not set")]
    NotSetUp,
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the system random source failed")]
    Random,
}

/// The provider that receives webhooks at `/webhooks/{id}`, with its inbound settings.
pub fn receiver<'r>(state: &'r AppState, id: &str) -> Option<(&'r Provider, &'r Inbound)> {
    let provider = state.registry.get(id)?;
    Some((provider, provider.inbound.as_ref()?))
}

/// Verifies and keeps one delivery. Nothing is written for a refused one but its count.
pub async fn receive(
    state: &AppState,
    provider_id: &str,
    callback: Option<&str>,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Received, InboundError> {
    let (provider, inbound) = receiver(state, provider_id).ok_or(InboundError::UnknownProvider)?;
    // A provider with several URLs is called at one of them, never at the bare one.
    if inbound.scheme.callbacks().is_empty() != callback.is_none() {
        return Err(InboundError::Refused(Refusal::UnknownCallback));
    }
    let secret = state
        .settings
        .inbound_secret(provider)
        .ok_or(InboundError::NotSetUp)?;
    let now = Utc::now();
    let request = rules::Request {
        headers,
        body,
        callback,
    };
    let delivery = match rules::verify(inbound.scheme, secret, &request, now.timestamp()) {
        Ok(Verified::Delivery(delivery)) => delivery,
        Ok(Verified::Challenge(challenge)) => return Ok(Received::Challenge(challenge)),
        Err(refusal) => {
            if refusal.is_signature() {
                inbox::count_refused(&state.db, &provider.id).await?;
            }
            tracing::info!(provider = %provider.id, reason = %refusal, "an inbound webhook was refused");
            return Err(InboundError::Refused(refusal));
        }
    };
    let erases = rules::effect(inbound.scheme, &delivery) == Effect::Erase;
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let new = inbox::record(
        &txn,
        NewDelivery {
            provider: &provider.id,
            delivery_id: &delivery.delivery_id,
            topic: &delivery.topic,
            account: delivery.account.as_deref(),
            payload: &delivery.payload,
        },
        now,
    )
    .await?;
    let answer = if erases {
        // Alphanumeric, as Meta asks, and unguessable: the status page's only key.
        let code = hex::encode(random_bytes()?);
        let erasure =
            inbox::erasure_for(&txn, &provider.id, &delivery.delivery_id, &code, now).await?;
        Received::Erasure {
            url: status_url(state, &provider.id, &erasure.code),
            code: erasure.code,
        }
    } else {
        Received::Accepted
    };
    txn.commit().await.map_err(StoreError::from)?;
    tracing::info!(provider = %provider.id, topic = %delivery.topic, new, "an inbound webhook was kept");
    Ok(answer)
}

fn random_bytes() -> Result<[u8; 16], InboundError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| InboundError::Random)?;
    Ok(bytes)
}

/// The public page saying what an erasure deleted.
pub fn status_url(state: &AppState, provider: &str, code: &str) -> String {
    let path = format!("/api/v1/webhooks/{provider}/erasures/{code}");
    state
        .settings
        .public_url
        .join(&path)
        .map(|u| u.to_string())
        .unwrap_or(path)
}

/// Applies up to `limit` kept deliveries; how many were applied.
pub async fn apply_pending(state: &AppState, owner: &str, limit: u64) -> anyhow::Result<usize> {
    let now = Utc::now();
    let claimed = inbox::claim_pending(
        &state.db,
        owner,
        now,
        now + chrono::Duration::seconds(60),
        limit,
    )
    .await?;
    let mut applied = 0;
    for pending in claimed {
        // A connection changed by someone else meanwhile: decide again on what is stored now.
        let mut tries = 0;
        loop {
            tries += 1;
            match apply(state, owner, &pending).await {
                Ok(()) => {
                    applied += 1;
                    break;
                }
                Err(err) if err.code() == ErrorCode::Conflict && tries < 3 => continue,
                Err(err) => {
                    tracing::warn!(provider = %pending.provider, topic = %pending.topic, error = ?err, "an inbound webhook could not be applied; it is tried again");
                    break;
                }
            }
        }
    }
    Ok(applied)
}

/// Applies one delivery and marks it applied, in one transaction.
async fn apply(state: &AppState, owner: &str, pending: &Pending) -> Result<(), ApiError> {
    let now = Utc::now();
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let outcome = match receiver(state, &pending.provider) {
        Some((provider, inbound)) => apply_in(&txn, provider, inbound, pending, now).await?,
        None => Outcome::Unmatched,
    };
    // Another worker took the row over (this claim lapsed): its effects are its own, and
    // these are rolled back with the transaction.
    if !inbox::finish(&txn, pending.id, owner, outcome, now).await? {
        tracing::warn!(provider = %pending.provider, "an inbound webhook's claim lapsed before it was applied; another worker applies it");
        return Ok(());
    }
    txn.commit().await.map_err(StoreError::from)?;
    if outcome == Outcome::Applied {
        // Which connections it changed is the rules' business; the proxy reads them all again.
        state.recent_connections.forget_all();
    }
    Ok(())
}

async fn apply_in(
    txn: &DatabaseTransaction,
    provider: &Provider,
    inbound: &Inbound,
    pending: &Pending,
    now: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    let delivery = Delivery {
        delivery_id: pending.delivery_id.clone(),
        topic: pending.topic.clone(),
        account: pending.account.clone(),
        payload: pending.payload.clone(),
    };
    let effect = rules::effect(inbound.scheme, &delivery);
    let matched = match &delivery.account {
        Some(account) => {
            inbox::platform_matching(txn, &provider.id, inbound.match_field.as_deref(), account)
                .await?
        }
        None => Vec::new(),
    };
    if effect == Effect::Erase {
        // Recorded even when nothing matched: the status page then says nothing was held.
        inbox::erasure_done(txn, &provider.id, &delivery.delivery_id, matched.len(), now).await?;
    }
    if matched.is_empty() {
        return Ok(Outcome::Unmatched);
    }
    let account = delivery.account.as_deref().unwrap_or_default();
    for connection in matched {
        match effect {
            Effect::Revoked(revocation) => {
                let problem = rules::revoked_problem(
                    &provider.name,
                    revocation,
                    account,
                    connection.account_name.as_deref(),
                );
                decide_and_store(txn, provider, &connection, Input::Revoked(problem), now).await?;
            }
            Effect::Privacy(kind) => {
                privacy_request(txn, provider, &connection, kind, &delivery, now).await?;
                if kind == PrivacyKind::ShopRedact {
                    erase(txn, provider, connection, now).await?;
                }
            }
            Effect::Erase => erase(txn, provider, connection, now).await?,
            Effect::Forward => {
                let payload = notice::provider_event_payload(
                    connection.org_id,
                    connection.id,
                    &provider.id,
                    &delivery.topic,
                    &delivery.payload,
                    now,
                );
                forward(
                    txn,
                    connection.org_id,
                    connection.id,
                    &provider.id,
                    NotificationKind::ProviderEvent,
                    payload,
                )
                .await?;
            }
        }
    }
    Ok(Outcome::Applied)
}

async fn decide_and_store(
    txn: &DatabaseTransaction,
    provider: &Provider,
    connection: &Connection,
    input: Input,
    now: DateTime<Utc>,
) -> Result<Connection, ApiError> {
    let decision = lifecycle::decide(connection, provider, input, now).map_err(|rejected| {
        ApiError::internal(anyhow::anyhow!(
            "the lifecycle refused a provider's webhook: {}",
            rejected.problem.message
        ))
    })?;
    store_in(
        txn,
        connection.org_id,
        &Actor::System,
        provider,
        decision,
        Secrets::none(),
    )
    .await
}

/// Erases what Plugboard holds for one connection: its secrets, settings and account names go
/// through the lifecycle (the history says an erasure happened), and every other mention of
/// the shop or account (history lines, outbox payloads, OAuth states) is scrubbed.
async fn erase(
    txn: &DatabaseTransaction,
    provider: &Provider,
    connection: Connection,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut held: Vec<String> = connection.config.values().cloned().collect();
    held.extend(connection.account_name.clone());
    held.extend(connection.account_id.clone());
    decide_and_store(txn, provider, &connection, Input::Erased, now).await?;
    persistence::inbound::scrub(txn, connection.org_id, connection.id, &provider.id, &held).await?;
    Ok(())
}

/// What a brand needs from a privacy request to answer it: the customer and the orders it
/// names, without the shop (which the brand knows and an erasure must not leave behind).
fn privacy_details(kind: PrivacyKind, payload: &Value) -> Option<Value> {
    match kind {
        PrivacyKind::ShopRedact => None,
        PrivacyKind::CustomerDataRequest | PrivacyKind::CustomerRedact => Some(json!({
            "customer": payload.get("customer"),
            "orders_requested": payload.get("orders_requested"),
            "orders_to_redact": payload.get("orders_to_redact"),
            "data_request": payload.get("data_request"),
        })),
    }
}

async fn privacy_request(
    txn: &DatabaseTransaction,
    provider: &Provider,
    connection: &Connection,
    kind: PrivacyKind,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let details = privacy_details(kind, &delivery.payload);
    let request = privacy::create(
        txn,
        connection.org_id,
        NewPrivacyRequest {
            connection_id: connection.id,
            provider: &provider.id,
            kind,
            details: details.as_ref(),
            received_at: now,
            // Plugboard answers a shop's erasure itself, at once.
            done_at: (kind == PrivacyKind::ShopRedact).then_some(now),
        },
    )
    .await?;
    let payload = notice::privacy_request_payload(
        connection.org_id,
        connection.id,
        &provider.id,
        request.id,
        kind.as_str(),
        details.as_ref(),
        request.due_at,
        now,
    );
    forward(
        txn,
        connection.org_id,
        connection.id,
        &provider.id,
        NotificationKind::PrivacyRequest,
        payload,
    )
    .await?;
    Ok(())
}
