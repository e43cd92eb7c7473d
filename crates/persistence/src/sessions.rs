//! Refresh sessions behind the httpOnly refresh cookie. Only a hash of each token is stored.

use chrono::{DateTime, Utc};
use domain::UserId;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::StoreError;
use crate::entities::refresh_sessions;

pub async fn create(
    db: &impl ConnectionTrait,
    user_id: UserId,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    refresh_sessions::Entity::insert(refresh_sessions::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        user_id: Set(user_id.0),
        token_hash: Set(token_hash.to_owned()),
        expires_at: Set(expires_at),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Spends a refresh token: revokes it and answers whose it was, if it was live. A token is
/// good once; the conditional update makes two concurrent uses yield one winner.
pub async fn spend(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<UserId>, StoreError> {
    let now = Utc::now();
    let Some(session) = refresh_sessions::Entity::find()
        .filter(refresh_sessions::Column::TokenHash.eq(token_hash))
        .filter(refresh_sessions::Column::RevokedAt.is_null())
        .filter(refresh_sessions::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let revoked = refresh_sessions::Entity::update_many()
        .col_expr(
            refresh_sessions::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(refresh_sessions::Column::Id.eq(session.id))
        .filter(refresh_sessions::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok((revoked.rows_affected == 1).then_some(UserId(session.user_id)))
}
