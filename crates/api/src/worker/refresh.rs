//! The refresh sweep: claims connections whose token is due (by lease, across replicas) and
//! Shopify connections still on a non-expiring token (moved to expiring tokens once), renews
//! each with no transaction held across the provider call, and releases the lease
//! compare-and-set, with backoff after an outage. A token that expires while the provider is
//! down turns the connection `error` (renewals go on); a refusal turns it `expired`. Which
//! connections are looked at, and what a lapse does, are the lifecycle's rules.
//!
//! Every lease of a batch ends at the same moment, kept in memory on the monotonic clock
//! (`services::lease::Deadline`): a renewal whose turn comes too late in its lease is left to
//! the next sweep, and the token request of one that starts is sent only while its lease has
//! time left, with a timeout that ends before the lease does.

use std::time::Instant;

use chrono::Utc;
use domain::lifecycle::{Refresh, due};
use domain::model::Actor;
use domain::oauth::requests::exchanges_non_expiring_tokens;
use domain::schedule::{DAILY_REFRESH_ATTEMPTS, refresh_backoff};
use futures_util::StreamExt;
use persistence::connections;
use persistence::leases::{self, Lease, Released, Sweep};

use super::Worker;
use crate::services::lease::Deadline;
use crate::services::refresh::{lease_of, record_lapse, renew};

const BATCH: u64 = 200;
/// Refreshes run at once per replica.
const CONCURRENCY: usize = 8;

/// One sweep: claims and renews until nothing due is left; how many were claimed.
pub async fn sweep(worker: &Worker) -> anyhow::Result<usize> {
    let exchangeable: Vec<&str> = worker
        .state
        .registry
        .providers()
        .iter()
        .filter(|p| p.oauth().is_some_and(exchanges_non_expiring_tokens))
        .map(|p| p.id.as_str())
        .collect();
    let selection = due::refresh_sweep();
    let mut total = 0;
    loop {
        let (started, now) = (Instant::now(), Utc::now());
        let lease = lease_of(&worker.state);
        let claimed = leases::claim_due(
            &worker.state.db,
            Sweep {
                selection: &selection,
                owner: &worker.owner,
                now,
                lease,
                daily_cap: DAILY_REFRESH_ATTEMPTS,
                limit: BATCH,
                exchangeable: &exchangeable,
            },
        )
        .await?;
        let lag_ms = claimed
            .iter()
            .map(|l| (l.claimed_at - l.due_at).num_milliseconds().max(0))
            .max()
            .unwrap_or(0);
        let count = claimed.len();
        worker
            .metrics
            .sweep(count as u64, u64::try_from(lag_ms).unwrap_or(0));
        let deadline = Deadline::new(started, now, lease);
        futures_util::stream::iter(claimed)
            .for_each_concurrent(CONCURRENCY, |lease| async move {
                if let Err(err) = one(worker, &lease, deadline).await {
                    tracing::warn!(error = ?err, provider = %lease.provider, "a background refresh failed");
                }
            })
            .await;
        total += count;
        if (count as u64) < BATCH {
            return Ok(total);
        }
    }
}

async fn one(worker: &Worker, lease: &Lease, deadline: Deadline) -> anyhow::Result<()> {
    let state = &worker.state;
    let release = |how| {
        leases::release(
            &state.db,
            lease.org_id,
            lease.connection_id,
            &worker.owner,
            how,
        )
    };
    // A lease claimed in this batch may be used up by its turn (earlier ones took their time,
    // or this process was paused) and taken over: its refresh token may already be a newer one
    // that must not be presented twice. It is left to the next sweep (or its new holder);
    // `renew` looks again right before the request leaves.
    if deadline
        .request_time(state.settings.provider_timeout)
        .is_none()
    {
        tracing::info!(provider = %lease.provider, "the refresh lease ran short before its turn; left to the next sweep");
        release(Released::Unused).await?;
        return Ok(());
    }
    let Some(provider) = state.registry.get(&lease.provider) else {
        release(Released::Settled).await?;
        return Ok(());
    };
    let Some(existing) = connections::find(&state.db, lease.org_id, &provider.id).await? else {
        release(Released::Settled).await?;
        return Ok(());
    };
    let renewed = renew(
        state,
        lease.org_id,
        &Actor::System,
        provider,
        existing,
        deadline,
    )
    .await;
    let outcome = match renewed {
        Ok(Some((outcome, _))) => outcome,
        // Nothing was sent: `renew` found the lease too short right before the request.
        Ok(None) => {
            release(Released::Unused).await?;
            return Ok(());
        }
        Err(err) => {
            tracing::warn!(error = %err, provider = %provider.id, "a background refresh could not run");
            Refresh::Transient
        }
    };
    worker.metrics.refresh(&outcome);
    let how = if outcome == Refresh::Transient {
        let failures = leases::failures(&state.db, lease.org_id, lease.connection_id).await?;
        record_lapse(state, lease.org_id, provider)
            .await
            .map_err(|err| anyhow::anyhow!("recording a lapsed token failed: {err}"))?;
        Released::Retry {
            backoff: refresh_backoff(failures + 1, super::jitter()),
        }
    } else {
        Released::Settled
    };
    if !release(how).await? {
        tracing::info!(provider = %provider.id, "the refresh lease lapsed before it was released");
    }
    Ok(())
}
