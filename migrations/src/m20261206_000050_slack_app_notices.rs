//! Which notices an organization posts through its Slack connection (space-separated kinds;
//! empty: none).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NotificationSettings {
    Table,
    SlackAppNotices,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationSettings::Table)
                    .add_column(text(NotificationSettings::SlackAppNotices).default(""))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(NotificationSettings::Table)
                    .drop_column(NotificationSettings::SlackAppNotices)
                    .to_owned(),
            )
            .await
    }
}
