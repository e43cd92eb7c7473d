//! The inbox of provider webhooks, their counts, and the erasures Meta's status page reports.
//! A delivery comes to the platform's app, not to a tenant: the inbox spans organizations by
//! nature, and what the worker does with a row afterwards is scoped by the organizations of the
//! connections it matches (`platform_matching`). Tenant data touched by an erasure goes through
//! `scrub`, scoped by organization.

use chrono::{DateTime, Utc};
use domain::model::Connection;
use domain::{ConnectionId, OrgId};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};
use serde_json::Value;

use crate::StoreError;
use crate::connections::to_connection;
use crate::entities::{
    connection_events, connections, erasures, inbound_deliveries, notifications, oauth_states,
    privacy_requests,
};

/// A verified delivery to keep until it is applied.
pub struct NewDelivery<'a> {
    pub provider: &'a str,
    pub delivery_id: &'a str,
    pub topic: &'a str,
    pub account: Option<&'a str>,
    pub payload: &'a Value,
}

/// Writes `$n` placeholders as the backend wants them (SQLite: `?n`).
fn statement(backend: DatabaseBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Adds one to a provider's count (`accepted`, `refused` or `unmatched`), creating its row.
async fn tally(
    db: &impl ConnectionTrait,
    provider: &str,
    column: Count,
    at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let one = |c: Count| i64::from(c.as_str() == column.as_str());
    let name = column.as_str();
    let backend = db.get_database_backend();
    db.execute_raw(statement(
        backend,
        &format!(
            "INSERT INTO inbound_tallies (provider, accepted, refused, unmatched, last_delivery_at)
             VALUES ($1, $3, $4, $5, $2)
             ON CONFLICT (provider) DO UPDATE
               SET {name} = inbound_tallies.{name} + 1,
                   last_delivery_at = COALESCE($2, inbound_tallies.last_delivery_at)"
        ),
        vec![
            provider.into(),
            at.into(),
            one(Count::Accepted).into(),
            one(Count::Refused).into(),
            one(Count::Unmatched).into(),
        ],
    ))
    .await?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Count {
    Accepted,
    Refused,
    Unmatched,
}

impl Count {
    fn as_str(self) -> &'static str {
        match self {
            Count::Accepted => "accepted",
            Count::Refused => "refused",
            Count::Unmatched => "unmatched",
        }
    }
}

/// Keeps a verified delivery. `true` when it is new; `false` when the same provider and
/// delivery id are already there (a replay: nothing is written).
pub async fn record(
    db: &impl ConnectionTrait,
    new: NewDelivery<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = inbound_deliveries::Entity::insert(inbound_deliveries::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        provider: Set(new.provider.to_owned()),
        delivery_id: Set(new.delivery_id.to_owned()),
        topic: Set(new.topic.to_owned()),
        account: Set(new.account.map(str::to_owned)),
        payload: Set(Some(new.payload.to_string())),
        received_at: Set(now),
        claimed_by: Set(None),
        claimed_until: Set(None),
        applied_at: Set(None),
        outcome: Set(None),
    })
    .on_conflict(
        OnConflict::columns([
            inbound_deliveries::Column::Provider,
            inbound_deliveries::Column::DeliveryId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 1 {
        tally(db, new.provider, Count::Accepted, Some(now)).await?;
    }
    Ok(inserted == 1)
}

/// Counts a delivery refused for its signature (nothing else of it is kept).
pub async fn count_refused(db: &impl ConnectionTrait, provider: &str) -> Result<(), StoreError> {
    tally(db, provider, Count::Refused, None).await
}

/// A delivery claimed for applying.
#[derive(Clone, Debug)]
pub struct Pending {
    pub id: uuid::Uuid,
    pub provider: String,
    pub delivery_id: String,
    pub topic: String,
    pub account: Option<String>,
    pub payload: Value,
    pub received_at: DateTime<Utc>,
}

/// Claims up to `limit` deliveries not applied yet and not claimed by a live claim, oldest
/// first (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas take different rows).
pub async fn claim_pending(
    db: &impl ConnectionTrait,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Pending>, StoreError> {
    let backend = db.get_database_backend();
    let lock = match backend {
        DatabaseBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let sql = format!(
        "UPDATE inbound_deliveries SET claimed_by = $1, claimed_until = $2 \
         WHERE id IN (SELECT id FROM inbound_deliveries \
           WHERE applied_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3) \
           ORDER BY received_at LIMIT $4{lock}) \
         RETURNING *"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = inbound_deliveries::Entity::find()
        .from_raw_sql(statement(
            backend,
            &sql,
            vec![owner.into(), until.into(), now.into(), limit.into()],
        ))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|row| {
            let payload = match row.payload.as_deref() {
                Some(text) => serde_json::from_str(text).map_err(|e| {
                    StoreError::Corrupt(format!("inbound delivery {} payload: {e}", row.id))
                })?,
                None => Value::Null,
            };
            Ok(Pending {
                id: row.id,
                provider: row.provider,
                delivery_id: row.delivery_id,
                topic: row.topic,
                account: row.account,
                payload,
                received_at: row.received_at,
            })
        })
        .collect()
}

/// How an applied delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// No connection matched: nothing changed.
    Unmatched,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Unmatched => "unmatched",
        }
    }
}

/// Marks a claimed delivery applied, keeping only what deduplication needs (provider,
/// delivery id, topic, time): its account and payload are cleared. Compare-and-set on the
/// claim: `false` (and nothing written) when another worker took the row over.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: uuid::Uuid,
    owner: &str,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = inbound_deliveries::Entity::update_many()
        .col_expr(
            inbound_deliveries::Column::Account,
            Expr::value(None::<String>),
        )
        .col_expr(
            inbound_deliveries::Column::Payload,
            Expr::value(None::<String>),
        )
        .col_expr(inbound_deliveries::Column::AppliedAt, Expr::value(now))
        .col_expr(
            inbound_deliveries::Column::Outcome,
            Expr::value(outcome.as_str()),
        )
        .col_expr(
            inbound_deliveries::Column::ClaimedBy,
            Expr::value(None::<String>),
        )
        .col_expr(
            inbound_deliveries::Column::ClaimedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(inbound_deliveries::Column::Id.eq(id))
        .filter(inbound_deliveries::Column::ClaimedBy.eq(owner))
        .filter(inbound_deliveries::Column::AppliedAt.is_null())
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Ok(false);
    }
    if outcome == Outcome::Unmatched {
        let provider: Option<String> = inbound_deliveries::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|row| row.provider);
        if let Some(provider) = provider {
            tally(db, &provider, Count::Unmatched, None).await?;
        }
    }
    Ok(true)
}

/// Deletes applied deliveries received before `before`: providers stop retrying a delivery
/// within days (Shopify 48 hours, Stripe 3 days), so past that a row deduplicates nothing.
pub async fn forget_applied_before(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = inbound_deliveries::Entity::delete_many()
        .filter(inbound_deliveries::Column::AppliedAt.is_not_null())
        .filter(inbound_deliveries::Column::ReceivedAt.lt(before))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// One provider's counts, for the readiness page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub provider: String,
    pub accepted: i64,
    pub refused: i64,
    pub unmatched: i64,
    pub last_delivery_at: Option<DateTime<Utc>>,
}

/// PLATFORM-WIDE: every provider's counts (the readiness page).
pub async fn platform_tallies(db: &impl ConnectionTrait) -> Result<Vec<Tally>, StoreError> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(statement(
            backend,
            "SELECT provider, accepted, refused, unmatched, last_delivery_at FROM inbound_tallies",
            Vec::new(),
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Tally {
                provider: row.try_get("", "provider")?,
                accepted: row.try_get("", "accepted")?,
                refused: row.try_get("", "refused")?,
                unmatched: row.try_get("", "unmatched")?,
                last_delivery_at: row.try_get("", "last_delivery_at")?,
            })
        })
        .collect()
}

/// PLATFORM-WIDE: how many deliveries wait to be applied (tests and metrics).
pub async fn platform_pending_count(db: &impl ConnectionTrait) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(inbound_deliveries::Entity::find()
        .filter(inbound_deliveries::Column::AppliedAt.is_null())
        .count(db)
        .await?)
}

/// PLATFORM-WIDE: the connections, in every organization, that a delivery naming `account`
/// is about: those of `provider` whose setting `field` holds it (a shop domain), or, without a
/// field, whose stored account id is it.
pub async fn platform_matching(
    db: &impl ConnectionTrait,
    provider: &str,
    field: Option<&str>,
    account: &str,
) -> Result<Vec<Connection>, StoreError> {
    let mut query = connections::Entity::find().filter(connections::Column::Provider.eq(provider));
    if field.is_none() {
        query = query.filter(connections::Column::AccountId.eq(account));
    }
    let rows = query
        .order_by_asc(connections::Column::CreatedAt)
        .all(db)
        .await?;
    let mut found = Vec::new();
    for row in rows {
        let connection = to_connection(row)?;
        // Settings are a JSON column: read here, on both backends alike. One provider's
        // connections, read once per delivery; an index on the setting would replace this if a
        // provider's connections grew to many thousands.
        let matches = match field {
            Some(field) => connection
                .config
                .get(field)
                .is_some_and(|v| v.eq_ignore_ascii_case(account)),
            None => true,
        };
        if matches {
            found.push(connection);
        }
    }
    Ok(found)
}

/// Removes every trace of the given values (a shop domain, an account name and id) from what
/// the organization keeps about one connection beyond the connection itself: its history
/// lines keep that something happened with the values replaced, outbox payloads likewise,
/// OAuth states of its provider are deleted, and its privacy requests lose their details.
pub async fn scrub(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    provider: &str,
    values: &[String],
) -> Result<(), StoreError> {
    const ERASED: &str = "[erased]";
    let values: Vec<&String> = values.iter().filter(|v| v.trim().len() >= 3).collect();
    let replace = |text: &str| -> Option<String> {
        let mut out = text.to_owned();
        for value in &values {
            out = out.replace(value.as_str(), ERASED);
        }
        (out != text).then_some(out)
    };
    let events = connection_events::Entity::find()
        .filter(connection_events::Column::OrgId.eq(org_id.0))
        .filter(connection_events::Column::ConnectionId.eq(connection_id.0))
        .all(db)
        .await?;
    for event in events {
        if let Some(message) = replace(&event.message) {
            connection_events::Entity::update_many()
                .col_expr(connection_events::Column::Message, Expr::value(message))
                .filter(connection_events::Column::OrgId.eq(org_id.0))
                .filter(connection_events::Column::Id.eq(event.id))
                .exec(db)
                .await?;
        }
    }
    let outbox = notifications::Entity::find()
        .filter(notifications::Column::OrgId.eq(org_id.0))
        .filter(notifications::Column::ConnectionId.eq(connection_id.0))
        .all(db)
        .await?;
    for row in outbox {
        let text = row.payload.to_string();
        let error = row.last_error.as_deref().and_then(replace);
        if let Some(payload) = replace(&text) {
            let payload: Value = serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("scrubbed payload: {e}")))?;
            notifications::Entity::update_many()
                .col_expr(notifications::Column::Payload, Expr::value(payload))
                .filter(notifications::Column::OrgId.eq(org_id.0))
                .filter(notifications::Column::Id.eq(row.id))
                .exec(db)
                .await?;
        }
        if let Some(error) = error {
            notifications::Entity::update_many()
                .col_expr(notifications::Column::LastError, Expr::value(error))
                .filter(notifications::Column::OrgId.eq(org_id.0))
                .filter(notifications::Column::Id.eq(row.id))
                .exec(db)
                .await?;
        }
    }
    oauth_states::Entity::delete_many()
        .filter(oauth_states::Column::OrgId.eq(org_id.0))
        .filter(oauth_states::Column::Provider.eq(provider))
        .exec(db)
        .await?;
    privacy_requests::Entity::update_many()
        .col_expr(
            privacy_requests::Column::Details,
            Expr::value(None::<String>),
        )
        .filter(privacy_requests::Column::OrgId.eq(org_id.0))
        .filter(privacy_requests::Column::ConnectionId.eq(connection_id.0))
        .exec(db)
        .await?;
    Ok(())
}

/// An erasure as its status page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub code: String,
    pub provider: String,
    pub requested_at: DateTime<Utc>,
    pub erased_at: Option<DateTime<Utc>>,
    pub connections: i32,
}

fn to_erasure(row: erasures::Model) -> Erasure {
    Erasure {
        code: row.code,
        provider: row.provider,
        requested_at: row.requested_at,
        erased_at: row.erased_at,
        connections: row.connections,
    }
}

/// The erasure a delivery asked for, created with `code` when it is the first time; the same
/// delivery sent again gets the code it got the first time.
pub async fn erasure_for(
    db: &impl ConnectionTrait,
    provider: &str,
    delivery_id: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Erasure, StoreError> {
    erasures::Entity::insert(erasures::ActiveModel {
        code: Set(code.to_owned()),
        provider: Set(provider.to_owned()),
        delivery_id: Set(delivery_id.to_owned()),
        requested_at: Set(now),
        erased_at: Set(None),
        connections: Set(0),
    })
    .on_conflict(
        OnConflict::columns([erasures::Column::Provider, erasures::Column::DeliveryId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    erasures::Entity::find()
        .filter(erasures::Column::Provider.eq(provider))
        .filter(erasures::Column::DeliveryId.eq(delivery_id))
        .one(db)
        .await?
        .map(to_erasure)
        .ok_or_else(|| StoreError::Corrupt("an erasure vanished as it was written".to_owned()))
}

/// Records that a delivery's erasure is done and how many connections it erased.
pub async fn erasure_done(
    db: &impl ConnectionTrait,
    provider: &str,
    delivery_id: &str,
    connections: usize,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    erasures::Entity::update_many()
        .col_expr(erasures::Column::ErasedAt, Expr::value(now))
        .col_expr(
            erasures::Column::Connections,
            Expr::value(i32::try_from(connections).unwrap_or(i32::MAX)),
        )
        .filter(erasures::Column::Provider.eq(provider))
        .filter(erasures::Column::DeliveryId.eq(delivery_id))
        .exec(db)
        .await?;
    Ok(())
}

/// An erasure by its confirmation code (the public status page).
pub async fn erasure(
    db: &impl ConnectionTrait,
    provider: &str,
    code: &str,
) -> Result<Option<Erasure>, StoreError> {
    Ok(erasures::Entity::find_by_id(code.to_owned())
        .filter(erasures::Column::Provider.eq(provider))
        .one(db)
        .await?
        .map(to_erasure))
}
