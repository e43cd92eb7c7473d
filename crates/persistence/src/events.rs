//! A connection's history: every connect, test, refresh, change and notification.

use chrono::{DateTime, Utc};
use domain::model::{Actor, ConnectionEvent, EventAction};
use domain::{ConnectionId, OrgId, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::StoreError;
use crate::entities::connection_events;

fn to_event(model: connection_events::Model) -> Result<ConnectionEvent, StoreError> {
    let action = EventAction::parse(&model.action)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event action `{}`", model.action)))?;
    let actor = match (model.actor_kind.as_str(), model.actor_id) {
        ("user", Some(id)) => Actor::User(UserId(id)),
        ("api_key", Some(id)) => Actor::ApiKey(domain::ids::ApiKeyId(id)),
        _ => Actor::System,
    };
    Ok(ConnectionEvent {
        id: model.id,
        org_id: OrgId(model.org_id),
        connection_id: ConnectionId(model.connection_id),
        provider: model.provider,
        action,
        success: model.success,
        code: model.code,
        message: model.message,
        actor,
        created_at: model.created_at,
    })
}

/// What to record; the store adds the id and time.
pub struct NewEvent<'a> {
    pub connection_id: ConnectionId,
    pub provider: &'a str,
    pub action: EventAction,
    pub success: bool,
    pub code: Option<&'a str>,
    pub message: &'a str,
    pub actor: &'a Actor,
}

pub async fn record(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    event: NewEvent<'_>,
) -> Result<(), StoreError> {
    let (actor_kind, actor_id) = match event.actor {
        Actor::User(id) => ("user", Some(id.0)),
        Actor::ApiKey(id) => ("api_key", Some(id.0)),
        Actor::System => ("system", None),
    };
    connection_events::Entity::insert(connection_events::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        connection_id: Set(event.connection_id.0),
        provider: Set(event.provider.to_owned()),
        action: Set(event.action.as_str().to_owned()),
        success: Set(event.success),
        code: Set(event.code.map(str::to_owned)),
        message: Set(event.message.to_owned()),
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// A connection's events, newest first, optionally older than `before`.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    before: Option<DateTime<Utc>>,
    limit: u64,
) -> Result<Vec<ConnectionEvent>, StoreError> {
    let mut query = connection_events::Entity::find()
        .filter(connection_events::Column::OrgId.eq(org_id.0))
        .filter(connection_events::Column::ConnectionId.eq(connection_id.0));
    if let Some(before) = before {
        query = query.filter(connection_events::Column::CreatedAt.lt(before));
    }
    query
        .order_by_desc(connection_events::Column::CreatedAt)
        .order_by_desc(connection_events::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(to_event)
        .collect()
}
