use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 of the state; the state itself travels only through the browser.
    #[sea_orm(unique)]
    pub state_digest: String,
    pub org_id: Uuid,
    pub provider: String,
    pub user_id: Option<Uuid>,
    /// The PKCE verifier, sealed like any other secret.
    pub pkce_verifier: Option<String>,
    pub return_to: Option<String>,
    pub config: Json,
    /// SHA-256 of the nonce in the starting browser's cookie; none for API-key flows.
    pub browser_nonce: Option<String>,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
