//! The worker's counters, shown on `/metrics` in the Prometheus text format together with
//! figures read from the database at scrape time (outbox depth, live leases).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use domain::lifecycle::Refresh;
use domain::notifications::{Channel, DeliveryStatus};
use persistence::{Db, StoreError};

/// The `class` label of each refresh counter, in the counters' order.
const REFRESH_CLASSES: [&str; 4] = ["renewed", "refused", "unavailable", "lost_race"];

/// Which counter a refresh's end adds to: a revocation is `refused` (the brand must
/// reconnect), an outage `unavailable` (tried again later).
fn refresh_index(refresh: &Refresh) -> usize {
    match refresh {
        Refresh::Renewed { .. } | Refresh::Exchanged { .. } => 0,
        Refresh::Revoked => 1,
        Refresh::Transient => 2,
        Refresh::LostRace => 3,
    }
}

#[derive(Default)]
pub struct Metrics {
    refreshes: [AtomicU64; 4],
    health_ok: AtomicU64,
    health_failed: AtomicU64,
    sent: [AtomicU64; 4],
    failed: [AtomicU64; 4],
    lease_claims: AtomicU64,
    /// How late the last sweep's latest claim started after its token was due, in ms.
    lease_lag_ms: AtomicU64,
    sweeps: AtomicU64,
}

fn channel_index(channel: Channel) -> usize {
    match channel {
        Channel::Webhook => 0,
        Channel::Slack => 1,
        Channel::Email => 2,
        Channel::SlackApp => 3,
    }
}

impl Metrics {
    pub fn refresh(&self, refresh: &Refresh) {
        self.refreshes[refresh_index(refresh)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn health_check(&self, ok: bool) {
        let counter = if ok {
            &self.health_ok
        } else {
            &self.health_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delivery(&self, channel: Channel, ok: bool) {
        let counters = if ok { &self.sent } else { &self.failed };
        counters[channel_index(channel)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn sweep(&self, claims: u64, lag_ms: u64) {
        self.sweeps.fetch_add(1, Ordering::Relaxed);
        self.lease_claims.fetch_add(claims, Ordering::Relaxed);
        self.lease_lag_ms.store(lag_ms, Ordering::Relaxed);
    }

    /// The whole exposition, with the database's figures read now.
    pub async fn render(&self, db: &Db) -> Result<String, StoreError> {
        let now = Utc::now();
        let outbox = persistence::notifications::platform_outbox_stats(db).await?;
        let live_leases = persistence::leases::platform_live_leases(db, now).await?;
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, samples: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        family(
            "plugboard_refreshes_total",
            "counter",
            "Token refreshes by how they ended.",
            REFRESH_CLASSES
                .iter()
                .zip(&self.refreshes)
                .map(|(class, count)| (format!("{{class=\"{class}\"}}"), load(count)))
                .collect(),
        );
        family(
            "plugboard_health_checks_total",
            "counter",
            "Background health checks (verify re-run) by result.",
            vec![
                ("{result=\"ok\"}".into(), load(&self.health_ok)),
                ("{result=\"failed\"}".into(), load(&self.health_failed)),
            ],
        );
        let per_channel = |counters: &[AtomicU64; 4]| {
            Channel::ALL
                .iter()
                .map(|c| {
                    (
                        format!("{{channel=\"{}\"}}", c.as_str()),
                        load(&counters[channel_index(*c)]),
                    )
                })
                .collect::<Vec<_>>()
        };
        family(
            "plugboard_notifications_sent_total",
            "counter",
            "Notification deliveries that succeeded, by channel.",
            per_channel(&self.sent),
        );
        family(
            "plugboard_notifications_failed_total",
            "counter",
            "Notification delivery attempts that failed, by channel.",
            per_channel(&self.failed),
        );
        let count_of = |status: DeliveryStatus| {
            outbox
                .by_status
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n)
        };
        family(
            "plugboard_notifications",
            "gauge",
            "Notifications in the outbox by status.",
            DeliveryStatus::ALL
                .iter()
                .map(|s| {
                    (
                        format!("{{status=\"{}\"}}", s.as_str()),
                        count_of(*s).to_string(),
                    )
                })
                .collect(),
        );
        family(
            "plugboard_outbox_depth",
            "gauge",
            "Notifications waiting to be delivered.",
            vec![(String::new(), count_of(DeliveryStatus::Pending).to_string())],
        );
        let oldest = outbox.oldest_pending.map_or(0.0, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        family(
            "plugboard_outbox_oldest_age_seconds",
            "gauge",
            "Age of the oldest notification waiting to be delivered.",
            vec![(String::new(), oldest.to_string())],
        );
        family(
            "plugboard_lease_claims_total",
            "counter",
            "Refresh leases this process claimed.",
            vec![(String::new(), load(&self.lease_claims))],
        );
        family(
            "plugboard_lease_lag_seconds",
            "gauge",
            "How late, in the last sweep, a refresh started after its token was due.",
            vec![(
                String::new(),
                (self.lease_lag_ms.load(Ordering::Relaxed) as f64 / 1000.0).to_string(),
            )],
        );
        family(
            "plugboard_leases_live",
            "gauge",
            "Refresh leases held right now, across replicas.",
            vec![(String::new(), live_leases.to_string())],
        );
        family(
            "plugboard_refresh_sweeps_total",
            "counter",
            "Refresh sweeps this process ran.",
            vec![(String::new(), load(&self.sweeps))],
        );
        Ok(out)
    }
}
