//! Single sign-on: the identities people sign in with at Microsoft Entra or Google, each linked
//! to one user, and the sign-ins started with them (single use, expiring, stored only as a
//! digest of the state, like `oauth_states`, but with no organization: a sign-in has none).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExternalIdentities {
    Table,
    Id,
    UserId,
    Provider,
    Issuer,
    TenantId,
    Subject,
    Email,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum SsoStates {
    Table,
    Id,
    StateDigest,
    Provider,
    LinkUserId,
    PkceVerifier,
    Nonce,
    Next,
    BrowserNonce,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ExternalIdentities::Table)
                    .col(pk_uuid(ExternalIdentities::Id))
                    .col(uuid(ExternalIdentities::UserId))
                    .col(string_len(ExternalIdentities::Provider, 32))
                    .col(string_len(ExternalIdentities::Issuer, 512))
                    // Empty for issuers without tenants (Google): a NULL would make every such
                    // row distinct to the unique index below.
                    .col(string_len(ExternalIdentities::TenantId, 64))
                    .col(string_len(ExternalIdentities::Subject, 255))
                    .col(string_len_null(ExternalIdentities::Email, 254))
                    .col(timestamp_with_time_zone(ExternalIdentities::CreatedAt))
                    .col(timestamp_with_time_zone(ExternalIdentities::LastUsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_external_identities_user")
                            .from(ExternalIdentities::Table, ExternalIdentities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_external_identities_subject")
                    .table(ExternalIdentities::Table)
                    .col(ExternalIdentities::Issuer)
                    .col(ExternalIdentities::TenantId)
                    .col(ExternalIdentities::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_external_identities_user")
                    .table(ExternalIdentities::Table)
                    .col(ExternalIdentities::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SsoStates::Table)
                    .col(pk_uuid(SsoStates::Id))
                    .col(string_len_uniq(SsoStates::StateDigest, 64))
                    .col(string_len(SsoStates::Provider, 32))
                    .col(uuid_null(SsoStates::LinkUserId))
                    .col(text(SsoStates::PkceVerifier))
                    .col(string_len(SsoStates::Nonce, 128))
                    .col(string_len_null(SsoStates::Next, 512))
                    .col(string_len(SsoStates::BrowserNonce, 64))
                    .col(timestamp_with_time_zone(SsoStates::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SsoStates::UsedAt))
                    .col(timestamp_with_time_zone(SsoStates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sso_states_link_user")
                            .from(SsoStates::Table, SsoStates::LinkUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_sso_states_expires_at")
                    .table(SsoStates::Table)
                    .col(SsoStates::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SsoStates::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ExternalIdentities::Table).to_owned())
            .await
    }
}
