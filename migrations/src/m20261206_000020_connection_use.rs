//! Who last used a connection through the proxy (with the name they had then), and when; and the providers an API key may
//! reach (none listed: all of them).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Connections {
    Table,
    LastUsedAt,
    LastUsedByKind,
    LastUsedById,
    LastUsedByName,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Providers,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            timestamp_with_time_zone_null(Connections::LastUsedAt),
            string_null(Connections::LastUsedByKind),
            uuid_null(Connections::LastUsedById),
            string_null(Connections::LastUsedByName),
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Connections::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(string_null(ApiKeys::Providers))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .drop_column(ApiKeys::Providers)
                    .to_owned(),
            )
            .await?;
        for column in [
            Connections::LastUsedByName,
            Connections::LastUsedById,
            Connections::LastUsedByKind,
            Connections::LastUsedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Connections::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
