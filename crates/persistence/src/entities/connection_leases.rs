//! The refresh-lease and backoff columns of `connections`, apart from the connection itself:
//! the worker claims and releases leases without reading or writing the connection's state.

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
    pub token_expires_at: Option<DateTimeUtc>,
    pub last_tested_at: Option<DateTimeUtc>,
    pub refresh_claimed_until: Option<DateTimeUtc>,
    pub refresh_lease_owner: Option<String>,
    pub refresh_failures: i32,
    pub refresh_not_before: Option<DateTimeUtc>,
    pub refresh_attempts_day: Option<String>,
    pub refresh_attempts_today: i32,
    pub last_health_check_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
