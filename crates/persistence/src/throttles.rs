//! Throttles shared by every process on the database: a GCRA bucket per key. Each key's row
//! holds the time its allowance is whole again; an attempt moves it one period on, unless that
//! would put it more than the burst ahead of now, in which case the attempt is refused and
//! nothing changes. One conditional upsert decides, so concurrent attempts on any replica are
//! counted exactly once each.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

use crate::StoreError;

/// How much a key may do: `burst` attempts at once, then one every `period_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    pub burst: u32,
    pub period_ms: i64,
}

/// Writes `$n` placeholders as the backend wants them (SQLite: `?n`).
fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Counts one attempt for `key` at `now_ms`; `Ok(None)` when allowed, `Ok(Some(ms))` with the
/// milliseconds until the next attempt would be when refused.
pub async fn attempt(
    db: &impl ConnectionTrait,
    key: &str,
    allowance: Allowance,
    now_ms: i64,
) -> Result<Option<i64>, StoreError> {
    let period = allowance.period_ms.max(1);
    let limit = i64::from(allowance.burst.max(1)) * period;
    let backend = db.get_database_backend();
    let spent = db
        .query_one_raw(statement(
            backend,
            "INSERT INTO throttles (key, whole_at_ms) VALUES ($1, $2 + $3)
             ON CONFLICT (key) DO UPDATE
               SET whole_at_ms = (CASE WHEN throttles.whole_at_ms > $2 THEN throttles.whole_at_ms ELSE $2 END) + $3
               WHERE (CASE WHEN throttles.whole_at_ms > $2 THEN throttles.whole_at_ms ELSE $2 END) + $3 - $2 <= $4
             RETURNING whole_at_ms",
            vec![key.into(), now_ms.into(), period.into(), limit.into()],
        ))
        .await?;
    if spent.is_some() {
        return Ok(None);
    }
    let row = db
        .query_one_raw(statement(
            backend,
            "SELECT whole_at_ms FROM throttles WHERE key = $1",
            vec![key.into()],
        ))
        .await?;
    let whole_at: i64 = match row {
        Some(row) => row.try_get("", "whole_at_ms")?,
        // Lapsed and deleted in between: the next attempt is allowed.
        None => return Ok(Some(0)),
    };
    Ok(Some((whole_at + period - limit - now_ms).max(0)))
}

/// Deletes the keys whose allowance is whole again by `now_ms` (they say nothing a missing row
/// does not); the number deleted.
pub async fn forget_lapsed(db: &impl ConnectionTrait, now_ms: i64) -> Result<u64, StoreError> {
    let backend = db.get_database_backend();
    let done = db
        .execute_raw(statement(
            backend,
            "DELETE FROM throttles WHERE whole_at_ms <= $1",
            vec![now_ms.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}

/// How many keys are held (for tests and metrics).
pub async fn count(db: &impl ConnectionTrait) -> Result<i64, StoreError> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(statement(
            backend,
            "SELECT COUNT(*) AS n FROM throttles",
            Vec::new(),
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    })
}
