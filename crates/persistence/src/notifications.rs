//! Notification settings, incidents, and the notification outbox with its delivery attempts.
//! Tenant functions take the organization first. The delivery queue (`claim_due`,
//! `platform_outbox_stats`) spans organizations by nature: each claimed row carries its org id
//! and everything done with it afterwards is scoped by that id.

use crate::Db;
use chrono::{DateTime, Utc};
use domain::notifications::{Channel, DeliveryStatus, NotificationKind};
use domain::{ConnectionId, OrgId};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};

use crate::StoreError;
use crate::entities::{incidents, notification_attempts, notification_settings, notifications};
use crate::page::{Keyset, Page, PageRequest, cut, older_than};

/// An organization's channels, as stored: secrets still sealed.
#[derive(Clone, Default, PartialEq)]
pub struct StoredSettings {
    pub webhook_url: Option<String>,
    pub webhook_secret_sealed: Option<String>,
    pub webhook_disabled_at: Option<DateTime<Utc>>,
    pub webhook_disabled_reason: Option<String>,
    pub slack_webhook_url_sealed: Option<String>,
    pub email_recipients: Vec<String>,
    /// What is posted through the Slack connection, to the channel it points at.
    pub slack_app_notices: Vec<NotificationKind>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn settings(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<StoredSettings, StoreError> {
    let Some(m) = notification_settings::Entity::find_by_id(org_id.0)
        .one(db)
        .await?
    else {
        return Ok(StoredSettings::default());
    };
    let slack_app_notices = m
        .slack_app_notices
        .split_whitespace()
        .map(|name| {
            NotificationKind::parse(name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown notification kind `{name}`")))
        })
        .collect::<Result<_, _>>()?;
    Ok(StoredSettings {
        webhook_url: m.webhook_url,
        webhook_secret_sealed: m.webhook_secret,
        webhook_disabled_at: m.webhook_disabled_at,
        webhook_disabled_reason: m.webhook_disabled_reason,
        slack_webhook_url_sealed: m.slack_webhook_url,
        email_recipients: m
            .email_recipients
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        slack_app_notices,
        updated_at: Some(m.updated_at),
    })
}

/// Stores an organization's settings whole (create or replace).
pub async fn put_settings(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    settings: &StoredSettings,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let row = notification_settings::ActiveModel {
        org_id: Set(org_id.0),
        webhook_url: Set(settings.webhook_url.clone()),
        webhook_secret: Set(settings.webhook_secret_sealed.clone()),
        webhook_disabled_at: Set(settings.webhook_disabled_at),
        webhook_disabled_reason: Set(settings.webhook_disabled_reason.clone()),
        slack_webhook_url: Set(settings.slack_webhook_url_sealed.clone()),
        email_recipients: Set(settings.email_recipients.join(" ")),
        slack_app_notices: Set(settings
            .slack_app_notices
            .iter()
            .map(|kind| kind.as_str())
            .collect::<Vec<_>>()
            .join(" ")),
        created_at: Set(now),
        updated_at: Set(now),
    };
    notification_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(notification_settings::Column::OrgId)
                .update_columns([
                    notification_settings::Column::WebhookUrl,
                    notification_settings::Column::WebhookSecret,
                    notification_settings::Column::WebhookDisabledAt,
                    notification_settings::Column::WebhookDisabledReason,
                    notification_settings::Column::SlackWebhookUrl,
                    notification_settings::Column::EmailRecipients,
                    notification_settings::Column::SlackAppNotices,
                    notification_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Turns the webhook endpoint off (it answered 410 Gone), unless its URL changed meanwhile;
/// every pending webhook notification of the organization is disabled with it.
pub async fn disable_webhook(
    db: &Db,
    org_id: OrgId,
    url: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let txn = crate::begin_write(db).await?;
    let now = Utc::now();
    let changed = notification_settings::Entity::update_many()
        .col_expr(
            notification_settings::Column::WebhookDisabledAt,
            Expr::value(now),
        )
        .col_expr(
            notification_settings::Column::WebhookDisabledReason,
            Expr::value(reason),
        )
        .filter(notification_settings::Column::OrgId.eq(org_id.0))
        .filter(notification_settings::Column::WebhookUrl.eq(url))
        .exec(&txn)
        .await?;
    if changed.rows_affected > 0 {
        notifications::Entity::update_many()
            .col_expr(
                notifications::Column::Status,
                Expr::value(DeliveryStatus::Disabled.as_str()),
            )
            .col_expr(notifications::Column::LastError, Expr::value(reason))
            .col_expr(notifications::Column::UpdatedAt, Expr::value(now))
            .filter(notifications::Column::OrgId.eq(org_id.0))
            .filter(notifications::Column::Channel.eq(Channel::Webhook.as_str()))
            .filter(notifications::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The connection's open incident, if one is open.
pub async fn open_incident(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
) -> Result<Option<uuid::Uuid>, StoreError> {
    Ok(incidents::Entity::find()
        .filter(incidents::Column::OrgId.eq(org_id.0))
        .filter(incidents::Column::ConnectionId.eq(connection_id.0))
        .filter(incidents::Column::ClosedAt.is_null())
        .order_by_desc(incidents::Column::OpenedAt)
        .one(db)
        .await?
        .map(|i| i.id))
}

/// Opens an incident for a connection that needs attention.
pub async fn open(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
    provider: &str,
    status: &str,
    code: Option<&str>,
) -> Result<uuid::Uuid, StoreError> {
    let id = uuid::Uuid::new_v4();
    incidents::Entity::insert(incidents::ActiveModel {
        id: Set(id),
        org_id: Set(org_id.0),
        connection_id: Set(connection_id.0),
        provider: Set(provider.to_owned()),
        status: Set(status.to_owned()),
        code: Set(code.map(str::to_owned)),
        opened_at: Set(Utc::now()),
        closed_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// Closes every open incident of a connection.
pub async fn close_incidents(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    connection_id: ConnectionId,
) -> Result<(), StoreError> {
    incidents::Entity::update_many()
        .col_expr(incidents::Column::ClosedAt, Expr::value(Utc::now()))
        .filter(incidents::Column::OrgId.eq(org_id.0))
        .filter(incidents::Column::ConnectionId.eq(connection_id.0))
        .filter(incidents::Column::ClosedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// One notification to deliver.
pub struct NewNotification {
    pub connection_id: Option<ConnectionId>,
    pub provider: Option<String>,
    pub kind: NotificationKind,
    pub incident_id: Option<uuid::Uuid>,
    pub channel: Channel,
    pub payload: serde_json::Value,
}

/// Puts a notification in the outbox, due at once. Call it inside the transaction of the
/// change it reports, so the two are stored together or not at all.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    new: NewNotification,
) -> Result<uuid::Uuid, StoreError> {
    let id = uuid::Uuid::new_v4();
    let now = Utc::now();
    notifications::Entity::insert(notifications::ActiveModel {
        id: Set(id),
        org_id: Set(org_id.0),
        connection_id: Set(new.connection_id.map(|c| c.0)),
        provider: Set(new.provider),
        kind: Set(new.kind.as_str().to_owned()),
        incident_id: Set(new.incident_id),
        channel: Set(new.channel.as_str().to_owned()),
        payload: Set(new.payload),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_by: Set(None),
        claimed_until: Set(None),
        last_error: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok(id)
}

/// One delivery attempt, as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub number: u32,
    pub success: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub attempted_at: DateTime<Utc>,
}

/// A notification in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: uuid::Uuid,
    pub org_id: OrgId,
    pub connection_id: Option<ConnectionId>,
    pub provider: Option<String>,
    pub kind: NotificationKind,
    pub incident_id: Option<uuid::Uuid>,
    pub channel: Channel,
    pub payload: serde_json::Value,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Filled by `list`; empty from `claim_due`.
    pub history: Vec<Attempt>,
}

fn to_notification(m: notifications::Model) -> Result<Notification, StoreError> {
    let corrupt =
        |what: &str, value: &str| StoreError::Corrupt(format!("notification {what} `{value}`"));
    Ok(Notification {
        id: m.id,
        org_id: OrgId(m.org_id),
        connection_id: m.connection_id.map(ConnectionId),
        provider: m.provider,
        kind: NotificationKind::parse(&m.kind).ok_or_else(|| corrupt("kind", &m.kind))?,
        incident_id: m.incident_id,
        channel: Channel::parse(&m.channel).ok_or_else(|| corrupt("channel", &m.channel))?,
        payload: m.payload,
        status: DeliveryStatus::parse(&m.status).ok_or_else(|| corrupt("status", &m.status))?,
        attempts: u32::try_from(m.attempts).unwrap_or_default(),
        next_attempt_at: m.next_attempt_at,
        last_error: m.last_error,
        delivered_at: m.delivered_at,
        created_at: m.created_at,
        history: Vec::new(),
    })
}

/// Claims up to `limit` due notifications for `owner` until `until`. On PostgreSQL the rows
/// are picked with `FOR UPDATE SKIP LOCKED`, so replicas never pick the same row; a claim
/// whose holder died lapses at `until`. SQLite runs one worker process.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Notification>, StoreError> {
    let backend = db.get_database_backend();
    let (lock, p) = match backend {
        DatabaseBackend::Postgres => (" FOR UPDATE SKIP LOCKED", ["$1", "$2", "$3", "$4", "$5"]),
        _ => ("", ["?", "?", "?", "?", "?"]),
    };
    let sql = format!(
        "UPDATE notifications SET claimed_by = {}, claimed_until = {} \
         WHERE id IN (SELECT id FROM notifications \
           WHERE status = 'pending' AND next_attempt_at <= {} \
             AND (claimed_until IS NULL OR claimed_until < {}) \
           ORDER BY next_attempt_at LIMIT {}{lock}) \
         RETURNING *",
        p[0], p[1], p[2], p[3], p[4]
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = notifications::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql,
            [
                owner.into(),
                until.into(),
                now.into(),
                now.into(),
                limit.into(),
            ],
        ))
        .all(db)
        .await?;
    rows.into_iter().map(to_notification).collect()
}

/// What one attempt found, and where the notification stands after it.
pub struct AttemptRecord {
    pub success: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub attempted_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
}

/// Records an attempt and releases the claim, compare-and-set on the owner: a sender whose
/// claim lapsed and was taken over records nothing (false).
pub async fn record_attempt(
    db: &Db,
    org_id: OrgId,
    id: uuid::Uuid,
    owner: &str,
    record: AttemptRecord,
) -> Result<bool, StoreError> {
    let txn = crate::begin_write(db).await?;
    let updated = notifications::Entity::update_many()
        .col_expr(
            notifications::Column::Attempts,
            Expr::col(notifications::Column::Attempts).add(1),
        )
        .col_expr(
            notifications::Column::Status,
            Expr::value(record.status.as_str()),
        )
        .col_expr(
            notifications::Column::NextAttemptAt,
            Expr::value(record.next_attempt_at),
        )
        .col_expr(
            notifications::Column::LastError,
            Expr::value(record.error.clone()),
        )
        .col_expr(
            notifications::Column::DeliveredAt,
            Expr::value(record.success.then_some(record.attempted_at)),
        )
        .col_expr(
            notifications::Column::ClaimedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            notifications::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(notifications::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(notifications::Column::OrgId.eq(org_id.0))
        .filter(notifications::Column::Id.eq(id))
        .filter(notifications::Column::ClaimedBy.eq(owner))
        .filter(notifications::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    let number: i32 = notifications::Entity::find_by_id(id)
        .select_only()
        .column(notifications::Column::Attempts)
        .into_tuple()
        .one(&txn)
        .await?
        .unwrap_or(1);
    notification_attempts::Entity::insert(notification_attempts::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        notification_id: Set(id),
        number: Set(number),
        success: Set(record.success),
        status_code: Set(record.status_code.map(i32::from)),
        error: Set(record.error),
        duration_ms: Set(i64::try_from(record.duration_ms).unwrap_or(i64::MAX)),
        attempted_at: Set(record.attempted_at),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// A page of the organization's notifications, newest first, with every attempt of each.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    request: PageRequest,
) -> Result<Page<Notification>, StoreError> {
    let mut query = notifications::Entity::find().filter(notifications::Column::OrgId.eq(org_id.0));
    if let Some(after) = request.after {
        query = query.filter(older_than(
            notifications::Column::CreatedAt,
            notifications::Column::Id,
            after,
        ));
    }
    let rows: Vec<Notification> = query
        .order_by_desc(notifications::Column::CreatedAt)
        .order_by_desc(notifications::Column::Id)
        .limit(request.limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(to_notification)
        .collect::<Result<_, _>>()?;
    let mut page = cut(rows, request, |n| Keyset {
        created_at: n.created_at,
        id: n.id,
    });
    let ids: Vec<uuid::Uuid> = page.items.iter().map(|n| n.id).collect();
    let attempts = notification_attempts::Entity::find()
        .filter(notification_attempts::Column::OrgId.eq(org_id.0))
        .filter(notification_attempts::Column::NotificationId.is_in(ids))
        .order_by_asc(notification_attempts::Column::Number)
        .all(db)
        .await?;
    for attempt in attempts {
        if let Some(n) = page
            .items
            .iter_mut()
            .find(|n| n.id == attempt.notification_id)
        {
            n.history.push(Attempt {
                number: u32::try_from(attempt.number).unwrap_or_default(),
                success: attempt.success,
                status_code: attempt.status_code.and_then(|c| u16::try_from(c).ok()),
                error: attempt.error,
                duration_ms: u64::try_from(attempt.duration_ms).unwrap_or_default(),
                attempted_at: attempt.attempted_at,
            });
        }
    }
    Ok(page)
}

/// Outbox figures for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutboxStats {
    pub by_status: Vec<(DeliveryStatus, u64)>,
    /// When the oldest pending notification was written.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// PLATFORM-WIDE (every organization): notifications counted by status, and the oldest
/// pending one. Only for `/metrics`.
pub async fn platform_outbox_stats(db: &impl ConnectionTrait) -> Result<OutboxStats, StoreError> {
    let rows: Vec<(String, i64)> = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::Status)
        .column_as(notifications::Column::Id.count(), "count")
        .group_by(notifications::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let oldest_pending: Option<DateTime<Utc>> = notifications::Entity::find()
        .select_only()
        .column(notifications::Column::CreatedAt)
        .filter(notifications::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .order_by_asc(notifications::Column::CreatedAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(OutboxStats {
        by_status: rows
            .into_iter()
            .filter_map(|(status, count)| {
                Some((DeliveryStatus::parse(&status)?, u64::try_from(count).ok()?))
            })
            .collect(),
        oldest_pending,
    })
}

/// PLATFORM-WIDE (every organization): one sealed notification secret per key id, for the
/// start-up check that the key ring still opens what is stored. `provider` is the AAD scope
/// `notifications`.
pub async fn one_sealed_per_key(
    db: &impl ConnectionTrait,
) -> Result<Vec<crate::connections::SealedSample>, StoreError> {
    let rows = notification_settings::Entity::find().all(db).await?;
    let mut samples: Vec<crate::connections::SealedSample> = Vec::new();
    for row in rows {
        let sealed = [
            ("webhook_secret", row.webhook_secret),
            ("slack_webhook_url", row.slack_webhook_url),
        ];
        for (field, ciphertext) in sealed {
            let Some(ciphertext) = ciphertext else {
                continue;
            };
            let Some(key_id) = domain::crypto::key_id_of(&ciphertext).map(str::to_owned) else {
                continue;
            };
            if samples.iter().all(|s| s.key_id != key_id) {
                samples.push(crate::connections::SealedSample {
                    org_id: OrgId(row.org_id),
                    provider: "notifications".to_owned(),
                    field: field.to_owned(),
                    key_id,
                    ciphertext,
                });
            }
        }
    }
    Ok(samples)
}
