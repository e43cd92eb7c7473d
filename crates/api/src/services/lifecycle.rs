//! Storing what the lifecycle decided: the connection, its secrets and its history event in one
//! transaction, conditional on the version that was read.

use domain::OrgId;
use domain::lifecycle::{Decision, Notice};
use domain::model::{Actor, Connection};
use domain::registry::Provider;
use persistence::connections::{self, ConnectionWrite, Removal, SealedSecret};
use persistence::{DatabaseTransaction, StoreError};

use super::notifications::{Due, record_notice};
use super::proxy::forget_connection;
use crate::error::ApiResult;
use crate::state::AppState;

/// The secrets a decision writes alongside the connection.
pub(crate) struct Secrets {
    pub put: Vec<SealedSecret>,
    /// Fields to delete; a decision that forgets every secret deletes them all instead.
    pub remove: Vec<String>,
}

impl Secrets {
    pub fn none() -> Secrets {
        Secrets {
            put: Vec::new(),
            remove: Vec::new(),
        }
    }

    pub fn put(put: Vec<SealedSecret>) -> Secrets {
        Secrets {
            put,
            remove: Vec::new(),
        }
    }
}

/// Stores a decision in its own transaction and answers the stored connection.
/// `StoreError::Conflict` (a 409) when the connection changed since it was read.
pub(crate) async fn store(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    decision: Decision,
    secrets: Secrets,
) -> ApiResult<Connection> {
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let saved = store_in(&txn, org_id, actor, provider, decision, secrets).await?;
    txn.commit().await.map_err(StoreError::from)?;
    forget_connection(state, org_id, &provider.id);
    Ok(saved)
}

/// The writes of `store` inside a transaction the caller owns and may add to. Once it
/// commits, the caller forgets what the proxy kept of the connection (`forget_connection`).
pub(crate) async fn store_in(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    decision: Decision,
    secrets: Secrets,
) -> ApiResult<Connection> {
    let Decision {
        connection,
        event,
        notice,
        forget_secrets,
    } = decision;
    let remove = if forget_secrets {
        Removal::All
    } else if secrets.remove.is_empty() {
        Removal::Nothing
    } else {
        Removal::Fields(secrets.remove)
    };
    let saved = connections::save(
        txn,
        org_id,
        ConnectionWrite {
            connection,
            put: secrets.put,
            remove,
            event: &event,
            actor,
        },
    )
    .await?;
    if let Some(notice) = notice {
        // Written to the outbox here, in the status change's transaction.
        let (old_status, due) = match &notice {
            Notice::Broken { from, problem, .. } => (*from, Due::Broken(problem)),
            Notice::Recovered { from } => (*from, Due::Recovered),
        };
        record_notice(txn, provider, &saved, old_status, due).await?;
    }
    Ok(saved)
}

/// Stores decisions made one on the other's result (one change that is several inputs), in
/// order, inside the caller's transaction: each write is conditional on the version the one
/// before left, starting from the version read. The secrets go with the first. Answers the
/// connection as the last one stored it; `None` when there was nothing to store.
pub(crate) async fn store_in_turn(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    decisions: Vec<Decision>,
    secrets: Secrets,
) -> ApiResult<Option<Connection>> {
    let mut secrets = Some(secrets);
    let mut saved: Option<Connection> = None;
    for mut decision in decisions {
        if let Some(before) = &saved {
            decision.connection.version = before.version;
        }
        let written = secrets.take().unwrap_or_else(Secrets::none);
        saved = Some(store_in(txn, org_id, actor, provider, decision, written).await?);
    }
    Ok(saved)
}
