//! A connection's history: every connect, test, refresh, change and notification.

use std::collections::HashMap;

use chrono::Utc;
use domain::model::{Actor, ConnectionEvent, EventAction};
use domain::{ConnectionId, EventCode, OrgId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Statement,
};

use crate::StoreError;
use crate::entities::{connection_events, organizations};
use crate::page::{Keyset, Page, PageRequest, cut, older_than};

fn to_event(model: connection_events::Model) -> Result<ConnectionEvent, StoreError> {
    let action = EventAction::parse(&model.action)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event action `{}`", model.action)))?;
    let actor = Actor::from_parts(&model.actor_kind, model.actor_id);
    Ok(ConnectionEvent {
        id: model.id,
        org_id: OrgId(model.org_id),
        connection_id: ConnectionId(model.connection_id),
        provider: model.provider,
        action,
        success: model.success,
        code: model
            .code
            .map(|name| {
                EventCode::parse(&name)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown event code `{name}`")))
            })
            .transpose()?,
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
    pub code: Option<EventCode>,
    pub message: &'a str,
    pub actor: &'a Actor,
}

pub async fn record(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    event: NewEvent<'_>,
) -> Result<(), StoreError> {
    let (actor_kind, actor_id) = event.actor.parts();
    connection_events::Entity::insert(connection_events::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        connection_id: Set(event.connection_id.0),
        provider: Set(event.provider.to_owned()),
        action: Set(event.action.as_str().to_owned()),
        success: Set(event.success),
        code: Set(event.code.map(|c| c.as_str().to_owned())),
        message: Set(event.message.to_owned()),
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        created_at: Set(Utc::now()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Which events of a connection to list.
#[derive(Clone, Copy, Debug, Default)]
pub struct EventFilter<'a> {
    pub action: Option<&'a str>,
    pub success: Option<bool>,
}

/// A connection's events, newest first, a page at a time.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    filter: EventFilter<'_>,
    request: PageRequest,
) -> Result<Page<ConnectionEvent>, StoreError> {
    let mut query = connection_events::Entity::find()
        .filter(connection_events::Column::OrgId.eq(org_id.0))
        .filter(connection_events::Column::ConnectionId.eq(connection_id.0));
    if let Some(action) = filter.action {
        query = query.filter(connection_events::Column::Action.eq(action));
    }
    if let Some(success) = filter.success {
        query = query.filter(connection_events::Column::Success.eq(success));
    }
    newest_first(db, query, request).await
}

/// One page of events: newest first, after `request.after` when given.
async fn newest_first(
    db: &impl ConnectionTrait,
    mut query: Select<connection_events::Entity>,
    request: PageRequest,
) -> Result<Page<ConnectionEvent>, StoreError> {
    if let Some(after) = request.after {
        query = query.filter(older_than(
            connection_events::Column::CreatedAt,
            connection_events::Column::Id,
            after,
        ));
    }
    let rows = query
        .order_by_desc(connection_events::Column::CreatedAt)
        .order_by_desc(connection_events::Column::Id)
        .limit(request.limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(to_event)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(cut(rows, request, |e| Keyset {
        created_at: e.created_at,
        id: e.id,
    }))
}

/// PLATFORM-WIDE (every organization): each provider's most recent event, in one query.
/// Only for the platform readiness page.
pub async fn platform_latest_per_provider(
    db: &impl ConnectionTrait,
) -> Result<Vec<ConnectionEvent>, StoreError> {
    // The greatest `created_at` per provider, joined back to its row; plain SQL that both
    // backends run the same way. Two events at the very same instant both come back, so the
    // first per provider (highest id) is kept.
    let sql = "SELECT e.* FROM connection_events e \
         JOIN (SELECT provider, MAX(created_at) AS latest FROM connection_events GROUP BY provider) m \
         ON m.provider = e.provider AND m.latest = e.created_at \
         ORDER BY e.provider, e.id DESC";
    let rows = connection_events::Entity::find()
        .from_raw_sql(Statement::from_string(db.get_database_backend(), sql))
        .all(db)
        .await?;
    let mut latest: Vec<ConnectionEvent> = Vec::with_capacity(rows.len());
    for row in rows {
        if latest.last().is_none_or(|e| e.provider != row.provider) {
            latest.push(to_event(row)?);
        }
    }
    Ok(latest)
}

/// An event with the name of the organization it belongs to.
pub struct PlatformEvent {
    pub event: ConnectionEvent,
    pub org_name: String,
}

/// PLATFORM-WIDE (every organization): the most recent events of every connection, newest
/// first, a page at a time, with their organizations' names (two queries). Only for the
/// platform readiness page.
pub async fn platform_recent(
    db: &impl ConnectionTrait,
    request: PageRequest,
) -> Result<Page<PlatformEvent>, StoreError> {
    let events = newest_first(db, connection_events::Entity::find(), request).await?;
    let mut org_ids: Vec<uuid::Uuid> = events.items.iter().map(|e| e.org_id.0).collect();
    org_ids.sort_unstable();
    org_ids.dedup();
    let names: HashMap<uuid::Uuid, String> = organizations::Entity::find()
        .filter(organizations::Column::Id.is_in(org_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    Ok(events.map(|event| PlatformEvent {
        org_name: names.get(&event.org_id.0).cloned().unwrap_or_default(),
        event,
    }))
}
