//! Waiting instead of failing: when a caller asked for retries, a provider's 429 or 503 is
//! tried again after the wait its `Retry-After` names (seconds or an HTTP date), never sooner
//! than an exponential backoff with jitter, and never past 30 seconds of waiting in all.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The most retries a caller may ask for (`Plugboard-Retries`).
pub const MAX_RETRIES: u8 = 5;
/// All the waiting one call may do; past it the provider's own answer goes back.
pub const WAIT_CAP: Duration = Duration::from_secs(30);
/// The first backoff; each later one doubles.
const BACKOFF_BASE: Duration = Duration::from_millis(500);

/// Whether a method may be sent again without the caller's say-so (idempotent), or only with
/// an `Idempotency-Key` that makes a repeat harmless.
pub fn may_retry(method: &str, has_idempotency_key: bool) -> bool {
    has_idempotency_key || matches!(method, "GET" | "HEAD" | "PUT" | "DELETE")
}

/// `Retry-After` as a wait from `now`: delay-seconds or an HTTP date (a date past is no wait).
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// How long to wait before retry number `attempt` (0 for the first), or `None` when the
/// answer is not worth retrying or the wait would pass the cap. `jitter` in [0, 1) spreads
/// callers that were refused together.
pub fn wait_before_retry(
    status: u16,
    retry_after: Option<Duration>,
    attempt: u8,
    waited: Duration,
    jitter: f64,
) -> Option<Duration> {
    if !matches!(status, 429 | 503) {
        return None;
    }
    let backoff = BACKOFF_BASE.saturating_mul(1u32 << attempt.min(16));
    let backoff = backoff.mul_f64(1.0 + jitter.clamp(0.0, 1.0) * 0.5);
    let wait = retry_after.map_or(backoff, |asked| {
        asked.max(backoff.min(asked + BACKOFF_BASE))
    });
    (waited + wait <= WAIT_CAP).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc2822("Sun, 06 Dec 2026 10:00:00 GMT")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(" 12 ", now), Some(Duration::from_secs(12)));
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 10:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 09:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn waits_follow_retry_after_back_off_and_stop_at_the_cap() {
        let secs = Duration::from_secs;
        // (status, Retry-After, attempt, waited so far, jitter) → wait
        type Row = (u16, Option<Duration>, u8, Duration, f64, Option<Duration>);
        let table: &[Row] = &[
            (200, None, 0, secs(0), 0.0, None),
            (500, Some(secs(1)), 0, secs(0), 0.0, None),
            (429, Some(secs(1)), 0, secs(0), 0.0, Some(secs(1))),
            (503, Some(secs(2)), 0, secs(0), 0.0, Some(secs(2))),
            // No Retry-After: 0.5 s, 1 s, 2 s… with up to half again of jitter.
            (429, None, 0, secs(0), 0.0, Some(Duration::from_millis(500))),
            (429, None, 2, secs(0), 0.0, Some(secs(2))),
            (
                429,
                None,
                1,
                secs(0),
                0.5,
                Some(Duration::from_millis(1250)),
            ),
            // A backoff larger than Retry-After adds at most half a second to it.
            (
                429,
                Some(secs(1)),
                3,
                secs(0),
                0.0,
                Some(Duration::from_millis(1500)),
            ),
            // The cap: 30 s of waiting in all.
            (429, Some(secs(31)), 0, secs(0), 0.0, None),
            (429, Some(secs(10)), 1, secs(20), 0.0, Some(secs(10))),
            (429, Some(secs(10)), 2, secs(21), 0.0, None),
        ];
        for (status, asked, attempt, waited, jitter, expected) in table {
            assert_eq!(
                wait_before_retry(*status, *asked, *attempt, *waited, *jitter),
                *expected,
                "{status} {asked:?} attempt {attempt} after {waited:?}"
            );
        }
    }

    #[test]
    fn only_idempotent_methods_or_keyed_requests_are_retried() {
        for method in ["GET", "HEAD", "PUT", "DELETE"] {
            assert!(may_retry(method, false));
        }
        assert!(!may_retry("POST", false));
        assert!(!may_retry("PATCH", false));
        assert!(may_retry("POST", true));
        assert!(may_retry("PATCH", true));
    }
}
