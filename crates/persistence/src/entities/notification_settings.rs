use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    #[sea_orm(column_type = "Text", nullable)]
    pub webhook_url: Option<String>,
    /// Sealed with the key ring.
    #[sea_orm(column_type = "Text", nullable)]
    pub webhook_secret: Option<String>,
    pub webhook_disabled_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub webhook_disabled_reason: Option<String>,
    /// Sealed with the key ring: the URL is the credential.
    #[sea_orm(column_type = "Text", nullable)]
    pub slack_webhook_url: Option<String>,
    /// Space-separated addresses.
    #[sea_orm(column_type = "Text")]
    pub email_recipients: String,
    /// Space-separated notification kinds posted through the Slack connection.
    #[sea_orm(column_type = "Text")]
    pub slack_app_notices: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
