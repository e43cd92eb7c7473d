//! Started OAuth authorizations. Created under an organization; claimed once, by the digest of
//! the state the provider sends back (the callback knows no organization until then).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::{OrgId, UserId};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::StoreError;
use crate::entities::oauth_states;

pub struct NewState<'a> {
    pub state_digest: &'a str,
    pub provider: &'a str,
    pub user_id: Option<UserId>,
    pub pkce_verifier: Option<String>,
    pub return_to: Option<String>,
    pub config: &'a BTreeMap<String, String>,
    /// Digest of the starting browser's nonce; `None` when no browser started it (an API key).
    pub browser_nonce: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A claimed authorization: everything the callback needs to finish it.
pub struct ClaimedState {
    pub org_id: OrgId,
    pub provider: String,
    pub user_id: Option<UserId>,
    pub pkce_verifier: Option<String>,
    pub return_to: Option<String>,
    pub config: BTreeMap<String, String>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    state: NewState<'_>,
) -> Result<(), StoreError> {
    let config =
        serde_json::to_value(state.config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    oauth_states::Entity::insert(oauth_states::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        state_digest: Set(state.state_digest.to_owned()),
        org_id: Set(org_id.0),
        provider: Set(state.provider.to_owned()),
        user_id: Set(state.user_id.map(|u| u.0)),
        pkce_verifier: Set(state.pkce_verifier),
        return_to: Set(state.return_to),
        config: Set(config),
        browser_nonce: Set(state.browser_nonce),
        expires_at: Set(state.expires_at),
        used_at: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// What claiming a state gave.
pub enum Claim {
    Claimed(ClaimedState),
    /// Live, but bound to another browser: left unused, so its own browser can still finish.
    OtherBrowser,
    /// Unknown, expired, already used or another provider's.
    Unknown,
}

/// Marks a live, unused state for this provider as used and returns it, when `browser` (the
/// digest of the calling browser's nonce) is the one it was started with, or it was started
/// without one. The conditional update makes a replay racing the first use lose.
pub async fn claim(
    db: &impl ConnectionTrait,
    state_digest: &str,
    provider: &str,
    browser: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Claim, StoreError> {
    let live = oauth_states::Entity::find()
        .filter(oauth_states::Column::StateDigest.eq(state_digest))
        .filter(oauth_states::Column::Provider.eq(provider))
        .filter(oauth_states::Column::UsedAt.is_null())
        .filter(oauth_states::Column::ExpiresAt.gt(now))
        .one(db)
        .await?;
    let Some(row) = live else {
        return Ok(Claim::Unknown);
    };
    if row
        .browser_nonce
        .as_deref()
        .is_some_and(|bound| Some(bound) != browser)
    {
        return Ok(Claim::OtherBrowser);
    }
    let claimed = oauth_states::Entity::update_many()
        .col_expr(
            oauth_states::Column::UsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(oauth_states::Column::Id.eq(row.id))
        .filter(oauth_states::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(Claim::Unknown);
    }
    let config =
        serde_json::from_value(row.config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Claim::Claimed(ClaimedState {
        org_id: OrgId(row.org_id),
        provider: row.provider,
        user_id: row.user_id.map(UserId),
        pkce_verifier: row.pkce_verifier,
        return_to: row.return_to,
        config,
    }))
}
