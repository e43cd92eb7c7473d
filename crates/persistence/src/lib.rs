//! Plugboard's storage: sea-orm entities and repositories. Every repository function that
//! touches tenant data takes the organization id first and filters by it; there is no
//! unscoped twin. The only reads across organizations are named `platform_*` and serve the
//! platform admins' readiness page, plus two that a capability or a uniqueness rule needs:
//! an invitation or an API key found by its token's hash, and which custom domains another
//! organization holds.

pub mod api_keys;
pub mod connections;
pub mod custom_domains;
mod db;
mod entities;
mod error;
pub mod events;
pub mod feature_flags;
pub mod idempotency;
pub mod identities;
pub mod inbound;
pub mod invitations;
pub mod leases;
pub mod notifications;
pub mod oauth_states;
pub mod onboarding;
pub mod orgs;
pub mod page;
pub mod privacy;
pub mod sealed;
pub mod sessions;
pub mod sso_states;
pub mod throttles;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::Connection;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database};

pub use db::Db;
pub use error::StoreError;
pub use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};

/// Which database engine a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// How long a pooled connection may sit unused before it is checked with a ping on its way out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// How long a SQLite writer waits for another one to finish before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the pool. SQLite gets a small pool (one writer at a time anyway) in WAL mode, so
/// readers never wait for the writer, with a busy timeout, so a writer waits for another
/// instead of failing with `database is locked`; PostgreSQL a larger pool.
pub async fn connect(url: &str) -> Result<Db, StoreError> {
    let health = Arc::new(db::PoolHealth::new());
    let mut options = ConnectOptions::new(url.to_owned());
    let max = match Backend::of(url) {
        Some(Backend::Postgres) => 10,
        _ => 4,
    };
    options
        .max_connections(max)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // A connection in use is known to work: pinging it before every query doubled the
        // round trips of a short query. One idle long enough to have been dropped by the
        // server, a proxy or a firewall is still checked before it is handed out.
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false)
        .map_sqlx_postgres_before_acquire({
            // Right after a connection was lost, the others are likely gone too (a restart
            // ends them all): check each before handing it out, dropping the dead ones.
            let health = health.clone();
            move |conn, _meta| {
                let suspect = health.suspect();
                Box::pin(async move {
                    if suspect {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            }
        })
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
        });
    Ok(Db::new(Database::connect(options).await?, health))
}

/// Starts a transaction that is going to write (see [`Db::begin_write`]).
pub async fn begin_write(db: &Db) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    db.begin_write().await
}

/// Applies every pending migration.
pub async fn migrate(db: &Db) -> Result<(), StoreError> {
    Ok(Migrator::up(db.connection(), None).await?)
}

/// Whether the database answers (readiness).
pub async fn ping(db: &Db) -> Result<(), StoreError> {
    Ok(db.ping().await?)
}
