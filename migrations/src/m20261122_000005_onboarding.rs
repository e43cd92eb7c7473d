//! Onboarding progress, feature-flag choices, custom domains and invitations.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OnboardingSteps {
    Table,
    Id,
    OrgId,
    Step,
    Status,
    Data,
    CompletedAt,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FeatureFlags {
    Table,
    Id,
    OrgId,
    Key,
    Enabled,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CustomDomains {
    Table,
    Id,
    OrgId,
    Host,
    Status,
    VerificationToken,
    CreatedAt,
    VerifiedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrgId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
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
        manager
            .create_table(
                Table::create()
                    .table(OnboardingSteps::Table)
                    .col(pk_uuid(OnboardingSteps::Id))
                    .col(uuid(OnboardingSteps::OrgId))
                    .col(string_len(OnboardingSteps::Step, 32))
                    .col(string_len(OnboardingSteps::Status, 16))
                    .col(json(OnboardingSteps::Data))
                    .col(timestamp_with_time_zone_null(OnboardingSteps::CompletedAt))
                    .col(uuid_null(OnboardingSteps::UpdatedBy))
                    .col(timestamp_with_time_zone(OnboardingSteps::UpdatedAt))
                    .foreign_key(&mut org_fk(
                        "fk_onboarding_steps_org",
                        OnboardingSteps::Table,
                        OnboardingSteps::OrgId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_onboarding_steps_org_step")
                    .table(OnboardingSteps::Table)
                    .col(OnboardingSteps::OrgId)
                    .col(OnboardingSteps::Step)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeatureFlags::Table)
                    .col(pk_uuid(FeatureFlags::Id))
                    .col(uuid(FeatureFlags::OrgId))
                    .col(string_len(FeatureFlags::Key, 96))
                    .col(boolean(FeatureFlags::Enabled))
                    .col(uuid_null(FeatureFlags::UpdatedBy))
                    .col(timestamp_with_time_zone(FeatureFlags::UpdatedAt))
                    .foreign_key(&mut org_fk(
                        "fk_feature_flags_org",
                        FeatureFlags::Table,
                        FeatureFlags::OrgId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_feature_flags_org_key")
                    .table(FeatureFlags::Table)
                    .col(FeatureFlags::OrgId)
                    .col(FeatureFlags::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CustomDomains::Table)
                    .col(pk_uuid(CustomDomains::Id))
                    .col(uuid(CustomDomains::OrgId))
                    // Unique across organizations: a host belongs to one brand at most.
                    .col(string_len_uniq(CustomDomains::Host, 253))
                    .col(string_len(CustomDomains::Status, 16))
                    .col(string_len(CustomDomains::VerificationToken, 64))
                    .col(timestamp_with_time_zone(CustomDomains::CreatedAt))
                    .col(timestamp_with_time_zone_null(CustomDomains::VerifiedAt))
                    .foreign_key(&mut org_fk(
                        "fk_custom_domains_org",
                        CustomDomains::Table,
                        CustomDomains::OrgId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_custom_domains_org")
                    .table(CustomDomains::Table)
                    .col(CustomDomains::OrgId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(pk_uuid(Invitations::Id))
                    .col(uuid(Invitations::OrgId))
                    .col(string(Invitations::Email))
                    .col(string_len(Invitations::Role, 16))
                    .col(string_len_uniq(Invitations::TokenHash, 64))
                    .col(uuid_null(Invitations::InvitedBy))
                    .col(timestamp_with_time_zone(Invitations::CreatedAt))
                    .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                    .col(uuid_null(Invitations::AcceptedBy))
                    .col(timestamp_with_time_zone_null(Invitations::RevokedAt))
                    .foreign_key(&mut org_fk(
                        "fk_invitations_org",
                        Invitations::Table,
                        Invitations::OrgId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_invitations_org_email")
                    .table(Invitations::Table)
                    .col(Invitations::OrgId)
                    .col(Invitations::Email)
                    .to_owned(),
            )
            .await
    }
}
