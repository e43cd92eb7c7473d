//! Background work: per-organization notification settings, the notification outbox and its
//! delivery attempts, incidents (one notice per incident), and the refresh lease and backoff
//! columns on connections.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
    /// Which worker holds `refresh_claimed_until` (the lease's owner).
    RefreshLeaseOwner,
    /// Consecutive failed refresh attempts (outages), for backoff.
    RefreshFailures,
    /// No refresh attempt before this time (backoff after an outage).
    RefreshNotBefore,
    /// The UTC day `refresh_attempts_today` counts, as `YYYY-MM-DD`.
    RefreshAttemptsDay,
    RefreshAttemptsToday,
    /// The last background health check.
    LastHealthCheckAt,
}

#[derive(DeriveIden)]
enum NotificationSettings {
    Table,
    OrgId,
    WebhookUrl,
    /// The signing secret, sealed with the key ring (AAD: org | notifications | webhook_secret).
    WebhookSecret,
    /// Set when the endpoint answered 410 Gone: deliveries stop until a new URL is saved.
    WebhookDisabledAt,
    WebhookDisabledReason,
    /// Slack incoming-webhook URLs are credentials: sealed like a secret.
    SlackWebhookUrl,
    /// Space-separated addresses.
    EmailRecipients,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
    OrgId,
    ConnectionId,
    Provider,
    Status,
    Code,
    OpenedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    /// Sent as `webhook-id`: receivers deduplicate by it.
    Id,
    OrgId,
    ConnectionId,
    Provider,
    /// `broken`, `recovered` or `test`.
    Kind,
    IncidentId,
    /// `webhook`, `slack` or `email`.
    Channel,
    Payload,
    /// `pending`, `delivered`, `failed` or `disabled`.
    Status,
    Attempts,
    NextAttemptAt,
    /// Which worker is sending it, and until when (a crashed sender's claim lapses).
    ClaimedBy,
    ClaimedUntil,
    LastError,
    DeliveredAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NotificationAttempts {
    Table,
    Id,
    OrgId,
    NotificationId,
    Number,
    Success,
    StatusCode,
    Error,
    DurationMs,
    AttemptedAt,
}

fn org_fk(name: &str, table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            string_len_null(Connections::RefreshLeaseOwner, 64),
            integer(Connections::RefreshFailures).default(0).take(),
            timestamp_with_time_zone_null(Connections::RefreshNotBefore),
            string_len_null(Connections::RefreshAttemptsDay, 10),
            integer(Connections::RefreshAttemptsToday).default(0).take(),
            timestamp_with_time_zone_null(Connections::LastHealthCheckAt),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Connections::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(NotificationSettings::Table)
                    .col(pk_uuid(NotificationSettings::OrgId))
                    .col(text_null(NotificationSettings::WebhookUrl))
                    .col(text_null(NotificationSettings::WebhookSecret))
                    .col(timestamp_with_time_zone_null(
                        NotificationSettings::WebhookDisabledAt,
                    ))
                    .col(text_null(NotificationSettings::WebhookDisabledReason))
                    .col(text_null(NotificationSettings::SlackWebhookUrl))
                    .col(text(NotificationSettings::EmailRecipients).default(""))
                    .col(timestamp_with_time_zone(NotificationSettings::CreatedAt))
                    .col(timestamp_with_time_zone(NotificationSettings::UpdatedAt))
                    .foreign_key(&mut org_fk(
                        "fk_notification_settings_org",
                        NotificationSettings::Table,
                        NotificationSettings::OrgId,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Incidents::Table)
                    .col(pk_uuid(Incidents::Id))
                    .col(uuid(Incidents::OrgId))
                    .col(uuid(Incidents::ConnectionId))
                    .col(string_len(Incidents::Provider, 64))
                    .col(string_len(Incidents::Status, 16))
                    .col(string_len_null(Incidents::Code, 64))
                    .col(timestamp_with_time_zone(Incidents::OpenedAt))
                    .col(timestamp_with_time_zone_null(Incidents::ClosedAt))
                    .foreign_key(&mut org_fk(
                        "fk_incidents_org",
                        Incidents::Table,
                        Incidents::OrgId,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_incidents_connection")
                            .from(Incidents::Table, Incidents::ConnectionId)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_incidents_connection_closed")
                    .table(Incidents::Table)
                    .col(Incidents::ConnectionId)
                    .col(Incidents::ClosedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::OrgId))
                    .col(uuid_null(Notifications::ConnectionId))
                    .col(string_len_null(Notifications::Provider, 64))
                    .col(string_len(Notifications::Kind, 16))
                    .col(uuid_null(Notifications::IncidentId))
                    .col(string_len(Notifications::Channel, 16))
                    .col(json(Notifications::Payload))
                    .col(string_len(Notifications::Status, 16))
                    .col(integer(Notifications::Attempts).default(0))
                    .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                    .col(string_len_null(Notifications::ClaimedBy, 64))
                    .col(timestamp_with_time_zone_null(Notifications::ClaimedUntil))
                    .col(text_null(Notifications::LastError))
                    .col(timestamp_with_time_zone_null(Notifications::DeliveredAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone(Notifications::UpdatedAt))
                    .foreign_key(&mut org_fk(
                        "fk_notifications_org",
                        Notifications::Table,
                        Notifications::OrgId,
                    ))
                    .to_owned(),
            )
            .await?;
        // The delivery sweep: due pending rows, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_status_next_attempt")
                    .table(Notifications::Table)
                    .col(Notifications::Status)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // An organization's list, newest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_org_created")
                    .table(Notifications::Table)
                    .col(Notifications::OrgId)
                    .col(Notifications::CreatedAt)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationAttempts::Table)
                    .col(pk_uuid(NotificationAttempts::Id))
                    .col(uuid(NotificationAttempts::OrgId))
                    .col(uuid(NotificationAttempts::NotificationId))
                    .col(integer(NotificationAttempts::Number))
                    .col(boolean(NotificationAttempts::Success))
                    .col(integer_null(NotificationAttempts::StatusCode))
                    .col(text_null(NotificationAttempts::Error))
                    .col(big_integer(NotificationAttempts::DurationMs))
                    .col(timestamp_with_time_zone(NotificationAttempts::AttemptedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notification_attempts_notification")
                            .from(
                                NotificationAttempts::Table,
                                NotificationAttempts::NotificationId,
                            )
                            .to(Notifications::Table, Notifications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notification_attempts_notification")
                    .table(NotificationAttempts::Table)
                    .col(NotificationAttempts::NotificationId)
                    .col(NotificationAttempts::Number)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
