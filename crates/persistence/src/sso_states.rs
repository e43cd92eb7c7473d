//! Started sign-ins with Microsoft or Google: single use, expiring, looked up by the digest of
//! the state the provider sends back, and bound to the browser that started them.

use chrono::{DateTime, Utc};
use domain::UserId;
use domain::sso::SsoProvider;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::StoreError;
use crate::entities::sso_states;

pub struct NewSsoState<'a> {
    pub state_digest: &'a str,
    pub provider: SsoProvider,
    pub link_user_id: Option<UserId>,
    /// Sealed.
    pub pkce_verifier: String,
    pub nonce: &'a str,
    pub next: Option<String>,
    /// Digest of the starting browser's cookie nonce.
    pub browser_nonce: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub struct ClaimedSsoState {
    pub link_user_id: Option<UserId>,
    pub pkce_verifier: String,
    pub nonce: String,
    pub next: Option<String>,
}

pub async fn create(db: &impl ConnectionTrait, state: NewSsoState<'_>) -> Result<(), StoreError> {
    // Lapsed states are of no use to anyone: cleared as new ones come.
    sso_states::Entity::delete_many()
        .filter(sso_states::Column::ExpiresAt.lt(Utc::now() - chrono::Duration::hours(1)))
        .exec(db)
        .await?;
    sso_states::Entity::insert(sso_states::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        state_digest: Set(state.state_digest.to_owned()),
        provider: Set(state.provider.as_str().to_owned()),
        link_user_id: Set(state.link_user_id.map(|u| u.0)),
        pkce_verifier: Set(state.pkce_verifier),
        nonce: Set(state.nonce.to_owned()),
        next: Set(state.next),
        browser_nonce: Set(state.browser_nonce.to_owned()),
        expires_at: Set(state.expires_at),
        used_at: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// What claiming a state gave.
pub enum SsoClaim {
    Claimed(ClaimedSsoState),
    /// Live, but started in another browser: left unused, so its own browser can still finish.
    OtherBrowser,
    /// Unknown, expired, already used or another provider's.
    Unknown,
}

/// Marks a live, unused state for this provider, started by this browser, as used and returns
/// it. The conditional update makes a replay racing the first use lose.
pub async fn claim(
    db: &impl ConnectionTrait,
    state_digest: &str,
    provider: SsoProvider,
    browser: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SsoClaim, StoreError> {
    let live = sso_states::Entity::find()
        .filter(sso_states::Column::StateDigest.eq(state_digest))
        .filter(sso_states::Column::Provider.eq(provider.as_str()))
        .filter(sso_states::Column::UsedAt.is_null())
        .filter(sso_states::Column::ExpiresAt.gt(now))
        .one(db)
        .await?;
    let Some(row) = live else {
        return Ok(SsoClaim::Unknown);
    };
    if Some(row.browser_nonce.as_str()) != browser {
        return Ok(SsoClaim::OtherBrowser);
    }
    let claimed = sso_states::Entity::update_many()
        .col_expr(
            sso_states::Column::UsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(sso_states::Column::Id.eq(row.id))
        .filter(sso_states::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(SsoClaim::Unknown);
    }
    Ok(SsoClaim::Claimed(ClaimedSsoState {
        link_user_id: row.link_user_id.map(UserId),
        pkce_verifier: row.pkce_verifier,
        nonce: row.nonce,
        next: row.next,
    }))
}
