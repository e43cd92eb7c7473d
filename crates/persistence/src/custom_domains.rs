//! Custom domains. A host belongs to one organization at most (a unique index decides).

use chrono::Utc;
use domain::OrgId;
use domain::onboarding::{CustomDomain, DomainStatus};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::custom_domains;

fn to_domain(model: custom_domains::Model) -> Result<CustomDomain, StoreError> {
    let status = DomainStatus::parse(&model.status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown domain status `{}`", model.status)))?;
    Ok(CustomDomain {
        host: model.host,
        status,
        verification_token: model.verification_token,
        created_at: model.created_at,
        verified_at: model.verified_at,
    })
}

/// The organization's domains, by host.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<Vec<CustomDomain>, StoreError> {
    custom_domains::Entity::find()
        .filter(custom_domains::Column::OrgId.eq(org_id.0))
        .order_by_asc(custom_domains::Column::Host)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Which of `hosts` another organization holds. Only the hosts come back, never who holds them.
pub async fn held_elsewhere(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    hosts: &[String],
) -> Result<Vec<String>, StoreError> {
    if hosts.is_empty() {
        return Ok(Vec::new());
    }
    Ok(custom_domains::Entity::find()
        .select_only()
        .column(custom_domains::Column::Host)
        .filter(custom_domains::Column::Host.is_in(hosts.iter().cloned()))
        .filter(custom_domains::Column::OrgId.ne(org_id.0))
        .order_by_asc(custom_domains::Column::Host)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

/// A host to add, with the token its verification record will carry.
pub struct NewDomain {
    pub host: String,
    pub verification_token: String,
}

/// Makes the organization's domains exactly `wanted`: others are removed, new ones added as
/// `pending`, and those it already has stay as they are (same token, same status).
/// `Duplicate` when another organization holds one of the new hosts.
pub async fn replace(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    wanted: Vec<NewDomain>,
) -> Result<(), StoreError> {
    let hosts: Vec<String> = wanted.iter().map(|d| d.host.clone()).collect();
    custom_domains::Entity::delete_many()
        .filter(custom_domains::Column::OrgId.eq(org_id.0))
        .filter(custom_domains::Column::Host.is_not_in(hosts))
        .exec(db)
        .await?;
    let kept: Vec<String> = list(db, org_id)
        .await?
        .into_iter()
        .map(|d| d.host)
        .collect();
    let now = Utc::now();
    let rows: Vec<custom_domains::ActiveModel> = wanted
        .into_iter()
        .filter(|d| !kept.contains(&d.host))
        .map(|d| custom_domains::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            org_id: Set(org_id.0),
            host: Set(d.host),
            status: Set(DomainStatus::Pending.as_str().to_owned()),
            verification_token: Set(d.verification_token),
            created_at: Set(now),
            verified_at: Set(None),
        })
        .collect();
    if !rows.is_empty() {
        custom_domains::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
