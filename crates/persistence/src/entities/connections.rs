//! A connection: its state (written only by `connections::save`, fenced by `version`), the
//! refresh lease, backoff and health-check columns (written only by `leases`, never the state),
//! and its last use through the proxy (written only by `connections::record_use`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub provider: String,
    pub status: String,
    pub enabled: bool,
    /// Non-secret settings, a JSON object of strings.
    pub config: Json,
    pub account_name: Option<String>,
    pub account_id: Option<String>,
    /// Space-separated granted scopes.
    pub scopes: String,
    pub token_expires_at: Option<DateTimeUtc>,
    pub last_tested_at: Option<DateTimeUtc>,
    pub last_sync_at: Option<DateTimeUtc>,
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    pub connected_at: Option<DateTimeUtc>,
    pub connected_by: Option<Uuid>,
    pub disconnected_at: Option<DateTimeUtc>,
    /// Until when one worker holds the right to refresh this connection's token (the lease).
    pub refresh_claimed_until: Option<DateTimeUtc>,
    /// Which worker holds the lease.
    pub refresh_lease_owner: Option<String>,
    /// Consecutive failed refresh attempts (outages), for backoff.
    pub refresh_failures: i32,
    /// No refresh attempt before this time (backoff after an outage).
    pub refresh_not_before: Option<DateTimeUtc>,
    /// The UTC day `refresh_attempts_today` counts, as `YYYY-MM-DD`.
    pub refresh_attempts_day: Option<String>,
    pub refresh_attempts_today: i32,
    /// The last background health check.
    pub last_health_check_at: Option<DateTimeUtc>,
    /// The last call through the proxy and who made it (written only by `record_use`).
    pub last_used_at: Option<DateTimeUtc>,
    pub last_used_by_kind: Option<String>,
    pub last_used_by_id: Option<Uuid>,
    /// The key's name or the person's name when they used it.
    pub last_used_by_name: Option<String>,
    /// Bumped by every write; writes are conditional on the version they read.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl Related<super::connection_secrets::Entity> for Entity {
    fn to() -> RelationDef {
        super::connection_secrets::Relation::Connection.def().rev()
    }
}

impl ActiveModelBehavior for ActiveModel {}
