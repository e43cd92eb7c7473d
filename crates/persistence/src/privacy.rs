//! Privacy requests a provider sends about a brand's customers or shop (Shopify's mandatory
//! compliance topics), for the brand's admins to answer and mark done. Scoped by organization.

use chrono::{DateTime, Utc};
use domain::inbound::PrivacyKind;
use domain::{ConnectionId, OrgId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::Value;

use crate::StoreError;
use crate::entities::privacy_requests;

/// A privacy request as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct PrivacyRequest {
    pub id: uuid::Uuid,
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    pub provider: String,
    pub kind: PrivacyKind,
    /// What the brand needs to answer it; `None` once the shop's data was erased.
    pub details: Option<Value>,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<UserId>,
}

fn to_request(row: privacy_requests::Model) -> Result<PrivacyRequest, StoreError> {
    Ok(PrivacyRequest {
        kind: PrivacyKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown privacy kind `{}`", row.kind)))?,
        details: match row.details.as_deref() {
            Some(text) => Some(
                serde_json::from_str(text)
                    .map_err(|e| StoreError::Corrupt(format!("privacy request details: {e}")))?,
            ),
            None => None,
        },
        id: row.id,
        org_id: OrgId(row.org_id),
        connection_id: ConnectionId(row.connection_id),
        provider: row.provider,
        received_at: row.received_at,
        due_at: row.due_at,
        done_at: row.done_at,
        done_by: row.done_by.map(UserId),
    })
}

/// A request to record.
pub struct NewPrivacyRequest<'a> {
    pub connection_id: ConnectionId,
    pub provider: &'a str,
    pub kind: PrivacyKind,
    pub details: Option<&'a Value>,
    pub received_at: DateTime<Utc>,
    /// Set for a request Plugboard answered itself (a shop's erasure).
    pub done_at: Option<DateTime<Utc>>,
}

pub async fn create(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    new: NewPrivacyRequest<'_>,
) -> Result<PrivacyRequest, StoreError> {
    let row = privacy_requests::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        connection_id: Set(new.connection_id.0),
        provider: Set(new.provider.to_owned()),
        kind: Set(new.kind.as_str().to_owned()),
        details: Set(new.details.map(Value::to_string)),
        received_at: Set(new.received_at),
        due_at: Set(PrivacyKind::due(new.received_at)),
        done_at: Set(new.done_at),
        done_by: Set(None),
    };
    let model = privacy_requests::Entity::insert(row)
        .exec_with_returning(db)
        .await?;
    to_request(model)
}

/// The organization's requests, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<Vec<PrivacyRequest>, StoreError> {
    privacy_requests::Entity::find()
        .filter(privacy_requests::Column::OrgId.eq(org_id.0))
        .order_by_desc(privacy_requests::Column::ReceivedAt)
        .order_by_desc(privacy_requests::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_request)
        .collect()
}

/// Marks one done (once: the first person to do it is kept). `None` when the organization has
/// no such request.
pub async fn mark_done(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    id: uuid::Uuid,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Option<PrivacyRequest>, StoreError> {
    privacy_requests::Entity::update_many()
        .col_expr(privacy_requests::Column::DoneAt, Expr::value(now))
        .col_expr(
            privacy_requests::Column::DoneBy,
            Expr::value(by.map(|u| u.0)),
        )
        .filter(privacy_requests::Column::OrgId.eq(org_id.0))
        .filter(privacy_requests::Column::Id.eq(id))
        .filter(privacy_requests::Column::DoneAt.is_null())
        .exec(db)
        .await?;
    privacy_requests::Entity::find_by_id(id)
        .filter(privacy_requests::Column::OrgId.eq(org_id.0))
        .one(db)
        .await?
        .map(to_request)
        .transpose()
}
