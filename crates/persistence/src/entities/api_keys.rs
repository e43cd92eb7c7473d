use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// The first characters of the key, shown so a person can tell keys apart.
    pub prefix: String,
    /// SHA-256 of the whole key; the key itself is shown once and never stored.
    #[sea_orm(unique)]
    pub key_hash: String,
    /// Space-separated scopes.
    pub scopes: String,
    /// Space-separated provider ids the key may reach through the proxy; none: every one.
    pub providers: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
