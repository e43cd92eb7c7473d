//! Binds a started authorization to the browser that started it (RFC 9700 §4.7.1): the digest
//! of a nonce the browser holds in a cookie. Empty for flows started with an API key, which
//! have no browser, and for states stored before this.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    BrowserNonce,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OauthStates::Table)
                    .add_column(string_null(OauthStates::BrowserNonce))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OauthStates::Table)
                    .drop_column(OauthStates::BrowserNonce)
                    .to_owned(),
            )
            .await
    }
}
