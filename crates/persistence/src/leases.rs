//! Refresh leases on connections: one refresh per connection at a time across replicas.
//!
//! A worker picks due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, in a short transaction)
//! and writes its owner id and an expiry on them; no transaction stays open across the
//! provider call. Release is compare-and-set on the owner, so a worker whose lease lapsed and
//! was taken over changes nothing. Whether a lease is still held is not looked up here: the
//! holder keeps its deadline in memory and reads it right before the provider call, since any
//! answer from the row is a round trip old. Backoff after outages and the daily attempt cap
//! live in the same columns. These functions touch only the lease columns, never the
//! connection's state.

use crate::Db;
use chrono::{DateTime, Duration, Utc};
use domain::lifecycle::due::{HealthChecks, Selection};
use domain::oauth::{ACCESS_TOKEN, REFRESH_TOKEN};
use domain::schedule::{day_of, refresh_due_at, within_daily_cap};
use domain::{ConnectionId, OrgId};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::{connection_secrets, connections};

/// A connection a worker now holds the refresh lease of.
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    pub provider: String,
    /// When the refresh was due; `claimed_at - due_at` is the sweep's lag.
    pub due_at: DateTime<Utc>,
    pub claimed_at: DateTime<Utc>,
}

/// What the sweep asks for.
pub struct Sweep<'a> {
    /// Which connections may be renewed at all (`domain::lifecycle::due::refresh_sweep`).
    pub selection: &'a Selection,
    pub owner: &'a str,
    pub now: DateTime<Utc>,
    /// How long the lease lasts: longer than any refresh takes.
    pub lease: Duration,
    /// Attempts one connection may make per UTC day.
    pub daily_cap: u32,
    pub limit: u64,
    /// Providers whose connections holding a non-expiring access token (and no refresh token)
    /// are due at once, to be moved to expiring tokens by a token exchange (Shopify).
    pub exchangeable: &'a [&'a str],
}

/// The rows of a selection's statuses (and, when it says so, switched on).
fn selected(selection: &Selection) -> Condition {
    let statuses = selection.statuses.iter().map(|s| s.as_str());
    let mut condition = Condition::all().add(connections::Column::Status.is_in(statuses));
    if selection.enabled_only {
        condition = condition.add(connections::Column::Enabled.eq(true));
    }
    condition
}

fn free(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(connections::Column::RefreshClaimedUntil.is_null())
        .add(connections::Column::RefreshClaimedUntil.lt(now))
}

/// PLATFORM-WIDE (every organization), for the refresh worker: claims the selected
/// connections whose token is due for renewal (see `domain::schedule::refresh_window`) and
/// that have a refresh token — or a non-expiring token of an `exchangeable` provider to move
/// to expiring ones — and are not leased, not backing off and under the daily cap.
pub async fn claim_due(db: &Db, sweep: Sweep<'_>) -> Result<Vec<Lease>, StoreError> {
    let Sweep {
        selection,
        owner,
        now,
        lease,
        daily_cap,
        limit,
        exchangeable,
    } = sweep;
    // The longest window is a day: nothing expiring later can be due.
    let horizon = now + Duration::hours(24);
    let txn = crate::begin_write(db).await?;
    let mut pick = connections::Entity::find()
        .filter(selected(selection))
        .filter(
            Condition::any()
                .add(connections::Column::TokenExpiresAt.lte(horizon))
                .add(
                    Condition::all()
                        .add(connections::Column::Provider.is_in(exchangeable.iter().copied()))
                        .add(
                            connections::Column::Id.not_in_subquery(
                                Query::select()
                                    .column(connection_secrets::Column::ConnectionId)
                                    .from(connection_secrets::Entity)
                                    .and_where(connection_secrets::Column::Field.eq(REFRESH_TOKEN))
                                    .to_owned(),
                            ),
                        ),
                ),
        )
        .filter(free(now))
        .filter(
            Condition::any()
                .add(connections::Column::RefreshNotBefore.is_null())
                .add(connections::Column::RefreshNotBefore.lte(now)),
        )
        .order_by_asc(connections::Column::TokenExpiresAt)
        .limit(limit);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        pick = pick.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let candidates = pick.all(&txn).await?;
    let ids: Vec<uuid::Uuid> = candidates.iter().map(|c| c.id).collect();
    // When each access token was stored (its lifetime starts there), and which have a
    // refresh token at all.
    let secrets: Vec<(uuid::Uuid, String, DateTime<Utc>)> = connection_secrets::Entity::find()
        .select_only()
        .column(connection_secrets::Column::ConnectionId)
        .column(connection_secrets::Column::Field)
        .column(connection_secrets::Column::UpdatedAt)
        .filter(connection_secrets::Column::ConnectionId.is_in(ids))
        .filter(connection_secrets::Column::Field.is_in([ACCESS_TOKEN, REFRESH_TOKEN]))
        .into_tuple()
        .all(&txn)
        .await?;
    let today = day_of(now);
    let mut claimed = Vec::new();
    for row in candidates {
        let stored = |name: &str| {
            secrets
                .iter()
                .find(|(id, field, _)| *id == row.id && field == name)
        };
        let access = stored(ACCESS_TOKEN);
        let due_at = match (stored(REFRESH_TOKEN), row.token_expires_at, access) {
            // Renewed within its window; its lifetime started when the access token was stored.
            (Some(_), Some(expires_at), _) => {
                refresh_due_at(access.map_or(row.updated_at, |(_, _, at)| *at), expires_at)
            }
            // A non-expiring token to exchange: due since it was stored.
            (None, _, Some((_, _, stored_at))) if exchangeable.contains(&row.provider.as_str()) => {
                *stored_at
            }
            _ => continue,
        };
        let attempts_today = u32::try_from(row.refresh_attempts_today).unwrap_or_default();
        if due_at > now
            || !within_daily_cap(
                row.refresh_attempts_day.as_deref(),
                attempts_today,
                now,
                daily_cap,
            )
        {
            continue;
        }
        let counted = if row.refresh_attempts_day.as_deref() == Some(today.as_str()) {
            row.refresh_attempts_today.saturating_add(1)
        } else {
            1
        };
        connections::Entity::update_many()
            .col_expr(connections::Column::RefreshLeaseOwner, Expr::value(owner))
            .col_expr(
                connections::Column::RefreshClaimedUntil,
                Expr::value(now + lease),
            )
            .col_expr(
                connections::Column::RefreshAttemptsDay,
                Expr::value(today.as_str()),
            )
            .col_expr(
                connections::Column::RefreshAttemptsToday,
                Expr::value(counted),
            )
            .filter(connections::Column::Id.eq(row.id))
            .filter(free(now))
            .exec(&txn)
            .await?;
        claimed.push(Lease {
            org_id: OrgId(row.org_id),
            connection_id: ConnectionId(row.id),
            provider: row.provider,
            due_at,
            claimed_at: now,
        });
    }
    txn.commit().await?;
    Ok(claimed)
}

/// Takes the lease of one connection (an on-demand refresh); false while another holds it.
pub async fn claim_one(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool, StoreError> {
    let result = connections::Entity::update_many()
        .col_expr(connections::Column::RefreshLeaseOwner, Expr::value(owner))
        .col_expr(
            connections::Column::RefreshClaimedUntil,
            Expr::value(now + lease),
        )
        .filter(connections::Column::OrgId.eq(org_id.0))
        .filter(connections::Column::Id.eq(connection_id.0))
        .filter(free(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Whether anyone holds a live lease on the connection (an on-demand refresh waits for it).
pub async fn is_leased(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(connections::Entity::find()
        .filter(connections::Column::OrgId.eq(org_id.0))
        .filter(connections::Column::Id.eq(connection_id.0))
        .filter(connections::Column::RefreshClaimedUntil.gte(now))
        .one(db)
        .await?
        .is_some())
}

/// How a leased refresh ended, for the backoff columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Released {
    /// Renewed, refused for good, or lost to another replica: no backoff.
    Settled,
    /// The provider was unavailable: wait `backoff` before the next attempt.
    Retry { backoff: Duration },
    /// The lease ran short before the provider was asked: the next sweep may claim it again
    /// at once. (The claim still counts towards the day's attempts.)
    Unused,
}

/// Gives the lease back, compare-and-set on the owner; false when the lease was no longer
/// ours (it lapsed and another worker took it), in which case nothing changes.
pub async fn release(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    owner: &str,
    how: Released,
) -> Result<bool, StoreError> {
    let mut update = connections::Entity::update_many()
        .col_expr(
            connections::Column::RefreshLeaseOwner,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            connections::Column::RefreshClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    update = match how {
        Released::Unused => update,
        Released::Settled => update
            .col_expr(connections::Column::RefreshFailures, Expr::value(0))
            .col_expr(
                connections::Column::RefreshNotBefore,
                Expr::value(Option::<DateTime<Utc>>::None),
            ),
        Released::Retry { backoff } => update
            .col_expr(
                connections::Column::RefreshFailures,
                Expr::col(connections::Column::RefreshFailures).add(1),
            )
            .col_expr(
                connections::Column::RefreshNotBefore,
                Expr::value(Utc::now() + backoff),
            ),
    };
    let result = update
        .filter(connections::Column::OrgId.eq(org_id.0))
        .filter(connections::Column::Id.eq(connection_id.0))
        .filter(connections::Column::RefreshLeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Consecutive failed refreshes of a connection (for the next backoff step).
pub async fn failures(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
) -> Result<u32, StoreError> {
    let found: Option<i32> = connections::Entity::find()
        .select_only()
        .column(connections::Column::RefreshFailures)
        .filter(connections::Column::OrgId.eq(org_id.0))
        .filter(connections::Column::Id.eq(connection_id.0))
        .into_tuple()
        .one(db)
        .await?;
    Ok(found
        .and_then(|f| u32::try_from(f).ok())
        .unwrap_or_default())
}

/// A connection due for its health check.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheckDue {
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    pub provider: String,
}

/// PLATFORM-WIDE (every organization), for the health-check worker: claims up to `limit`
/// selected connections neither checked nor tested since `due.untouched_since`, by stamping
/// `last_health_check_at` (compare-and-set, so two replicas never check the same connection in
/// one round).
pub async fn claim_health_checks(
    db: &Db,
    now: DateTime<Utc>,
    due: &HealthChecks,
    limit: u64,
) -> Result<Vec<HealthCheckDue>, StoreError> {
    let stale = due.untouched_since;
    let txn = crate::begin_write(db).await?;
    let mut pick = connections::Entity::find()
        .filter(selected(&due.selection))
        .filter(
            Condition::any()
                .add(connections::Column::LastHealthCheckAt.is_null())
                .add(connections::Column::LastHealthCheckAt.lt(stale)),
        )
        .filter(
            Condition::any()
                .add(connections::Column::LastTestedAt.is_null())
                .add(connections::Column::LastTestedAt.lt(stale)),
        )
        .order_by_asc(connections::Column::LastHealthCheckAt)
        .limit(limit);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        pick = pick.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = pick.all(&txn).await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    connections::Entity::update_many()
        .col_expr(connections::Column::LastHealthCheckAt, Expr::value(now))
        .filter(connections::Column::Id.is_in(ids))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| HealthCheckDue {
            org_id: OrgId(r.org_id),
            connection_id: ConnectionId(r.id),
            provider: r.provider,
        })
        .collect())
}

/// PLATFORM-WIDE, for `/metrics`: how many leases are live right now.
pub async fn platform_live_leases(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    Ok(connections::Entity::find()
        .filter(connections::Column::RefreshClaimedUntil.gte(now))
        .count(db)
        .await?)
}
