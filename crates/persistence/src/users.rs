//! People. Users are not tenant data (one person may belong to many organizations).

use chrono::Utc;
use domain::UserId;
use domain::model::User;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entities::{refresh_sessions, users};
use crate::{Db, StoreError};

pub(crate) fn to_user(model: users::Model) -> User {
    User {
        id: UserId(model.id),
        email: model.email,
        name: model.name,
        created_at: model.created_at,
    }
}

/// A user with the password hash needed to check a login.
pub struct UserLogin {
    pub user: User,
    /// None for a user who signs in only with Microsoft or Google.
    pub password_hash: Option<String>,
}

/// Stored for a user with no password: no hash reads as this, so no password matches.
const NO_PASSWORD: &str = "";

/// Creates a user; the e-mail is stored lower-cased. `Duplicate` when it is taken.
pub async fn create(
    db: &impl ConnectionTrait,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<User, StoreError> {
    let now = Utc::now();
    let model = users::ActiveModel {
        id: Set(UserId::new().0),
        email: Set(email.to_lowercase()),
        name: Set(name.to_owned()),
        password_hash: Set(password_hash.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(to_user(
        users::Entity::insert(model).exec_with_returning(db).await?,
    ))
}

/// Creates a user who signs in with an identity provider and has no password (yet).
pub async fn create_without_password(
    db: &impl ConnectionTrait,
    email: &str,
    name: &str,
) -> Result<User, StoreError> {
    create(db, email, name, NO_PASSWORD).await
}

pub async fn find_login(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<UserLogin>, StoreError> {
    let found = users::Entity::find()
        .filter(users::Column::Email.eq(email.to_lowercase()))
        .one(db)
        .await?;
    Ok(found.map(|model| UserLogin {
        password_hash: Some(model.password_hash.clone()).filter(|h| h != NO_PASSWORD),
        user: to_user(model),
    }))
}

pub async fn find_by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<User>, StoreError> {
    Ok(find_login(db, email).await?.map(|login| login.user))
}

pub async fn get(db: &impl ConnectionTrait, user_id: UserId) -> Result<Option<User>, StoreError> {
    Ok(users::Entity::find_by_id(user_id.0)
        .one(db)
        .await?
        .map(to_user))
}

/// Replaces the user's password with `hash` if the stored one is still `was` (the one the
/// caller checked), and ends every refresh session of the user in the same transaction.
/// Whether it was replaced: two changes made with the same current password cannot both be.
pub async fn change_password(
    db: &Db,
    user_id: UserId,
    was: &str,
    hash: &str,
) -> Result<bool, StoreError> {
    let txn = db.begin_write().await?;
    let replaced = users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(user_id.0))
        .filter(users::Column::PasswordHash.eq(was))
        .exec(&txn)
        .await?;
    if replaced.rows_affected != 1 {
        return Ok(false);
    }
    refresh_sessions::Entity::update_many()
        .col_expr(refresh_sessions::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_sessions::Column::UserId.eq(user_id.0))
        .filter(refresh_sessions::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}
