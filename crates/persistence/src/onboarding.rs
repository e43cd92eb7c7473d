//! Onboarding progress: one row per (organization, step) once the step has been touched.

use chrono::Utc;
use domain::onboarding::{Step, StepRecord, StepStatus};
use domain::{OrgId, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::StoreError;
use crate::entities::onboarding_steps;

fn to_record(model: onboarding_steps::Model) -> Result<StepRecord, StoreError> {
    let step = Step::parse(&model.step)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown onboarding step `{}`", model.step)))?;
    let status = StepStatus::parse(&model.status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown step status `{}`", model.status)))?;
    Ok(StepRecord {
        step,
        status,
        data: model.data,
        completed_at: model.completed_at,
        updated_at: model.updated_at,
    })
}

/// The steps the organization has touched, in no particular order.
pub async fn steps(
    db: &impl ConnectionTrait,
    org_id: OrgId,
) -> Result<Vec<StepRecord>, StoreError> {
    onboarding_steps::Entity::find()
        .filter(onboarding_steps::Column::OrgId.eq(org_id.0))
        .all(db)
        .await?
        .into_iter()
        .map(to_record)
        .collect()
}

/// A step's new state.
pub struct StepWrite {
    pub step: Step,
    pub status: StepStatus,
    /// `None` keeps what the step saved before (skipping loses nothing).
    pub data: Option<serde_json::Value>,
    pub user: Option<UserId>,
}

/// Records a step's state. The first completion time is kept across later completions.
pub async fn save_step(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    write: StepWrite,
) -> Result<(), StoreError> {
    let existing = onboarding_steps::Entity::find()
        .filter(onboarding_steps::Column::OrgId.eq(org_id.0))
        .filter(onboarding_steps::Column::Step.eq(write.step.as_str()))
        .one(db)
        .await?;
    let now = Utc::now();
    let completed_now = (write.status == StepStatus::Completed).then_some(now);
    let (data, completed_at) = match existing {
        Some(row) => (
            write.data.unwrap_or(row.data),
            row.completed_at.or(completed_now),
        ),
        None => (write.data.unwrap_or(serde_json::Value::Null), completed_now),
    };
    let row = onboarding_steps::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        org_id: Set(org_id.0),
        step: Set(write.step.as_str().to_owned()),
        status: Set(write.status.as_str().to_owned()),
        data: Set(data),
        completed_at: Set(completed_at),
        updated_by: Set(write.user.map(|u| u.0)),
        updated_at: Set(now),
    };
    onboarding_steps::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                onboarding_steps::Column::OrgId,
                onboarding_steps::Column::Step,
            ])
            .update_columns([
                onboarding_steps::Column::Status,
                onboarding_steps::Column::Data,
                onboarding_steps::Column::CompletedAt,
                onboarding_steps::Column::UpdatedBy,
                onboarding_steps::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
