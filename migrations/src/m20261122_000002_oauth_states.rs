//! Started OAuth authorizations: single-use, expiring, stored only as a digest of the state.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Id,
    StateDigest,
    OrgId,
    Provider,
    UserId,
    PkceVerifier,
    ReturnTo,
    Config,
    ExpiresAt,
    UsedAt,
    CreatedAt,
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
                    .table(OauthStates::Table)
                    .col(pk_uuid(OauthStates::Id))
                    .col(string_len_uniq(OauthStates::StateDigest, 64))
                    .col(uuid(OauthStates::OrgId))
                    .col(string_len(OauthStates::Provider, 64))
                    .col(uuid_null(OauthStates::UserId))
                    .col(text_null(OauthStates::PkceVerifier))
                    .col(string_len_null(OauthStates::ReturnTo, 512))
                    .col(json(OauthStates::Config))
                    .col(timestamp_with_time_zone(OauthStates::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OauthStates::UsedAt))
                    .col(timestamp_with_time_zone(OauthStates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_states_org")
                            .from(OauthStates::Table, OauthStates::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_oauth_states_expires_at")
                    .table(OauthStates::Table)
                    .col(OauthStates::ExpiresAt)
                    .to_owned(),
            )
            .await
    }
}
