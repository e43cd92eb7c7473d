//! Idempotency keys: the first answer to one caller's `Idempotency-Key` in an organization,
//! kept a day, so a retried POST gets that answer again instead of doing the work twice.

use chrono::{DateTime, Duration, Utc};
use domain::OrgId;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::StoreError;
use crate::entities::idempotency_keys as keys;

/// How long an answer is kept for its key.
pub const KEPT_FOR: Duration = Duration::hours(24);
/// A first request still unanswered after this long died with its process: its key is free.
pub const ABANDONED_AFTER: Duration = Duration::minutes(2);

/// One caller's key, and what the request sent with it.
pub struct Claim<'a> {
    /// `user:<id>` or `key:<id>`.
    pub caller: &'a str,
    pub key: &'a str,
    /// A digest of method, path and body.
    pub fingerprint: &'a str,
    pub now: DateTime<Utc>,
}

/// A kept answer: its status, media type and sealed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    pub key_id: String,
}

/// What the key says about this request.
#[derive(Debug, PartialEq, Eq)]
pub enum Begun {
    /// The key is new (or its last use is over): this request does the work.
    Started,
    /// The same request was answered before: answer the same.
    Replay(Kept),
    /// The first request with this key is still running.
    InFlight,
    /// The key was used for a different request.
    OtherRequest,
}

/// Narrows a query to one caller's key in one organization.
fn this_key<Q: QueryFilter>(query: Q, org_id: OrgId, caller: &str, key: &str) -> Q {
    query
        .filter(keys::Column::OrgId.eq(org_id.0))
        .filter(keys::Column::Caller.eq(caller))
        .filter(keys::Column::Key.eq(key))
}

/// Claims the key for this request, or says why not.
pub async fn begin(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    claim: Claim<'_>,
) -> Result<Begun, StoreError> {
    let Claim {
        caller,
        key,
        fingerprint,
        now,
    } = claim;
    // A use older than a day is forgotten, and so is a first request that never finished.
    this_key(keys::Entity::delete_many(), org_id, caller, key)
        .filter(
            sea_orm::Condition::any()
                .add(keys::Column::CreatedAt.lt(now - KEPT_FOR))
                .add(
                    sea_orm::Condition::all()
                        .add(keys::Column::Status.is_null())
                        .add(keys::Column::CreatedAt.lt(now - ABANDONED_AFTER)),
                ),
        )
        .exec(db)
        .await?;
    let inserted = keys::Entity::insert(keys::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        caller: Set(caller.to_owned()),
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        status: Set(None),
        content_type: Set(None),
        body: Set(None),
        key_id: Set(None),
        created_at: Set(now),
        completed_at: Set(None),
    })
    .exec_without_returning(db)
    .await;
    match inserted.map_err(StoreError::from) {
        Ok(_) => return Ok(Begun::Started),
        Err(StoreError::Duplicate(_)) => {}
        Err(other) => return Err(other),
    }
    let Some(row) = this_key(keys::Entity::find(), org_id, caller, key)
        .one(db)
        .await?
    else {
        // Forgotten between the insert and the read: the caller may simply retry.
        return Ok(Begun::InFlight);
    };
    if row.fingerprint != fingerprint {
        return Ok(Begun::OtherRequest);
    }
    Ok(match (row.status, row.body, row.key_id) {
        (Some(status), Some(body), Some(key_id)) => Begun::Replay(Kept {
            status: u16::try_from(status).unwrap_or(500),
            content_type: row.content_type,
            body,
            key_id,
        }),
        _ => Begun::InFlight,
    })
}

/// Keeps the answer of the request that claimed the key.
pub async fn complete(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    caller: &str,
    key: &str,
    kept: Kept,
) -> Result<(), StoreError> {
    let update = keys::Entity::update_many()
        .col_expr(keys::Column::Status, Expr::value(i32::from(kept.status)))
        .col_expr(keys::Column::ContentType, Expr::value(kept.content_type))
        .col_expr(keys::Column::Body, Expr::value(kept.body))
        .col_expr(keys::Column::KeyId, Expr::value(kept.key_id))
        .col_expr(keys::Column::CompletedAt, Expr::value(Utc::now()));
    this_key(update, org_id, caller, key).exec(db).await?;
    Ok(())
}

/// Frees the key of a request that failed on the server's side, so a retry does the work.
pub async fn abandon(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    caller: &str,
    key: &str,
) -> Result<(), StoreError> {
    this_key(keys::Entity::delete_many(), org_id, caller, key)
        .filter(keys::Column::Status.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// PLATFORM-WIDE (every organization), for the worker: forgets answers older than a day.
pub async fn platform_forget_expired(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(keys::Entity::delete_many()
        .filter(keys::Column::CreatedAt.lt(now - KEPT_FOR))
        .exec(db)
        .await?
        .rows_affected)
}
