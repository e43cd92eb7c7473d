//! A refresh lease as the process holding it keeps it.
//!
//! The lease row (`persistence::leases`) says until when a replica may present a connection's
//! refresh token; another replica takes the connection over once that time has passed. A look
//! at the row is a database round trip: by the time its answer is used, the lease may have
//! lapsed (the process was paused, or other refreshes of its batch took their time). So the
//! holder keeps the deadline in memory and looks at it last, synchronously, right before the
//! token request leaves, and gives the request a timeout that ends before the lease does.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The end of a lease no token request reaches: room for two replicas' clocks to disagree a
/// little and for a request to travel to the provider.
pub const MARGIN: Duration = Duration::from_secs(1);

/// A token request is not started with less time than this left for it: it would end before
/// most providers answer, and an answer abandoned may still have rotated the refresh token.
pub const SHORTEST_REQUEST: Duration = Duration::from_millis(500);

/// When a lease ends for the process that holds it, on two clocks: the monotonic one, which no
/// change of the system time moves, and the wall clock the lease row was written with, which
/// goes on counting while the machine sleeps. Whichever says the lease ended first is right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    monotonic: Instant,
    wall: DateTime<Utc>,
}

impl Deadline {
    /// The deadline of a lease written as `now + lease`. `started` is read on the monotonic
    /// clock no later than `now`, so the lease ends here no later than it does in the row.
    pub fn new(started: Instant, now: DateTime<Utc>, lease: chrono::Duration) -> Deadline {
        let length = lease.to_std().unwrap_or_default();
        Deadline {
            monotonic: started.checked_add(length).unwrap_or(started),
            wall: now + lease,
        }
    }

    /// How long a token request may take so that it ends `MARGIN` before the lease, at most
    /// `limit` (the provider timeout); `None` when less than `SHORTEST_REQUEST` is left, or the
    /// lease has lapsed. It reads the clocks: ask it right before the request leaves.
    pub fn request_time(&self, limit: Duration) -> Option<Duration> {
        self.request_time_at(Instant::now(), Utc::now(), limit)
    }

    fn request_time_at(
        &self,
        monotonic_now: Instant,
        wall_now: DateTime<Utc>,
        limit: Duration,
    ) -> Option<Duration> {
        let by_monotonic = self.monotonic.saturating_duration_since(monotonic_now);
        let by_wall = (self.wall - wall_now).to_std().unwrap_or_default();
        let usable = by_monotonic.min(by_wall).checked_sub(MARGIN)?;
        (usable >= SHORTEST_REQUEST).then_some(usable.min(limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn lease(secs: i64) -> (Instant, DateTime<Utc>, Deadline) {
        let (started, now) = (Instant::now(), Utc::now());
        (
            started,
            now,
            Deadline::new(started, now, chrono::Duration::seconds(secs)),
        )
    }

    #[test]
    fn a_long_lease_leaves_the_provider_timeout_whole() {
        let (started, now, deadline) = lease(120);
        assert_eq!(
            deadline.request_time_at(started, now, TIMEOUT),
            Some(TIMEOUT)
        );
    }

    #[test]
    fn a_request_ends_a_margin_before_the_lease() {
        let (started, now, deadline) = lease(3);
        let later = Duration::from_millis(400);
        assert_eq!(
            deadline.request_time_at(
                started + later,
                now + chrono::Duration::from_std(later).unwrap(),
                TIMEOUT
            ),
            Some(Duration::from_secs(3) - later - MARGIN)
        );
    }

    #[test]
    fn no_request_starts_on_a_lease_nearly_used_up_or_lapsed() {
        let (started, now, deadline) = lease(3);
        for elapsed in [1_600, 3_000, 60_000] {
            let later = Duration::from_millis(elapsed);
            assert_eq!(
                deadline.request_time_at(
                    started + later,
                    now + chrono::Duration::from_std(later).unwrap(),
                    TIMEOUT
                ),
                None,
                "{elapsed} ms into a 3 s lease"
            );
        }
    }

    #[test]
    fn the_clock_that_says_the_lease_ended_first_is_believed() {
        let (started, now, deadline) = lease(120);
        // The machine slept: the monotonic clock stood still while the wall clock ran on.
        assert_eq!(
            deadline.request_time_at(started, now + chrono::Duration::seconds(200), TIMEOUT),
            None
        );
        // The system time was set back: the wall clock says there is time, the monotonic
        // clock knows better.
        assert_eq!(
            deadline.request_time_at(
                started + Duration::from_secs(200),
                now - chrono::Duration::seconds(60),
                TIMEOUT
            ),
            None
        );
    }
}
