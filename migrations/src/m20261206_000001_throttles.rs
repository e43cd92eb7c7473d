//! Sign-in and sign-up throttles shared by every replica on one database: one row per key (an
//! account or a client address, hashed), holding when its allowance is whole again
//! (GCRA's theoretical arrival time, in milliseconds since the epoch). A row whose time has
//! passed says nothing a missing row would not, so they are deleted as they lapse.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Throttles {
    Table,
    Key,
    WholeAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Throttles::Table)
                    .col(string_len(Throttles::Key, 64).primary_key())
                    .col(big_integer(Throttles::WholeAtMs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_throttles_whole_at_ms")
                    .table(Throttles::Table)
                    .col(Throttles::WholeAtMs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Throttles::Table).to_owned())
            .await
    }
}
