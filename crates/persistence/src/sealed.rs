//! PLATFORM-WIDE (every organization): every value sealed with the key ring, for the operator's
//! key rotation (`plugboard rotate-keys`, `plugboard check-keys`). Three places hold sealed
//! values: connection secrets, an organization's notification secrets and the kept answers of
//! idempotency keys. Nothing here opens a value; the caller does, with the key ring.

use std::collections::BTreeMap;

use domain::OrgId;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::StoreError;
use crate::entities::{connection_secrets, connections, idempotency_keys, notification_settings};

/// Where a sealed value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    ConnectionSecret,
    NotificationWebhookSecret,
    NotificationSlackUrl,
    IdempotentAnswer,
}

impl Place {
    pub const ALL: [Place; 4] = [
        Place::ConnectionSecret,
        Place::NotificationWebhookSecret,
        Place::NotificationSlackUrl,
        Place::IdempotentAnswer,
    ];

    /// How an operator reads it.
    pub fn label(self) -> &'static str {
        match self {
            Place::ConnectionSecret => "connection secrets",
            Place::NotificationWebhookSecret => "notification webhook secrets",
            Place::NotificationSlackUrl => "notification Slack URLs",
            Place::IdempotentAnswer => "kept idempotent answers",
        }
    }
}

/// One sealed value with what its additional authenticated data is made of.
#[derive(Clone, Debug)]
pub struct Sealed {
    pub place: Place,
    /// The row: the secret's id, the organization's id for notification settings, the
    /// idempotency key's id.
    pub row_id: Uuid,
    pub org_id: OrgId,
    /// The AAD's provider part: the connection's provider, `notifications`, `idempotency`.
    pub scope: String,
    /// The AAD's field part.
    pub field: String,
    pub ciphertext: String,
}

/// The key id prefix every ciphertext sealed with `key_id` starts with (`v1.<kid>.`).
fn prefix(key_id: &str) -> String {
    format!("v1.{key_id}.%")
}

/// Up to `limit` values of one place not sealed with `active`, in row id order after `after`.
/// What is re-sealed drops out, so a rotation stopped half-way picks up where it was.
pub async fn not_under(
    db: &impl ConnectionTrait,
    place: Place,
    active: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Sealed>, StoreError> {
    let after = after.unwrap_or(Uuid::nil());
    Ok(match place {
        Place::ConnectionSecret => connection_secrets::Entity::find()
            .filter(connection_secrets::Column::KeyId.ne(active))
            .filter(connection_secrets::Column::Id.gt(after))
            .find_also_related(connections::Entity)
            .order_by_asc(connection_secrets::Column::Id)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .filter_map(|(secret, connection)| {
                Some(Sealed {
                    place,
                    row_id: secret.id,
                    org_id: OrgId(secret.org_id),
                    scope: connection?.provider,
                    field: secret.field,
                    ciphertext: secret.ciphertext,
                })
            })
            .collect(),
        Place::NotificationWebhookSecret | Place::NotificationSlackUrl => {
            let (column, field) = notification_column(place);
            notification_settings::Entity::find()
                .filter(column.is_not_null())
                .filter(column.not_like(prefix(active)))
                .filter(notification_settings::Column::OrgId.gt(after))
                .order_by_asc(notification_settings::Column::OrgId)
                .limit(limit)
                .all(db)
                .await?
                .into_iter()
                .filter_map(|row| {
                    let ciphertext = match place {
                        Place::NotificationWebhookSecret => row.webhook_secret,
                        _ => row.slack_webhook_url,
                    }?;
                    Some(Sealed {
                        place,
                        row_id: row.org_id,
                        org_id: OrgId(row.org_id),
                        scope: "notifications".to_owned(),
                        field: field.to_owned(),
                        ciphertext,
                    })
                })
                .collect()
        }
        Place::IdempotentAnswer => idempotency_keys::Entity::find()
            .filter(idempotency_keys::Column::KeyId.is_not_null())
            .filter(idempotency_keys::Column::KeyId.ne(active))
            .filter(idempotency_keys::Column::Id.gt(after))
            .order_by_asc(idempotency_keys::Column::Id)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .filter_map(|row| {
                Some(Sealed {
                    place,
                    row_id: row.id,
                    org_id: OrgId(row.org_id),
                    scope: "idempotency".to_owned(),
                    field: row.key,
                    ciphertext: row.body?,
                })
            })
            .collect(),
    })
}

fn notification_column(place: Place) -> (notification_settings::Column, &'static str) {
    match place {
        Place::NotificationSlackUrl => (
            notification_settings::Column::SlackWebhookUrl,
            "slack_webhook_url",
        ),
        _ => (
            notification_settings::Column::WebhookSecret,
            "webhook_secret",
        ),
    }
}

/// Replaces one value with its re-sealed twin, only if the row still holds the ciphertext that
/// was read: a server that wrote a new value meanwhile (sealed with the active key) keeps it.
/// Whether it was replaced.
pub async fn reseal(
    db: &impl ConnectionTrait,
    sealed: &Sealed,
    ciphertext: &str,
    key_id: &str,
) -> Result<bool, StoreError> {
    let result = match sealed.place {
        Place::ConnectionSecret => {
            connection_secrets::Entity::update_many()
                .col_expr(
                    connection_secrets::Column::Ciphertext,
                    Expr::value(ciphertext),
                )
                .col_expr(connection_secrets::Column::KeyId, Expr::value(key_id))
                .filter(connection_secrets::Column::Id.eq(sealed.row_id))
                .filter(connection_secrets::Column::Ciphertext.eq(sealed.ciphertext.as_str()))
                .exec(db)
                .await?
        }
        Place::NotificationWebhookSecret | Place::NotificationSlackUrl => {
            let (column, _) = notification_column(sealed.place);
            notification_settings::Entity::update_many()
                .col_expr(column, Expr::value(ciphertext))
                .filter(notification_settings::Column::OrgId.eq(sealed.row_id))
                .filter(column.eq(sealed.ciphertext.as_str()))
                .exec(db)
                .await?
        }
        Place::IdempotentAnswer => {
            idempotency_keys::Entity::update_many()
                .col_expr(idempotency_keys::Column::Body, Expr::value(ciphertext))
                .col_expr(idempotency_keys::Column::KeyId, Expr::value(key_id))
                .filter(idempotency_keys::Column::Id.eq(sealed.row_id))
                .filter(idempotency_keys::Column::Body.eq(sealed.ciphertext.as_str()))
                .exec(db)
                .await?
        }
    };
    Ok(result.rows_affected == 1)
}

/// How many values each key id seals, by place.
pub async fn key_usage(
    db: &impl ConnectionTrait,
) -> Result<BTreeMap<(String, Place), u64>, StoreError> {
    let mut usage = BTreeMap::new();
    let secrets: Vec<(String, i64)> = connection_secrets::Entity::find()
        .select_only()
        .column(connection_secrets::Column::KeyId)
        .column_as(connection_secrets::Column::Id.count(), "count")
        .group_by(connection_secrets::Column::KeyId)
        .into_tuple()
        .all(db)
        .await?;
    for (key_id, count) in secrets {
        usage.insert((key_id, Place::ConnectionSecret), count as u64);
    }
    let answers: Vec<(Option<String>, i64)> = idempotency_keys::Entity::find()
        .select_only()
        .column(idempotency_keys::Column::KeyId)
        .column_as(idempotency_keys::Column::Id.count(), "count")
        .filter(idempotency_keys::Column::KeyId.is_not_null())
        .group_by(idempotency_keys::Column::KeyId)
        .into_tuple()
        .all(db)
        .await?;
    for (key_id, count) in answers {
        if let Some(key_id) = key_id {
            usage.insert((key_id, Place::IdempotentAnswer), count as u64);
        }
    }
    // Notification secrets carry their key id inside the ciphertext only; one row per
    // organization, read in pages.
    for place in [
        Place::NotificationWebhookSecret,
        Place::NotificationSlackUrl,
    ] {
        let (column, _) = notification_column(place);
        let mut pages = notification_settings::Entity::find()
            .select_only()
            .column_as(
                Expr::from(Func::cust("substr").arg(Expr::col(column)).arg(1).arg(80)),
                "head",
            )
            .filter(column.is_not_null())
            .order_by_asc(notification_settings::Column::OrgId)
            .into_tuple::<String>()
            .paginate(db, 1000);
        while let Some(heads) = pages.fetch_and_next().await? {
            for head in heads {
                if let Some(key_id) = domain::crypto::key_id_of(&head) {
                    *usage.entry((key_id.to_owned(), place)).or_insert(0) += 1;
                }
            }
        }
    }
    Ok(usage)
}
