//! Webhooks the providers send the platform's apps. A verified delivery is written to the inbox
//! (one row per provider and delivery id, so a replay finds its row) and applied by the worker;
//! once applied the row keeps only what deduplication needs. Counts per provider for the
//! readiness page; the privacy requests brands answer; and the erasures Meta's data-deletion
//! status page reports on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InboundDeliveries {
    Table,
    Id,
    Provider,
    DeliveryId,
    Topic,
    /// The account the delivery names; cleared once applied.
    Account,
    /// The verified body as JSON text; cleared once applied.
    Payload,
    ReceivedAt,
    ClaimedBy,
    ClaimedUntil,
    AppliedAt,
    /// `applied` or `unmatched`, once applied.
    Outcome,
}

#[derive(DeriveIden)]
enum InboundTallies {
    Table,
    Provider,
    Accepted,
    Refused,
    Unmatched,
    LastDeliveryAt,
}

#[derive(DeriveIden)]
enum PrivacyRequests {
    Table,
    Id,
    OrgId,
    ConnectionId,
    Provider,
    Kind,
    /// What the brand needs to answer it (the customer and orders named), as JSON text.
    Details,
    ReceivedAt,
    DueAt,
    DoneAt,
    DoneBy,
}

#[derive(DeriveIden)]
enum Erasures {
    Table,
    /// The confirmation code: the status page's only key.
    Code,
    Provider,
    DeliveryId,
    RequestedAt,
    ErasedAt,
    /// How many connections were erased.
    Connections,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Connections {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InboundDeliveries::Table)
                    .col(pk_uuid(InboundDeliveries::Id))
                    .col(string_len(InboundDeliveries::Provider, 64))
                    .col(string_len(InboundDeliveries::DeliveryId, 255))
                    .col(string_len(InboundDeliveries::Topic, 255))
                    .col(string_len_null(InboundDeliveries::Account, 255))
                    .col(text_null(InboundDeliveries::Payload))
                    .col(timestamp_with_time_zone(InboundDeliveries::ReceivedAt))
                    .col(string_len_null(InboundDeliveries::ClaimedBy, 64))
                    .col(timestamp_with_time_zone_null(
                        InboundDeliveries::ClaimedUntil,
                    ))
                    .col(timestamp_with_time_zone_null(InboundDeliveries::AppliedAt))
                    .col(string_len_null(InboundDeliveries::Outcome, 16))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_inbound_deliveries_provider_delivery")
                    .table(InboundDeliveries::Table)
                    .col(InboundDeliveries::Provider)
                    .col(InboundDeliveries::DeliveryId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The worker's sweep: rows not applied yet.
        manager
            .create_index(
                Index::create()
                    .name("ix_inbound_deliveries_applied_at")
                    .table(InboundDeliveries::Table)
                    .col(InboundDeliveries::AppliedAt)
                    .col(InboundDeliveries::ReceivedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(InboundTallies::Table)
                    .col(string_len(InboundTallies::Provider, 64).primary_key())
                    .col(big_integer(InboundTallies::Accepted).default(0))
                    .col(big_integer(InboundTallies::Refused).default(0))
                    .col(big_integer(InboundTallies::Unmatched).default(0))
                    .col(timestamp_with_time_zone_null(
                        InboundTallies::LastDeliveryAt,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PrivacyRequests::Table)
                    .col(pk_uuid(PrivacyRequests::Id))
                    .col(uuid(PrivacyRequests::OrgId))
                    .col(uuid(PrivacyRequests::ConnectionId))
                    .col(string_len(PrivacyRequests::Provider, 64))
                    .col(string_len(PrivacyRequests::Kind, 32))
                    .col(text_null(PrivacyRequests::Details))
                    .col(timestamp_with_time_zone(PrivacyRequests::ReceivedAt))
                    .col(timestamp_with_time_zone(PrivacyRequests::DueAt))
                    .col(timestamp_with_time_zone_null(PrivacyRequests::DoneAt))
                    .col(uuid_null(PrivacyRequests::DoneBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_privacy_requests_org")
                            .from(PrivacyRequests::Table, PrivacyRequests::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_privacy_requests_connection")
                            .from(PrivacyRequests::Table, PrivacyRequests::ConnectionId)
                            .to(Connections::Table, Connections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_privacy_requests_org_received")
                    .table(PrivacyRequests::Table)
                    .col(PrivacyRequests::OrgId)
                    .col(PrivacyRequests::ReceivedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Erasures::Table)
                    .col(string_len(Erasures::Code, 64).primary_key())
                    .col(string_len(Erasures::Provider, 64))
                    .col(string_len(Erasures::DeliveryId, 255))
                    .col(timestamp_with_time_zone(Erasures::RequestedAt))
                    .col(timestamp_with_time_zone_null(Erasures::ErasedAt))
                    .col(integer(Erasures::Connections).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_erasures_provider_delivery")
                    .table(Erasures::Table)
                    .col(Erasures::Provider)
                    .col(Erasures::DeliveryId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Erasures::Table.into_iden(),
            PrivacyRequests::Table.into_iden(),
            InboundTallies::Table.into_iden(),
            InboundDeliveries::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
