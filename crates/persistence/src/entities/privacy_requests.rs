use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "privacy_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub connection_id: Uuid,
    pub provider: String,
    pub kind: String,
    pub details: Option<String>,
    pub received_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub done_at: Option<DateTimeUtc>,
    pub done_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
