//! Invitations to join an organization. Only a hash of each token is stored.

use chrono::{DateTime, Utc};
use domain::invitations::{Invitation, InvitationId};
use domain::{OrgId, Role, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::invitations;
use crate::page::{Keyset, Page, PageRequest, cut, older_than};

fn to_invitation(model: invitations::Model) -> Result<Invitation, StoreError> {
    let role = Role::parse(&model.role)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown role `{}`", model.role)))?;
    Ok(Invitation {
        id: InvitationId(model.id),
        org_id: OrgId(model.org_id),
        email: model.email,
        role,
        invited_by: model.invited_by.map(UserId),
        created_at: model.created_at,
        expires_at: model.expires_at,
        accepted_at: model.accepted_at,
        accepted_by: model.accepted_by.map(UserId),
        revoked_at: model.revoked_at,
    })
}

pub struct NewInvitation<'a> {
    /// Lower-cased by the caller.
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub invited_by: UserId,
    pub expires_at: DateTime<Utc>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    new: NewInvitation<'_>,
) -> Result<Invitation, StoreError> {
    let model = invitations::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        email: Set(new.email.to_owned()),
        role: Set(new.role.as_str().to_owned()),
        token_hash: Set(new.token_hash.to_owned()),
        invited_by: Set(Some(new.invited_by.0)),
        created_at: Set(Utc::now()),
        expires_at: Set(new.expires_at),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
    };
    to_invitation(
        invitations::Entity::insert(model)
            .exec_with_returning(db)
            .await?,
    )
}

/// The organization's invitations, newest first.
/// The addresses with an invitation still pending (not accepted, revoked or expired at `now`).
pub async fn pending_emails(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, StoreError> {
    Ok(invitations::Entity::find()
        .select_only()
        .column(invitations::Column::Email)
        .filter(invitations::Column::OrgId.eq(org_id.0))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .filter(invitations::Column::ExpiresAt.gt(now))
        .into_tuple()
        .all(db)
        .await?)
}

/// The organization's invitations, newest first, a page at a time.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    request: PageRequest,
) -> Result<Page<Invitation>, StoreError> {
    let mut query = invitations::Entity::find().filter(invitations::Column::OrgId.eq(org_id.0));
    if let Some(after) = request.after {
        query = query.filter(older_than(
            invitations::Column::CreatedAt,
            invitations::Column::Id,
            after,
        ));
    }
    let rows = query
        .order_by_desc(invitations::Column::CreatedAt)
        .order_by_desc(invitations::Column::Id)
        .limit(request.limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(to_invitation)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(cut(rows, request, |i| Keyset {
        created_at: i.created_at,
        id: i.id.0,
    }))
}

pub async fn get(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    id: InvitationId,
) -> Result<Option<Invitation>, StoreError> {
    invitations::Entity::find()
        .filter(invitations::Column::OrgId.eq(org_id.0))
        .filter(invitations::Column::Id.eq(id.0))
        .one(db)
        .await?
        .map(to_invitation)
        .transpose()
}

/// Revokes an invitation that is neither accepted nor revoked; `false` when there was none.
pub async fn revoke(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    id: InvitationId,
) -> Result<bool, StoreError> {
    let result = invitations::Entity::update_many()
        .col_expr(
            invitations::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(invitations::Column::OrgId.eq(org_id.0))
        .filter(invitations::Column::Id.eq(id.0))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Closes (revokes) the address's open invitation once it has expired, so a new one can take
/// its place under the one-open-invitation rule; `false` when there was none.
pub async fn close_expired(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    email: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = invitations::Entity::update_many()
        .col_expr(
            invitations::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(invitations::Column::OrgId.eq(org_id.0))
        .filter(invitations::Column::Email.eq(email))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .filter(invitations::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The invitation a token opens, whichever organization it belongs to: the token is the
/// capability, so it is found by its hash alone.
pub async fn find_by_token_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<Invitation>, StoreError> {
    invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?
        .map(to_invitation)
        .transpose()
}

/// Marks a pending invitation accepted by `user`, once: `false` when it was already accepted,
/// revoked or expired (a concurrent accept included).
pub async fn claim(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    id: InvitationId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = invitations::Entity::update_many()
        .col_expr(
            invitations::Column::AcceptedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            invitations::Column::AcceptedBy,
            sea_orm::sea_query::Expr::value(user.0),
        )
        .filter(invitations::Column::OrgId.eq(org_id.0))
        .filter(invitations::Column::Id.eq(id.0))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .filter(invitations::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
