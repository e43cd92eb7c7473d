//! Feature-flag choices. Only explicit choices are stored; a flag without one has its default.

use std::collections::BTreeMap;

use chrono::Utc;
use domain::{OrgId, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::StoreError;
use crate::entities::feature_flags;

/// The organization's choices, by flag key.
pub async fn choices(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<BTreeMap<String, bool>, StoreError> {
    Ok(feature_flags::Entity::find()
        .filter(feature_flags::Column::OrgId.eq(org_id.0))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.key, f.enabled))
        .collect())
}

/// Stores choices (replacing earlier ones for the same keys). `user` is `None` when Plugboard
/// itself decided (a disconnection turning dependent flags off).
pub async fn choose(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    choices: &BTreeMap<String, bool>,
    user: Option<UserId>,
) -> Result<(), StoreError> {
    if choices.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = choices
        .iter()
        .map(|(key, enabled)| feature_flags::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            org_id: Set(org_id.0),
            key: Set(key.clone()),
            enabled: Set(*enabled),
            updated_by: Set(user.map(|u| u.0)),
            updated_at: Set(now),
        });
    feature_flags::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([feature_flags::Column::OrgId, feature_flags::Column::Key])
                .update_columns([
                    feature_flags::Column::Enabled,
                    feature_flags::Column::UpdatedBy,
                    feature_flags::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
