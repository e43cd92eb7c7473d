//! Tenants, people, connections, their encrypted secrets and their history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    OrgId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshSessions {
    Table,
    Id,
    UserId,
    TokenHash,
    ExpiresAt,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    OrgId,
    Name,
    Prefix,
    KeyHash,
    Scopes,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
    OrgId,
    Provider,
    Status,
    Enabled,
    Config,
    AccountName,
    AccountId,
    Scopes,
    TokenExpiresAt,
    LastTestedAt,
    LastSyncAt,
    LastErrorCode,
    LastErrorMessage,
    ConnectedAt,
    ConnectedBy,
    DisconnectedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConnectionSecrets {
    Table,
    Id,
    OrgId,
    ConnectionId,
    Field,
    Ciphertext,
    KeyId,
    Last4,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConnectionEvents {
    Table,
    Id,
    OrgId,
    ConnectionId,
    Provider,
    Action,
    Success,
    Code,
    Message,
    ActorKind,
    ActorId,
    CreatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_uniq(Users::Email))
                    .col(string(Users::Name))
                    .col(string(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(string(Organizations::Name))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_uuid(Memberships::Id))
                    .col(uuid(Memberships::OrgId))
                    .col(uuid(Memberships::UserId))
                    .col(string_len(Memberships::Role, 16))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_memberships_org",
                        (Memberships::Table, Memberships::OrgId),
                        (Organizations::Table, Organizations::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_user",
                        (Memberships::Table, Memberships::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_memberships_org_user")
                    .table(Memberships::Table)
                    .col(Memberships::OrgId)
                    .col(Memberships::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_memberships_user")
                    .table(Memberships::Table)
                    .col(Memberships::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshSessions::Table)
                    .col(pk_uuid(RefreshSessions::Id))
                    .col(uuid(RefreshSessions::UserId))
                    .col(string_uniq(RefreshSessions::TokenHash))
                    .col(timestamp_with_time_zone(RefreshSessions::ExpiresAt))
                    .col(timestamp_with_time_zone(RefreshSessions::CreatedAt))
                    .col(timestamp_with_time_zone_null(RefreshSessions::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_refresh_sessions_user",
                        (RefreshSessions::Table, RefreshSessions::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::OrgId))
                    .col(string(ApiKeys::Name))
                    .col(string_len(ApiKeys::Prefix, 32))
                    .col(string_uniq(ApiKeys::KeyHash))
                    .col(string(ApiKeys::Scopes))
                    .col(uuid_null(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_api_keys_org",
                        (ApiKeys::Table, ApiKeys::OrgId),
                        (Organizations::Table, Organizations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_api_keys_org")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrgId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Connections::Table)
                    .col(pk_uuid(Connections::Id))
                    .col(uuid(Connections::OrgId))
                    .col(string_len(Connections::Provider, 64))
                    .col(string_len(Connections::Status, 16))
                    .col(boolean(Connections::Enabled))
                    .col(json(Connections::Config))
                    .col(string_null(Connections::AccountName))
                    .col(string_null(Connections::AccountId))
                    .col(text(Connections::Scopes))
                    .col(timestamp_with_time_zone_null(Connections::TokenExpiresAt))
                    .col(timestamp_with_time_zone_null(Connections::LastTestedAt))
                    .col(timestamp_with_time_zone_null(Connections::LastSyncAt))
                    .col(string_len_null(Connections::LastErrorCode, 64))
                    .col(text_null(Connections::LastErrorMessage))
                    .col(timestamp_with_time_zone_null(Connections::ConnectedAt))
                    .col(uuid_null(Connections::ConnectedBy))
                    .col(timestamp_with_time_zone_null(Connections::DisconnectedAt))
                    .col(timestamp_with_time_zone(Connections::CreatedAt))
                    .col(timestamp_with_time_zone(Connections::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_connections_org",
                        (Connections::Table, Connections::OrgId),
                        (Organizations::Table, Organizations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_connections_org_provider")
                    .table(Connections::Table)
                    .col(Connections::OrgId)
                    .col(Connections::Provider)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_connections_token_expires_at")
                    .table(Connections::Table)
                    .col(Connections::TokenExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConnectionSecrets::Table)
                    .col(pk_uuid(ConnectionSecrets::Id))
                    .col(uuid(ConnectionSecrets::OrgId))
                    .col(uuid(ConnectionSecrets::ConnectionId))
                    .col(string_len(ConnectionSecrets::Field, 64))
                    .col(text(ConnectionSecrets::Ciphertext))
                    .col(string_len(ConnectionSecrets::KeyId, 64))
                    .col(string_len_null(ConnectionSecrets::Last4, 8))
                    .col(timestamp_with_time_zone(ConnectionSecrets::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_connection_secrets_connection",
                        (ConnectionSecrets::Table, ConnectionSecrets::ConnectionId),
                        (Connections::Table, Connections::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_connection_secrets_connection_field")
                    .table(ConnectionSecrets::Table)
                    .col(ConnectionSecrets::ConnectionId)
                    .col(ConnectionSecrets::Field)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_connection_secrets_org")
                    .table(ConnectionSecrets::Table)
                    .col(ConnectionSecrets::OrgId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConnectionEvents::Table)
                    .col(pk_uuid(ConnectionEvents::Id))
                    .col(uuid(ConnectionEvents::OrgId))
                    .col(uuid(ConnectionEvents::ConnectionId))
                    .col(string_len(ConnectionEvents::Provider, 64))
                    .col(string_len(ConnectionEvents::Action, 32))
                    .col(boolean(ConnectionEvents::Success))
                    .col(string_len_null(ConnectionEvents::Code, 64))
                    .col(text(ConnectionEvents::Message))
                    .col(string_len(ConnectionEvents::ActorKind, 16))
                    .col(uuid_null(ConnectionEvents::ActorId))
                    .col(timestamp_with_time_zone(ConnectionEvents::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_connection_events_connection",
                        (ConnectionEvents::Table, ConnectionEvents::ConnectionId),
                        (Connections::Table, Connections::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_connection_events_connection_created")
                    .table(ConnectionEvents::Table)
                    .col(ConnectionEvents::ConnectionId)
                    .col(ConnectionEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_connection_events_org_created")
                    .table(ConnectionEvents::Table)
                    .col(ConnectionEvents::OrgId)
                    .col(ConnectionEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
