//! Health checks: every connected connection's verify request re-run at least once per
//! `PLUGBOARD_HEALTH_CHECK_INTERVAL_SECS` (a day by default), claimed so that two replicas
//! never check the same connection in one round.

use chrono::{Duration, Utc};
use domain::lifecycle::{self, CheckKind};
use domain::model::Actor;
use persistence::connections;
use persistence::leases;

use super::Worker;
use crate::services::integrations::check_stored;
use crate::services::lifecycle::{Secrets, store};

const BATCH: u64 = 50;

/// Checks what is due; how many were checked.
pub async fn run_once(worker: &Worker) -> anyhow::Result<usize> {
    let state = &worker.state;
    let every = Duration::from_std(state.settings.background.health_check_every)?;
    let now = Utc::now();
    let wanted = lifecycle::due::health_checks(now, every);
    let due = leases::claim_health_checks(&state.db, now, &wanted, BATCH).await?;
    for item in &due {
        let Some(provider) = state.registry.get(&item.provider) else {
            continue;
        };
        let existing = connections::find(&state.db, item.org_id, &provider.id).await?;
        let checked = match check_stored(
            state,
            provider,
            existing,
            CheckKind::HealthCheck,
            Utc::now(),
        )
        .await
        {
            Ok((decision, check)) => {
                let ok = matches!(check, domain::lifecycle::Check::Verified { .. });
                store(
                    state,
                    item.org_id,
                    &Actor::System,
                    provider,
                    decision,
                    Secrets::none(),
                )
                .await
                .map(|_| ok)
            }
            Err(err) => Err(err),
        };
        match checked {
            Ok(ok) => worker.metrics.health_check(ok),
            Err(err) => {
                worker.metrics.health_check(false);
                tracing::info!(error = %err, provider = %provider.id, "a health check could not run");
            }
        }
    }
    Ok(due.len())
}
