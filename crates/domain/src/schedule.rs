//! When background work happens: the Standard Webhooks retry schedule for notifications, when
//! a token is due for refresh, and the backoff after a provider outage. Pure functions of the
//! time; randomness (jitter) comes in as a number in `[0, 1)` so tests can pin it.

use chrono::{DateTime, Duration, Utc};

/// The delay before each delivery attempt: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
/// 20 h, 24 h. After the last one fails the notification is given up.
pub const DELIVERY_SCHEDULE_SECS: [i64; 10] = [
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

/// At most this share of a delay is added as jitter, so retries from many senders spread out.
const JITTER_SHARE: f64 = 0.1;
/// A `Retry-After` longer than this is not waited for (the schedule's longest step).
const MAX_RETRY_AFTER_SECS: i64 = 24 * 3600;

fn jittered(secs: i64, jitter: f64) -> Duration {
    let extra = (secs as f64 * JITTER_SHARE * jitter.clamp(0.0, 1.0)) as i64;
    Duration::seconds(secs + extra)
}

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A 2xx answer.
    Delivered,
    /// 410 Gone: the receiver asks never to be sent to again.
    Gone,
    /// Anything else: an error status (with `Retry-After` in seconds on 429/503, when sent),
    /// a timeout or a refused connection.
    Failed { retry_after_secs: Option<i64> },
}

/// What becomes of a notification after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    /// The endpoint is turned off; so is this notification.
    Disabled,
    Retry {
        at: DateTime<Utc>,
    },
    /// Every step of the schedule was used.
    GaveUp,
}

/// Sorts an HTTP answer into a `Delivery`.
pub fn classify_status(status: u16, retry_after_secs: Option<i64>) -> Delivery {
    match status {
        200..=299 => Delivery::Delivered,
        410 => Delivery::Gone,
        429 | 503 => Delivery::Failed { retry_after_secs },
        _ => Delivery::Failed {
            retry_after_secs: None,
        },
    }
}

/// Decides what follows attempt number `attempts_made` (1 for the first) of a notification.
pub fn after_attempt(
    outcome: Delivery,
    attempts_made: u32,
    now: DateTime<Utc>,
    jitter: f64,
) -> AfterAttempt {
    match outcome {
        Delivery::Delivered => AfterAttempt::Delivered,
        Delivery::Gone => AfterAttempt::Disabled,
        Delivery::Failed { retry_after_secs } => {
            let Some(&step) = DELIVERY_SCHEDULE_SECS.get(attempts_made as usize) else {
                return AfterAttempt::GaveUp;
            };
            let delay = match retry_after_secs {
                // The receiver said when: no sooner than that, and never past a day.
                Some(asked) => Duration::seconds(asked.clamp(0, MAX_RETRY_AFTER_SECS))
                    .max(jittered(step, jitter)),
                None => jittered(step, jitter),
            };
            AfterAttempt::Retry { at: now + delay }
        }
    }
}

/// Parses `Retry-After` given in seconds or as an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<i64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<i64>() {
        return Some(secs.max(0));
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|at| (at.with_timezone(&Utc) - now).num_seconds().max(0))
}

/// A token whose lifetime is at least this long is renewed a day ahead.
const LONG_LIVED: Duration = Duration::days(2);
const LONG_LIVED_WINDOW: Duration = Duration::hours(24);
const MIN_WINDOW: Duration = Duration::minutes(5);

/// How long before expiry a token is renewed: a day ahead for long-lived tokens; for short-lived
/// ones the larger of 10 % of the lifetime and 5 minutes, but never more than half the
/// lifetime, so a renewal always lands before the token expires (a 20-second token is renewed
/// with 10 seconds left).
pub fn refresh_window(lifetime: Duration) -> Duration {
    if lifetime >= LONG_LIVED {
        return LONG_LIVED_WINDOW;
    }
    let tenth = lifetime / 10;
    tenth.max(MIN_WINDOW).min(lifetime / 2)
}

/// When a token issued at `issued_at` and expiring at `expires_at` is due for renewal.
pub fn refresh_due_at(issued_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> DateTime<Utc> {
    let lifetime = (expires_at - issued_at).max(Duration::zero());
    expires_at - refresh_window(lifetime)
}

/// Backoff after consecutive failed refreshes (outages): 30 s doubling to at most an hour,
/// plus up to 10 % jitter.
pub fn refresh_backoff(failures: u32, jitter: f64) -> Duration {
    const BASE_SECS: i64 = 30;
    const CAP_SECS: i64 = 3600;
    let exponent = failures.saturating_sub(1).min(16);
    let secs = BASE_SECS.saturating_mul(1 << exponent).min(CAP_SECS);
    jittered(secs, jitter)
}

/// Attempts one connection may make in a UTC day before the worker stops until the next day.
pub const DAILY_REFRESH_ATTEMPTS: u32 = 48;

/// Whether another attempt is allowed today, given what was counted and for which day.
pub fn within_daily_cap(
    counted_day: Option<&str>,
    attempts_today: u32,
    now: DateTime<Utc>,
    cap: u32,
) -> bool {
    counted_day != Some(day_of(now).as_str()) || attempts_today < cap
}

/// The UTC day a time falls on, as `YYYY-MM-DD`.
pub fn day_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn delivery_follows_the_standard_webhooks_schedule() {
        let now = at(0);
        let failed = Delivery::Failed {
            retry_after_secs: None,
        };
        let delays: Vec<i64> = (1..=9)
            .map(|n| match after_attempt(failed, n, now, 0.0) {
                AfterAttempt::Retry { at } => (at - now).num_seconds(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            delays,
            [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
        );
        assert_eq!(after_attempt(failed, 10, now, 0.0), AfterAttempt::GaveUp);
    }

    #[test]
    fn jitter_adds_at_most_a_tenth() {
        let now = at(0);
        let failed = Delivery::Failed {
            retry_after_secs: None,
        };
        let AfterAttempt::Retry { at: late } = after_attempt(failed, 3, now, 0.999) else {
            panic!()
        };
        let secs = (late - now).num_seconds();
        assert!((1800..=1980).contains(&secs), "{secs}");
    }

    #[test]
    fn success_gone_and_retry_after() {
        let now = at(0);
        assert_eq!(classify_status(204, None), Delivery::Delivered);
        assert_eq!(
            after_attempt(classify_status(410, None), 1, now, 0.5),
            AfterAttempt::Disabled
        );
        let limited = classify_status(429, Some(120));
        assert_eq!(
            after_attempt(limited, 1, now, 0.0),
            AfterAttempt::Retry { at: at(120) }
        );
        // A Retry-After shorter than the schedule does not make the retry sooner.
        assert_eq!(
            after_attempt(classify_status(429, Some(1)), 2, now, 0.0),
            AfterAttempt::Retry { at: at(300) }
        );
        // A 500's Retry-After is not a rate limit and is ignored.
        assert_eq!(
            classify_status(500, Some(100)),
            Delivery::Failed {
                retry_after_secs: None
            }
        );
        assert_eq!(parse_retry_after(" 30 ", now), Some(30));
        assert_eq!(parse_retry_after(&at(90).to_rfc2822(), now), Some(90));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn refresh_windows_land_before_expiry() {
        assert_eq!(refresh_window(Duration::days(60)), Duration::hours(24));
        assert_eq!(refresh_window(Duration::minutes(60)), Duration::minutes(6));
        assert_eq!(refresh_window(Duration::hours(10)), Duration::hours(1));
        assert_eq!(refresh_window(Duration::minutes(20)), Duration::minutes(5));
        assert_eq!(refresh_window(Duration::seconds(20)), Duration::seconds(10));
        for secs in [1, 20, 59, 600, 3599, 86_400, 172_800, 5_184_000] {
            let lifetime = Duration::seconds(secs);
            let window = refresh_window(lifetime);
            assert!(window > Duration::zero() && window < lifetime, "{secs}");
        }
        assert_eq!(refresh_due_at(at(0), at(3600)), at(3600 - 360));
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_the_daily_cap_resets() {
        assert_eq!(refresh_backoff(1, 0.0), Duration::seconds(30));
        assert_eq!(refresh_backoff(2, 0.0), Duration::seconds(60));
        assert_eq!(refresh_backoff(5, 0.0), Duration::seconds(480));
        assert_eq!(refresh_backoff(40, 0.0), Duration::seconds(3600));
        assert!(refresh_backoff(3, 0.99) <= Duration::seconds(132));
        let now = at(0);
        let today = day_of(now);
        assert!(within_daily_cap(None, 0, now, 2));
        assert!(within_daily_cap(Some(&today), 1, now, 2));
        assert!(!within_daily_cap(Some(&today), 2, now, 2));
        assert!(within_daily_cap(Some("2000-01-01"), 99, now, 2));
    }
}
