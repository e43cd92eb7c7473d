//! The background worker, in the same binary as the API: token refresh before expiry, health
//! checks, notification delivery from the outbox, and applying provider webhooks from the
//! inbox. `plugboard serve` runs
//! it; `PLUGBOARD_WORKER=false` makes an API-only replica. Safe with several replicas on one
//! PostgreSQL: every piece of work is claimed before it is done.

pub mod delivery;
pub mod health;
pub mod metrics;
pub mod refresh;

use std::sync::Arc;

use actix_web::web;

use crate::state::AppState;
use metrics::Metrics;

/// A number in `[0, 1)` that spreads retries out (jitter).
pub fn jitter() -> f64 {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = [0u8; 4];
    // Without a random source the jitter is merely zero.
    let _ = SystemRandom::new().fill(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

/// What every loop of the worker shares.
pub struct Worker {
    pub state: web::Data<AppState>,
    pub metrics: Arc<Metrics>,
    /// This process's id on the claims and leases it takes.
    pub owner: String,
}

impl Worker {
    pub fn new(state: web::Data<AppState>, metrics: Arc<Metrics>) -> Worker {
        let owner = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        Worker {
            state,
            metrics,
            owner,
        }
    }

    /// Starts the loops on the current runtime; they run until the process ends.
    pub fn spawn(self) {
        let worker = Arc::new(self);
        tracing::info!(owner = %worker.owner, "background worker started");
        let settings = &worker.state.settings;
        if settings.background.refresh_lease
            <= settings.provider_timeout + crate::services::lease::MARGIN
        {
            tracing::warn!(
                lease_secs = settings.background.refresh_lease.as_secs(),
                timeout_secs = settings.provider_timeout.as_secs(),
                "PLUGBOARD_REFRESH_LEASE_SECS leaves a token request less than the provider timeout: requests are cut short to end a second before their lease, and a slow provider's answers may be given up"
            );
        }
        let delivery = worker.clone();
        tokio::spawn(async move {
            let every = delivery.state.settings.background.delivery_interval;
            loop {
                match delivery::run_once(&delivery).await {
                    // A full batch: look again at once.
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = ?err, "notification delivery round failed"),
                }
                tokio::time::sleep(every).await;
            }
        });
        let inbox = worker.clone();
        tokio::spawn(async move {
            let every = inbox.state.settings.background.delivery_interval;
            loop {
                match crate::services::inbound::apply_pending(&inbox.state, &inbox.owner, 20).await
                {
                    // A full batch: look again at once.
                    Ok(n) if n >= 20 => continue,
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = ?err, "applying provider webhooks failed"),
                }
                tokio::time::sleep(every).await;
            }
        });
        let sweeper = worker.clone();
        tokio::spawn(async move {
            let every = sweeper.state.settings.background.refresh_interval;
            loop {
                if let Err(err) = refresh::sweep(&sweeper).await {
                    tracing::warn!(error = ?err, "refresh sweep failed");
                }
                if let Err(err) = health::run_once(&sweeper).await {
                    tracing::warn!(error = ?err, "health-check round failed");
                }
                // Applied provider webhooks deduplicate nothing once providers stop retrying.
                if let Err(err) = persistence::inbound::forget_applied_before(
                    &sweeper.state.db,
                    chrono::Utc::now() - chrono::Duration::days(30),
                )
                .await
                {
                    tracing::warn!(error = ?err, "forgetting old provider webhooks failed");
                }
                // Answers kept for Idempotency-Key retries last a day.
                if let Err(err) = persistence::idempotency::platform_forget_expired(
                    &sweeper.state.db,
                    chrono::Utc::now(),
                )
                .await
                {
                    tracing::warn!(error = ?err, "forgetting expired idempotency keys failed");
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}
