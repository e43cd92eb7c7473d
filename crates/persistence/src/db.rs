//! The pool every repository runs on, with one behaviour sea-orm's own does not have: a
//! database restart or failover is absorbed instead of surfacing as 503s.
//!
//! When PostgreSQL terminates a backend (a restart, a failover, `pg_terminate_backend`), every
//! idle pooled connection is dead, and each one would fail the next query handed to it. So a
//! statement that fails because its connection was lost is run once more, and from then on, for
//! a short while, every pooled connection is pinged before it is handed out, so the dead ones
//! are dropped at once instead of one failed request each.
//!
//! Only a statement that runs on its own is repeated: it either never reached the server or died
//! with its implicit transaction, so nothing was written. A statement inside a transaction is
//! not (the transaction is gone with its connection), but its `BEGIN` is, so a transaction
//! starts on a live connection. A real outage still fails: the second attempt finds no server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr, ExecResult,
    QueryResult, RuntimeErr, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
};

/// How long after a lost connection every pooled connection is pinged before use.
const PING_AFTER_LOSS_FOR: Duration = Duration::from_secs(10);

/// The database, as a pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    health: Arc<PoolHealth>,
}

/// When a lost connection was last seen, so the pool can check the others.
#[derive(Debug)]
pub(crate) struct PoolHealth {
    origin: Instant,
    /// Milliseconds after `origin` until which connections are pinged; 0 when none was lost.
    suspect_until_ms: AtomicU64,
}

impl PoolHealth {
    pub(crate) fn new() -> PoolHealth {
        PoolHealth {
            origin: Instant::now(),
            suspect_until_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn connection_lost(&self) {
        let until = self
            .now_ms()
            .saturating_add(PING_AFTER_LOSS_FOR.as_millis() as u64);
        self.suspect_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// Whether a pooled connection should be pinged before it is handed out.
    pub(crate) fn suspect(&self) -> bool {
        self.now_ms() < self.suspect_until_ms.load(Ordering::Relaxed)
    }
}

/// Whether an error says the connection itself is gone (not that the statement was wrong, nor
/// that the pool has no connection to give, which another attempt would only wait for again).
fn connection_lost(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    match e.as_ref() {
        Sqlx::Io(_) | Sqlx::WorkerCrashed => true,
        other => other
            .as_database_error()
            .and_then(|db| db.code())
            // 57P01 admin shutdown, 57P02 crash shutdown, 08xxx connection exceptions.
            .is_some_and(|code| {
                matches!(code.as_ref(), "57P01" | "57P02") || code.starts_with("08")
            }),
    }
}

impl Db {
    pub(crate) fn new(conn: DatabaseConnection, health: Arc<PoolHealth>) -> Db {
        Db { conn, health }
    }

    /// The sea-orm connection underneath, for what runs outside requests (migrations).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Runs `attempt`, and once more if the first one lost its connection.
    async fn once_more<T, F, Fut>(&self, attempt: F) -> Result<T, DbErr>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        match attempt().await {
            Err(err) if connection_lost(&err) => {
                self.health.connection_lost();
                tracing::warn!(error = %err, "a pooled database connection was lost; trying once more on another");
                attempt().await
            }
            other => other,
        }
    }

    /// Starts a transaction that is going to write. SQLite takes the write lock at its start
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout; a deferred one that
    /// read first would fail with `database is locked` when it tried to write. PostgreSQL
    /// ignores the mode.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.once_more(|| {
            self.conn.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
        })
        .await
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.once_more(|| self.conn.ping()).await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.once_more(|| self.conn.execute_raw(stmt.clone())).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.once_more(|| self.conn.execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.once_more(|| self.conn.query_one_raw(stmt.clone()))
            .await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.once_more(|| self.conn.query_all_raw(stmt.clone()))
            .await
    }
}
