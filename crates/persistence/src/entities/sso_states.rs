use std::fmt;

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 of the state; the state itself travels only through the browser.
    #[sea_orm(unique)]
    pub state_digest: String,
    pub provider: String,
    /// The signed-in user linking another identity; none for a sign-in.
    pub link_user_id: Option<Uuid>,
    /// The PKCE verifier, sealed like any other secret.
    pub pkce_verifier: String,
    pub nonce: String,
    pub next: Option<String>,
    /// SHA-256 of the nonce in the starting browser's cookie.
    pub browser_nonce: String,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

/// Written by hand so the verifier and nonce never reach a log.
impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsoState")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
