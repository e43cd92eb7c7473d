//! Which connections background work is due for, and what a token lapsing during an outage
//! records. The store turns a selection into its query; the rules are here, beside the
//! statuses they read.

use chrono::{DateTime, Duration, Utc};

use super::Input;
use crate::model::{Connection, ConnectionStatus};

/// The connections one kind of background work looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub statuses: Vec<ConnectionStatus>,
    /// Switched-off connections are left alone.
    pub enabled_only: bool,
}

/// The refresh sweep renews switched-on connections that are connected, or failing: a token
/// that lapsed during an outage is how a connection comes to fail, and renewing it is how it
/// recovers. An expired grant needs a reconnect, which no renewal brings.
pub fn refresh_sweep() -> Selection {
    Selection {
        statuses: vec![ConnectionStatus::Connected, ConnectionStatus::Error],
        enabled_only: true,
    }
}

/// What a round of health checks asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChecks {
    pub selection: Selection,
    /// Neither health-checked nor tested since then: a connection tested (or connected)
    /// recently needs no check yet.
    pub untouched_since: DateTime<Utc>,
}

/// Health checks re-run the verify request of switched-on, connected connections at least
/// once `every`. One that needs attention waits for its renewal or a reconnect.
pub fn health_checks(now: DateTime<Utc>, every: Duration) -> HealthChecks {
    HealthChecks {
        selection: Selection {
            statuses: vec![ConnectionStatus::Connected],
            enabled_only: true,
        },
        untouched_since: now - every,
    }
}

/// After a renewal failed for an outage: a connected connection whose token is already past
/// its expiry now fails (`error`; renewals go on). `None` when there is nothing to record: the
/// token is still valid, or the connection already needs attention, is off or disconnected.
pub fn lapsed_during_outage(connection: &Connection, now: DateTime<Utc>) -> Option<Input> {
    let lapsed = connection.token_expires_at.is_some_and(|at| at <= now);
    (lapsed && connection.status == ConnectionStatus::Connected)
        .then_some(Input::TokenPastExpiry { renewable: true })
}
