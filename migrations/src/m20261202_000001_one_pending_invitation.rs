//! At most one open invitation per organization and address, enforced by the database, so
//! invitations sent at the same moment cannot both pass the service's check. "Open" means
//! neither accepted nor revoked; an expired one is closed (revoked) when a new one replaces it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    OrgId,
    Email,
    AcceptedAt,
    RevokedAt,
}

const INDEX: &str = "ux_invitations_open_org_email";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Duplicates the race already left behind: the newest stays open, the others are
        // closed as revoked (at their own creation time, a value of the column's own type on
        // both databases).
        manager
            .get_connection()
            .execute_unprepared(
                r#"UPDATE invitations SET revoked_at = created_at
                   WHERE accepted_at IS NULL AND revoked_at IS NULL AND EXISTS (
                     SELECT 1 FROM invitations newer
                     WHERE newer.org_id = invitations.org_id
                       AND newer.email = invitations.email
                       AND newer.accepted_at IS NULL AND newer.revoked_at IS NULL
                       AND (newer.created_at > invitations.created_at
                            OR (newer.created_at = invitations.created_at AND newer.id > invitations.id)))"#,
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Invitations::Table)
                    .col(Invitations::OrgId)
                    .col(Invitations::Email)
                    .unique()
                    .and_where(Expr::col(Invitations::AcceptedAt).is_null())
                    .and_where(Expr::col(Invitations::RevokedAt).is_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(Invitations::Table)
                    .to_owned(),
            )
            .await
    }
}
