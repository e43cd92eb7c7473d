//! `Idempotency-Key` on the POSTs that create or trigger work: the first answer to a key is
//! kept for a day (sealed: some answers show a secret once), so a retried request gets it
//! again instead of doing the work twice.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    OrgId,
    /// Who sent it: `user:<id>` or `key:<id>`; one caller's key never answers another.
    Caller,
    Key,
    /// SHA-256 of method, path and body: the same key with another request is refused.
    Fingerprint,
    /// Null while the first request is still running.
    Status,
    ContentType,
    /// The answer's body, sealed with the key ring.
    Body,
    KeyId,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(pk_uuid(IdempotencyKeys::Id))
                    .col(uuid(IdempotencyKeys::OrgId))
                    .col(string_len(IdempotencyKeys::Caller, 64))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::Fingerprint, 64))
                    .col(integer_null(IdempotencyKeys::Status))
                    .col(string_len_null(IdempotencyKeys::ContentType, 128))
                    .col(text_null(IdempotencyKeys::Body))
                    .col(string_len_null(IdempotencyKeys::KeyId, 64))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(IdempotencyKeys::CompletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_keys_org")
                            .from(IdempotencyKeys::Table, IdempotencyKeys::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_idempotency_keys_caller_key")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::OrgId)
                    .col(IdempotencyKeys::Caller)
                    .col(IdempotencyKeys::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_created_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
