use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// What can go wrong in storage, sorted by what a caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or has no free connection: a 503, never a 4xx.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// The database has no space left to write (SQLite's `SQLITE_FULL`, PostgreSQL's class 53
    /// "insufficient resources"): a 503 until the operator frees space.
    #[error("the database has no space left")]
    Full(#[source] DbErr),
    /// A unique constraint refused the write.
    #[error("a record with the same unique value already exists")]
    Duplicate(#[source] DbErr),
    /// The record changed since it was read; the write was not applied.
    #[error("the record was changed by another writer since it was read")]
    Conflict,
    /// A stored value does not decode (a bug or a hand-edited row).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error")]
    Db(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            return StoreError::Unavailable(err);
        }
        if is_full(&err) {
            return StoreError::Full(err);
        }
        if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
            return StoreError::Duplicate(err);
        }
        StoreError::Db(err)
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.as_ref(),
                Sqlx::Io(_)
                    | Sqlx::PoolTimedOut
                    | Sqlx::PoolClosed
                    | Sqlx::WorkerCrashed
                    | Sqlx::Tls(_)
            ) || is_admin_shutdown(e)
        }
        _ => false,
    }
}

/// PostgreSQL's "terminating connection due to administrator command" and friends (class 57P).
fn is_admin_shutdown(err: &sea_orm::sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code.starts_with("57P") || code == "3D000")
}

/// SQLite's `SQLITE_FULL` (13) and PostgreSQL's `disk_full` / `out_of_memory` (53100, 53200).
fn is_full(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|db| db.code())
            .is_some_and(|code| matches!(code.as_ref(), "13" | "53100" | "53200")),
        _ => false,
    }
}
