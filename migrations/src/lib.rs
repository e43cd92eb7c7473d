//! Plugboard's schema: one set of migrations for SQLite and PostgreSQL. A migration that has
//! shipped is never edited; changes come as new migrations.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_foundation;
mod m20261122_000002_oauth_states;
mod m20261122_000004_refresh_claims;
mod m20261122_000005_onboarding;
mod m20261201_000001_connection_version;
mod m20261201_000010_background_work;
mod m20261202_000001_one_pending_invitation;
mod m20261202_000002_oauth_state_browser;
mod m20261202_000010_idempotency_keys;
mod m20261206_000001_throttles;
mod m20261206_000020_connection_use;
mod m20261206_000030_inbound_webhooks;
mod m20261206_000040_external_identities;
mod m20261206_000050_slack_app_notices;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_foundation::Migration),
            Box::new(m20261122_000002_oauth_states::Migration),
            Box::new(m20261122_000004_refresh_claims::Migration),
            Box::new(m20261122_000005_onboarding::Migration),
            Box::new(m20261201_000001_connection_version::Migration),
            Box::new(m20261201_000010_background_work::Migration),
            Box::new(m20261202_000001_one_pending_invitation::Migration),
            Box::new(m20261202_000002_oauth_state_browser::Migration),
            Box::new(m20261202_000010_idempotency_keys::Migration),
            Box::new(m20261206_000001_throttles::Migration),
            Box::new(m20261206_000020_connection_use::Migration),
            Box::new(m20261206_000030_inbound_webhooks::Migration),
            Box::new(m20261206_000040_external_identities::Migration),
            Box::new(m20261206_000050_slack_app_notices::Migration),
        ]
    }
}
