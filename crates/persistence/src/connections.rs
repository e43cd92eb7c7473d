//! Connections and their encrypted secrets. Every function is scoped by organization.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound, Utc};
use domain::lifecycle::Event;
use domain::model::{Actor, Connection, LastUse, Problem, SecretHint};
use domain::{ConnectionId, ConnectionStatus, OrgId, ProblemCode, UserId};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::{connection_secrets, connections};
use crate::events::{self, NewEvent};

pub(crate) fn to_connection(model: connections::Model) -> Result<Connection, StoreError> {
    let config: BTreeMap<String, String> = serde_json::from_value(model.config)
        .map_err(|e| StoreError::Corrupt(format!("connection {} config: {e}", model.id)))?;
    let status = ConnectionStatus::parse(&model.status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown status `{}`", model.status)))?;
    let last_error = match (model.last_error_code, model.last_error_message) {
        (Some(name), Some(message)) => Some(Problem {
            code: ProblemCode::parse(&name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown problem code `{name}`")))?,
            message,
        }),
        _ => None,
    };
    Ok(Connection {
        id: ConnectionId(model.id),
        org_id: OrgId(model.org_id),
        provider: model.provider,
        status,
        enabled: model.enabled,
        config,
        account_name: model.account_name,
        account_id: model.account_id,
        scopes: model.scopes.split_whitespace().map(str::to_owned).collect(),
        token_expires_at: model.token_expires_at,
        last_tested_at: model.last_tested_at,
        last_sync_at: model.last_sync_at,
        last_error,
        connected_at: model.connected_at,
        connected_by: model.connected_by.map(UserId),
        disconnected_at: model.disconnected_at,
        last_used: model.last_used_at.map(|at| LastUse {
            at,
            by: Actor::from_parts(
                model.last_used_by_kind.as_deref().unwrap_or_default(),
                model.last_used_by_id,
            ),
            by_name: model.last_used_by_name,
        }),
        version: model.version,
        created_at: model.created_at,
        updated_at: model.updated_at,
    })
}

/// Notes a call through the proxy. It is not the connection's state: the version stays, so it
/// never fences out a state change.
pub async fn record_use(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    used: &LastUse,
) -> Result<(), StoreError> {
    let (kind, id) = used.by.parts();
    connections::Entity::update_many()
        .col_expr(connections::Column::LastUsedAt, Expr::value(used.at))
        .col_expr(connections::Column::LastUsedByKind, Expr::value(kind))
        .col_expr(connections::Column::LastUsedById, Expr::value(id))
        .col_expr(
            connections::Column::LastUsedByName,
            Expr::value(used.by_name.clone()),
        )
        .filter(connections::Column::OrgId.eq(org_id.0))
        .filter(connections::Column::Id.eq(connection_id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// Every connection the organization has, in no particular order.
pub async fn list(db: &impl ConnectionTrait, org_id: OrgId) -> Result<Vec<Connection>, StoreError> {
    connections::Entity::find()
        .filter(connections::Column::OrgId.eq(org_id.0))
        .all(db)
        .await?
        .into_iter()
        .map(to_connection)
        .collect()
}

/// A number that grows with every change to the organization's connections and their secrets:
/// the sum of the connections' versions. Every save adds one to a version and stores the
/// secrets in the same transaction, and connections are never deleted while their organization
/// exists, so the same number means the same connections.
pub async fn list_version(db: &impl ConnectionTrait, org_id: OrgId) -> Result<i64, StoreError> {
    let version: Option<i64> = connections::Entity::find()
        .select_only()
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(version), 0) AS BIGINT)"),
            "list_version",
        )
        .filter(connections::Column::OrgId.eq(org_id.0))
        .into_tuple()
        .one(db)
        .await?;
    Ok(version.unwrap_or_default())
}

pub async fn find(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    provider: &str,
) -> Result<Option<Connection>, StoreError> {
    connections::Entity::find()
        .filter(connections::Column::OrgId.eq(org_id.0))
        .filter(connections::Column::Provider.eq(provider))
        .one(db)
        .await?
        .map(to_connection)
        .transpose()
}

/// The organization's connection to a provider with its ciphertexts by field, in one query:
/// what a call with the connection needs, read together.
pub async fn find_sealed(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    provider: &str,
) -> Result<Option<(Connection, BTreeMap<String, String>)>, StoreError> {
    let found = connections::Entity::find()
        .filter(connections::Column::OrgId.eq(org_id.0))
        .filter(connections::Column::Provider.eq(provider))
        .find_with_related(connection_secrets::Entity)
        .all(db)
        .await?;
    let Some((connection, secrets)) = found.into_iter().next() else {
        return Ok(None);
    };
    let sealed = secrets
        .into_iter()
        .filter(|s| s.org_id == org_id.0)
        .map(|s| (s.field, s.ciphertext))
        .collect();
    Ok(Some((to_connection(connection)?, sealed)))
}

/// Which stored secrets a write deletes.
pub enum Removal {
    Nothing,
    Fields(Vec<String>),
    /// Every secret of the connection (a disconnect).
    All,
}

/// Everything one change of a connection writes, in one transaction: the connection as
/// decided, its secrets, and the history event.
pub struct ConnectionWrite<'a> {
    /// As decided from what was read: `version` is the version that was read (0 for a
    /// connection not stored yet).
    pub connection: Connection,
    pub put: Vec<SealedSecret>,
    pub remove: Removal,
    pub event: &'a Event,
    pub actor: &'a Actor,
}

/// A time as the database keeps it: PostgreSQL to the microsecond, and SQLite the same so
/// that both answer alike.
fn as_stored(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Stores a decided change of a connection with its secrets and event, and answers the
/// connection as stored, so that no one need read it again. The write applies only if the row
/// still has the version that was read (or, for a new connection, if none exists yet);
/// otherwise nothing is written and the answer is `StoreError::Conflict`. Call it inside a
/// transaction so the parts stand or fall together.
pub async fn save(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    write: ConnectionWrite<'_>,
) -> Result<Connection, StoreError> {
    let read = write.connection.version;
    let decided = write.connection;
    let saved = Connection {
        org_id,
        version: read + 1,
        // Kept as one space-separated column.
        scopes: decided
            .scopes
            .join(" ")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        token_expires_at: decided.token_expires_at.map(as_stored),
        last_tested_at: decided.last_tested_at.map(as_stored),
        last_sync_at: decided.last_sync_at.map(as_stored),
        connected_at: decided.connected_at.map(as_stored),
        disconnected_at: decided.disconnected_at.map(as_stored),
        created_at: as_stored(decided.created_at),
        updated_at: as_stored(Utc::now()),
        ..decided
    };
    let config =
        serde_json::to_value(&saved.config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut model = connections::ActiveModel {
        status: Set(saved.status.as_str().to_owned()),
        enabled: Set(saved.enabled),
        config: Set(config),
        account_name: Set(saved.account_name.clone()),
        account_id: Set(saved.account_id.clone()),
        scopes: Set(saved.scopes.join(" ")),
        token_expires_at: Set(saved.token_expires_at),
        last_tested_at: Set(saved.last_tested_at),
        last_sync_at: Set(saved.last_sync_at),
        last_error_code: Set(saved
            .last_error
            .as_ref()
            .map(|p| p.code.as_str().to_owned())),
        last_error_message: Set(saved.last_error.as_ref().map(|p| p.message.clone())),
        connected_at: Set(saved.connected_at),
        connected_by: Set(saved.connected_by.map(|u| u.0)),
        disconnected_at: Set(saved.disconnected_at),
        version: Set(saved.version),
        updated_at: Set(saved.updated_at),
        ..Default::default()
    };
    if read == 0 {
        model.id = Set(saved.id.0);
        model.org_id = Set(org_id.0);
        model.provider = Set(saved.provider.clone());
        model.refresh_claimed_until = Set(None);
        model.created_at = Set(saved.created_at);
        let inserted = connections::Entity::insert(model)
            .on_conflict(
                OnConflict::columns([connections::Column::OrgId, connections::Column::Provider])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
    } else {
        let updated = connections::Entity::update_many()
            .set(model)
            .filter(connections::Column::OrgId.eq(org_id.0))
            .filter(connections::Column::Id.eq(saved.id.0))
            .filter(connections::Column::Version.eq(read))
            .exec(db)
            .await?;
        if updated.rows_affected != 1 {
            return Err(StoreError::Conflict);
        }
    }
    match write.remove {
        Removal::Nothing => {}
        Removal::Fields(fields) => delete_secrets(db, org_id, saved.id, Some(&fields)).await?,
        Removal::All => delete_secrets(db, org_id, saved.id, None).await?,
    }
    put_secrets(db, org_id, saved.id, write.put).await?;
    let event = write.event;
    events::record(
        db,
        org_id,
        NewEvent {
            connection_id: saved.id,
            provider: &saved.provider,
            action: event.action,
            success: event.success,
            code: event.code,
            message: &event.message,
            actor: write.actor,
        },
    )
    .await?;
    Ok(saved)
}

/// One encrypted secret to store.
#[derive(Clone)]
pub struct SealedSecret {
    pub field: String,
    pub ciphertext: String,
    pub key_id: String,
    pub last4: Option<String>,
}

/// Stores (or replaces) a connection's encrypted secrets.
async fn put_secrets(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    secrets: Vec<SealedSecret>,
) -> Result<(), StoreError> {
    if secrets.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = secrets
        .into_iter()
        .map(|s| connection_secrets::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            org_id: Set(org_id.0),
            connection_id: Set(connection_id.0),
            field: Set(s.field),
            ciphertext: Set(s.ciphertext),
            key_id: Set(s.key_id),
            last4: Set(s.last4),
            updated_at: Set(now),
        });
    connection_secrets::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                connection_secrets::Column::ConnectionId,
                connection_secrets::Column::Field,
            ])
            .update_columns([
                connection_secrets::Column::Ciphertext,
                connection_secrets::Column::KeyId,
                connection_secrets::Column::Last4,
                connection_secrets::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Removes some of a connection's secrets (or all of them when `fields` is `None`).
async fn delete_secrets(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    fields: Option<&[String]>,
) -> Result<(), StoreError> {
    let mut query = connection_secrets::Entity::delete_many()
        .filter(connection_secrets::Column::OrgId.eq(org_id.0))
        .filter(connection_secrets::Column::ConnectionId.eq(connection_id.0));
    if let Some(fields) = fields {
        query = query.filter(connection_secrets::Column::Field.is_in(fields.iter().cloned()));
    }
    query.exec(db).await?;
    Ok(())
}

/// The ciphertexts of one connection, by field.
pub async fn sealed_secrets(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(connection_secrets::Entity::find()
        .filter(connection_secrets::Column::OrgId.eq(org_id.0))
        .filter(connection_secrets::Column::ConnectionId.eq(connection_id.0))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.field, s.ciphertext))
        .collect())
}

/// What is set for every secret of the organization's connections, by connection, in one query.
pub async fn secret_hints(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<BTreeMap<ConnectionId, Vec<SecretHint>>, StoreError> {
    hints_where(db, org_id, None).await
}

/// What is set for one connection's secrets.
pub async fn secret_hints_of(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
) -> Result<Vec<SecretHint>, StoreError> {
    Ok(hints_where(db, org_id, Some(connection_id))
        .await?
        .remove(&connection_id)
        .unwrap_or_default())
}

async fn hints_where(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: Option<ConnectionId>,
) -> Result<BTreeMap<ConnectionId, Vec<SecretHint>>, StoreError> {
    // Only the columns a hint shows: the ciphertexts stay in the database.
    let mut query = connection_secrets::Entity::find()
        .select_only()
        .columns([
            connection_secrets::Column::ConnectionId,
            connection_secrets::Column::Field,
            connection_secrets::Column::Last4,
            connection_secrets::Column::KeyId,
        ])
        .filter(connection_secrets::Column::OrgId.eq(org_id.0));
    if let Some(connection_id) = connection_id {
        query = query.filter(connection_secrets::Column::ConnectionId.eq(connection_id.0));
    }
    let rows: Vec<(sea_orm::prelude::Uuid, String, Option<String>, String)> = query
        .order_by_asc(connection_secrets::Column::Field)
        .into_tuple()
        .all(db)
        .await?;
    let mut hints: BTreeMap<ConnectionId, Vec<SecretHint>> = BTreeMap::new();
    for (connection_id, field, last4, key_id) in rows {
        hints
            .entry(ConnectionId(connection_id))
            .or_default()
            .push(SecretHint {
                field,
                last4,
                key_id,
            });
    }
    Ok(hints)
}

/// One stored secret with what its additional authenticated data is made of.
pub struct SealedSample {
    pub org_id: OrgId,
    pub provider: String,
    pub field: String,
    pub key_id: String,
    pub ciphertext: String,
}

/// One stored secret per key id, across all organizations: start-up opens each to prove the
/// key ring holds the very keys that sealed what is stored, not just keys of the same names.
pub async fn one_sealed_per_key(
    db: &impl ConnectionTrait,
) -> Result<Vec<SealedSample>, StoreError> {
    let key_ids: Vec<String> = connection_secrets::Entity::find()
        .select_only()
        .column(connection_secrets::Column::KeyId)
        .distinct()
        .into_tuple::<String>()
        .all(db)
        .await?;
    let mut samples = Vec::with_capacity(key_ids.len());
    for key_id in key_ids {
        let found = connection_secrets::Entity::find()
            .filter(connection_secrets::Column::KeyId.eq(key_id.as_str()))
            .find_also_related(connections::Entity)
            .one(db)
            .await?;
        if let Some((secret, Some(connection))) = found {
            samples.push(SealedSample {
                org_id: OrgId(secret.org_id),
                provider: connection.provider,
                field: secret.field,
                key_id,
                ciphertext: secret.ciphertext,
            });
        }
    }
    Ok(samples)
}

/// How many connections one provider has in one status.
pub struct StatusCount {
    pub provider: String,
    pub status: ConnectionStatus,
    pub count: u64,
}

/// PLATFORM-WIDE (every organization): connections counted by provider and status, in one
/// grouped query. Only for the platform readiness page; tenant code uses the scoped functions.
pub async fn platform_status_counts(
    db: &impl ConnectionTrait,
) -> Result<Vec<StatusCount>, StoreError> {
    let rows: Vec<(String, String, i64)> = connections::Entity::find()
        .select_only()
        .column(connections::Column::Provider)
        .column(connections::Column::Status)
        .column_as(connections::Column::Id.count(), "count")
        .group_by(connections::Column::Provider)
        .group_by(connections::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .map(|(provider, status, count)| {
            Ok(StatusCount {
                status: ConnectionStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown status `{status}`")))?,
                provider,
                count: u64::try_from(count).unwrap_or_default(),
            })
        })
        .collect()
}
