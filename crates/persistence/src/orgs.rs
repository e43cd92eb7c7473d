//! Organizations and their memberships.

use crate::Db;
use chrono::Utc;
use domain::model::{Membership, Organization};
use domain::{OrgId, Role, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::StoreError;
use crate::entities::{memberships, organizations, users};
use crate::page::{Keyset, Page, PageRequest, cut, newer_than};
use crate::users::to_user;

fn to_org(model: organizations::Model) -> Organization {
    Organization {
        id: OrgId(model.id),
        name: model.name,
        created_at: model.created_at,
    }
}

fn to_role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown role `{text}`")))
}

/// Creates an organization with its first owner, in one transaction.
pub async fn create_with_owner(
    db: &Db,
    name: &str,
    owner: UserId,
) -> Result<Organization, StoreError> {
    let txn = crate::begin_write(db).await?;
    let now = Utc::now();
    let org = organizations::Entity::insert(organizations::ActiveModel {
        id: Set(OrgId::new().0),
        name: Set(name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&txn)
    .await?;
    insert_membership(&txn, OrgId(org.id), owner, Role::Owner).await?;
    txn.commit().await?;
    Ok(to_org(org))
}

pub async fn get(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<Option<Organization>, StoreError> {
    Ok(organizations::Entity::find_by_id(org_id.0)
        .one(db)
        .await?
        .map(to_org))
}

/// The user's role in the organization, or `None` when they are not a member.
pub async fn role_of(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    user_id: UserId,
) -> Result<Option<Role>, StoreError> {
    let found = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org_id.0))
        .filter(memberships::Column::UserId.eq(user_id.0))
        .one(db)
        .await?;
    found.map(|m| to_role(&m.role)).transpose()
}

/// Every organization a user belongs to, by name.
pub async fn memberships_of(
    db: &impl ConnectionTrait,
    user: &domain::model::User,
) -> Result<Vec<Membership>, StoreError> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id.0))
        .find_also_related(organizations::Entity)
        .order_by_asc(memberships::Column::CreatedAt)
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(m, org)| org.map(|org| (m, org)))
        .map(|(m, org)| {
            Ok(Membership {
                org_id: OrgId(org.id),
                org_name: org.name,
                user: user.clone(),
                role: to_role(&m.role)?,
                created_at: m.created_at,
            })
        })
        .collect()
}

/// The organization's members, oldest first.
pub async fn members(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<Vec<Membership>, StoreError> {
    let Some(org) = get(db, org_id).await? else {
        return Ok(Vec::new());
    };
    let rows = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org_id.0))
        .find_also_related(users::Entity)
        .order_by_asc(memberships::Column::CreatedAt)
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(m, user)| user.map(|u| (m, u)))
        .map(|(m, user)| {
            Ok(Membership {
                org_id,
                org_name: org.name.clone(),
                user: to_user(user),
                role: to_role(&m.role)?,
                created_at: m.created_at,
            })
        })
        .collect()
}

/// The organization's members, oldest first, a page at a time.
pub async fn members_page(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    request: PageRequest,
) -> Result<Page<Membership>, StoreError> {
    let Some(org) = get(db, org_id).await? else {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    };
    let mut query = memberships::Entity::find().filter(memberships::Column::OrgId.eq(org_id.0));
    if let Some(after) = request.after {
        query = query.filter(newer_than(
            memberships::Column::CreatedAt,
            memberships::Column::Id,
            after,
        ));
    }
    let rows = query
        .find_also_related(users::Entity)
        .order_by_asc(memberships::Column::CreatedAt)
        .order_by_asc(memberships::Column::Id)
        .limit(request.limit + 1)
        .all(db)
        .await?;
    let page = cut(rows, request, |(m, _)| Keyset {
        created_at: m.created_at,
        id: m.id,
    });
    let mut members = Vec::with_capacity(page.items.len());
    for (m, user) in page.items {
        if let Some(user) = user {
            members.push(Membership {
                org_id,
                org_name: org.name.clone(),
                user: to_user(user),
                role: to_role(&m.role)?,
                created_at: m.created_at,
            });
        }
    }
    Ok(Page {
        items: members,
        next: page.next,
    })
}

async fn insert_membership(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    user_id: UserId,
    role: Role,
) -> Result<(), StoreError> {
    memberships::Entity::insert(memberships::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        user_id: Set(user_id.0),
        role: Set(role.as_str().to_owned()),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Adds a member. `Duplicate` when they already belong to the organization.
pub async fn add_member(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    user_id: UserId,
    role: Role,
) -> Result<(), StoreError> {
    insert_membership(db, org_id, user_id, role).await
}

/// What a change to the member list came to.
#[derive(Debug, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    NotAMember,
    /// The change would leave the organization without an owner.
    LastOwner,
}

/// Changes a member's role, refusing to demote the last owner.
pub async fn set_role(
    db: &Db,
    org_id: OrgId,
    user_id: UserId,
    role: Role,
) -> Result<MemberChange, StoreError> {
    let txn = crate::begin_write(db).await?;
    let outcome = match owner_guard(&txn, org_id, user_id).await? {
        Guard::NotAMember => MemberChange::NotAMember,
        Guard::LastOwner if role != Role::Owner => MemberChange::LastOwner,
        Guard::LastOwner | Guard::Free => {
            memberships::Entity::update_many()
                .col_expr(
                    memberships::Column::Role,
                    sea_orm::sea_query::Expr::value(role.as_str()),
                )
                .filter(memberships::Column::OrgId.eq(org_id.0))
                .filter(memberships::Column::UserId.eq(user_id.0))
                .exec(&txn)
                .await?;
            MemberChange::Done
        }
    };
    txn.commit().await?;
    Ok(outcome)
}

/// Removes a member, refusing to remove the last owner.
pub async fn remove_member(
    db: &Db,
    org_id: OrgId,
    user_id: UserId,
) -> Result<MemberChange, StoreError> {
    let txn = crate::begin_write(db).await?;
    let outcome = match owner_guard(&txn, org_id, user_id).await? {
        Guard::NotAMember => MemberChange::NotAMember,
        Guard::LastOwner => MemberChange::LastOwner,
        Guard::Free => {
            memberships::Entity::delete_many()
                .filter(memberships::Column::OrgId.eq(org_id.0))
                .filter(memberships::Column::UserId.eq(user_id.0))
                .exec(&txn)
                .await?;
            MemberChange::Done
        }
    };
    txn.commit().await?;
    Ok(outcome)
}

enum Guard {
    NotAMember,
    LastOwner,
    Free,
}

/// Reads the member's role and the owner count inside the caller's transaction. On PostgreSQL
/// the organization row is locked first, so two concurrent demotions cannot both pass.
async fn owner_guard(
    txn: &sea_orm::DatabaseTransaction,
    org_id: OrgId,
    user_id: UserId,
) -> Result<Guard, StoreError> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        use sea_orm::QuerySelect;
        organizations::Entity::find_by_id(org_id.0)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    let Some(role) = role_of(txn, org_id, user_id).await? else {
        return Ok(Guard::NotAMember);
    };
    if role != Role::Owner {
        return Ok(Guard::Free);
    }
    let owners = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org_id.0))
        .filter(memberships::Column::Role.eq(Role::Owner.as_str()))
        .count(txn)
        .await?;
    Ok(if owners <= 1 {
        Guard::LastOwner
    } else {
        Guard::Free
    })
}
