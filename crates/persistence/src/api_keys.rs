//! Organization API keys for partner developers. Only a hash of each key is stored.

use chrono::Utc;
use domain::ids::ApiKeyId;
use domain::model::ApiKey;
use domain::{OrgId, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::api_keys;
use crate::page::{Keyset, Page, PageRequest, cut, older_than};

fn to_key(model: api_keys::Model) -> ApiKey {
    ApiKey {
        id: ApiKeyId(model.id),
        org_id: OrgId(model.org_id),
        name: model.name,
        prefix: model.prefix,
        scopes: model.scopes.split_whitespace().map(str::to_owned).collect(),
        providers: model
            .providers
            .map(|p| p.split_whitespace().map(str::to_owned).collect()),
        created_at: model.created_at,
        last_used_at: model.last_used_at,
        revoked_at: model.revoked_at,
    }
}

pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a [String],
    pub providers: Option<&'a [String]>,
    pub created_by: UserId,
}

pub async fn create(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    key: NewApiKey<'_>,
) -> Result<ApiKey, StoreError> {
    let model = api_keys::ActiveModel {
        id: Set(ApiKeyId::new().0),
        org_id: Set(org_id.0),
        name: Set(key.name.to_owned()),
        prefix: Set(key.prefix.to_owned()),
        key_hash: Set(key.key_hash.to_owned()),
        scopes: Set(key.scopes.join(" ")),
        providers: Set(key.providers.map(|p| p.join(" "))),
        created_by: Set(Some(key.created_by.0)),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    };
    Ok(to_key(
        api_keys::Entity::insert(model)
            .exec_with_returning(db)
            .await?,
    ))
}

/// The organization's keys, newest first, a page at a time.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    request: PageRequest,
) -> Result<Page<ApiKey>, StoreError> {
    let mut query = api_keys::Entity::find().filter(api_keys::Column::OrgId.eq(org_id.0));
    if let Some(after) = request.after {
        query = query.filter(older_than(
            api_keys::Column::CreatedAt,
            api_keys::Column::Id,
            after,
        ));
    }
    let rows: Vec<ApiKey> = query
        .order_by_desc(api_keys::Column::CreatedAt)
        .order_by_desc(api_keys::Column::Id)
        .limit(request.limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(to_key)
        .collect();
    Ok(cut(rows, request, |k| Keyset {
        created_at: k.created_at,
        id: k.id.0,
    }))
}

/// Revokes a key; `false` when the organization has no such live key.
pub async fn revoke(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    key_id: ApiKeyId,
) -> Result<bool, StoreError> {
    let result = api_keys::Entity::update_many()
        .col_expr(
            api_keys::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(api_keys::Column::OrgId.eq(org_id.0))
        .filter(api_keys::Column::Id.eq(key_id.0))
        .filter(api_keys::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The live key whose hash was presented, in whichever organization holds it: the key itself
/// is the capability. The caller compares its organization with the one asked for.
pub async fn find_live(
    db: &impl ConnectionTrait,
    key_hash: &str,
) -> Result<Option<ApiKey>, StoreError> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::KeyHash.eq(key_hash))
        .filter(api_keys::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .map(to_key))
}

/// One of the organization's keys, revoked or not.
pub async fn get(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    key_id: ApiKeyId,
) -> Result<Option<ApiKey>, StoreError> {
    Ok(api_keys::Entity::find()
        .filter(api_keys::Column::OrgId.eq(org_id.0))
        .filter(api_keys::Column::Id.eq(key_id.0))
        .one(db)
        .await?
        .map(to_key))
}

/// Records that a key was used just now.
pub async fn touch(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    key_id: ApiKeyId,
) -> Result<(), StoreError> {
    api_keys::Entity::update_many()
        .col_expr(
            api_keys::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(api_keys::Column::OrgId.eq(org_id.0))
        .filter(api_keys::Column::Id.eq(key_id.0))
        .exec(db)
        .await?;
    Ok(())
}
