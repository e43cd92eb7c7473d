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
    /// Until when one worker holds the right to refresh this connection's token.
    pub refresh_claimed_until: Option<DateTimeUtc>,
    /// Bumped by every write; writes are conditional on the version they read.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
