//! Identities at Microsoft Entra and Google, each linked to one user. Every lookup but the
//! sign-in's (which knows only the identity) starts from the user.

use chrono::{DateTime, Utc};
use domain::sso::{Identity, SsoProvider, Subject};
use domain::{IdentityId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use crate::entities::{external_identities, users};
use crate::{Db, StoreError};

fn to_identity(model: external_identities::Model) -> Result<Identity, StoreError> {
    Ok(Identity {
        id: IdentityId(model.id),
        user_id: UserId(model.user_id),
        provider: SsoProvider::parse(&model.provider).ok_or_else(|| {
            StoreError::Corrupt(format!("unknown sign-in provider `{}`", model.provider))
        })?,
        tenant_id: model.tenant_id,
        subject: model.subject,
        email: model.email,
        created_at: model.created_at,
        last_used_at: model.last_used_at,
    })
}

/// The user an identity is linked to, if any.
pub async fn linked_user(
    db: &impl ConnectionTrait,
    subject: &Subject,
) -> Result<Option<UserId>, StoreError> {
    Ok(external_identities::Entity::find()
        .filter(external_identities::Column::Issuer.eq(&subject.issuer))
        .filter(external_identities::Column::TenantId.eq(&subject.tenant_id))
        .filter(external_identities::Column::Subject.eq(&subject.subject))
        .one(db)
        .await?
        .map(|m| UserId(m.user_id)))
}

/// Links an identity to a user. `Duplicate` when it is linked already (to anyone).
pub async fn link(
    db: &impl ConnectionTrait,
    user_id: UserId,
    subject: &Subject,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Identity, StoreError> {
    let model = external_identities::ActiveModel {
        id: Set(IdentityId::new().0),
        user_id: Set(user_id.0),
        provider: Set(subject.provider.as_str().to_owned()),
        issuer: Set(subject.issuer.clone()),
        tenant_id: Set(subject.tenant_id.clone()),
        subject: Set(subject.subject.clone()),
        email: Set(email.map(str::to_owned)),
        created_at: Set(now),
        last_used_at: Set(now),
    };
    to_identity(
        external_identities::Entity::insert(model)
            .exec_with_returning(db)
            .await?,
    )
}

/// Records a sign-in with an identity.
pub async fn touch(
    db: &impl ConnectionTrait,
    subject: &Subject,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    external_identities::Entity::update_many()
        .col_expr(external_identities::Column::LastUsedAt, Expr::value(now))
        .filter(external_identities::Column::Issuer.eq(&subject.issuer))
        .filter(external_identities::Column::TenantId.eq(&subject.tenant_id))
        .filter(external_identities::Column::Subject.eq(&subject.subject))
        .exec(db)
        .await?;
    Ok(())
}

/// A user's identities, oldest first.
pub async fn list(db: &impl ConnectionTrait, user_id: UserId) -> Result<Vec<Identity>, StoreError> {
    external_identities::Entity::find()
        .filter(external_identities::Column::UserId.eq(user_id.0))
        .order_by_asc(external_identities::Column::CreatedAt)
        .order_by_asc(external_identities::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_identity)
        .collect()
}

/// What an unlink found.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    /// No such identity among the user's.
    NotFound,
    /// `allowed` said no: it is the last way in.
    Refused,
}

/// Deletes one of the user's identities when `allowed(has_password, identities)` says so. The
/// user's row is written first, so two unlinks of the same user's last two ways in take turns
/// rather than both passing the check.
pub async fn unlink(
    db: &Db,
    user_id: UserId,
    identity: IdentityId,
    allowed: impl FnOnce(bool, usize) -> bool,
) -> Result<Unlinked, StoreError> {
    let txn = db.begin_write().await?;
    users::Entity::update_many()
        .col_expr(users::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(users::Column::Id.eq(user_id.0))
        .exec(&txn)
        .await?;
    let Some(user) = users::Entity::find_by_id(user_id.0).one(&txn).await? else {
        return Ok(Unlinked::NotFound);
    };
    let mine = external_identities::Entity::find_by_id(identity.0)
        .filter(external_identities::Column::UserId.eq(user_id.0))
        .one(&txn)
        .await?;
    if mine.is_none() {
        return Ok(Unlinked::NotFound);
    }
    let count = external_identities::Entity::find()
        .filter(external_identities::Column::UserId.eq(user_id.0))
        .count(&txn)
        .await?;
    if !allowed(
        !user.password_hash.is_empty(),
        usize::try_from(count).unwrap_or(usize::MAX),
    ) {
        return Ok(Unlinked::Refused);
    }
    external_identities::Entity::delete_by_id(identity.0)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Unlinked::Done)
}
