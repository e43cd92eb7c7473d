//! A refresh lease as the process holding it keeps it.
//!
//! The lease row (`persistence::leases`) says until when a replica may present a connection's
//! refresh token; another replica takes the connection over once that time has passed. A look
//! at the row is a database round trip: by the time its answer is used, the lease may have
//! lapsed (the process was paused, or other refreshes of its batch took their time). So the
//! holder keeps the deadline in memory and reads it twice more, without a round trip: right
//! before it hands the token request to the HTTP client (which gets a timeout that ends before
//! the lease does), and as the client writes the request's body, where the refresh token is.
//! A request the client had not written yet when the process was paused is thereby refused
//! when it resumes, and nothing leaves.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body::{Frame, SizeHint};

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

    /// Whether a request's bytes may still leave: more than `MARGIN` of the lease is left.
    pub fn may_send(&self) -> bool {
        self.left_at(Instant::now(), Utc::now()) > MARGIN
    }

    fn left_at(&self, monotonic_now: Instant, wall_now: DateTime<Utc>) -> Duration {
        let by_monotonic = self.monotonic.saturating_duration_since(monotonic_now);
        let by_wall = (self.wall - wall_now).to_std().unwrap_or_default();
        by_monotonic.min(by_wall)
    }

    fn request_time_at(
        &self,
        monotonic_now: Instant,
        wall_now: DateTime<Utc>,
        limit: Duration,
    ) -> Option<Duration> {
        let usable = self.left_at(monotonic_now, wall_now).checked_sub(MARGIN)?;
        (usable >= SHORTEST_REQUEST).then_some(usable.min(limit))
    }
}

/// Whether a guarded request's body was handed to the connection to be written. Until it is,
/// nothing of the body (the refresh token) has left the process.
#[derive(Clone, Debug, Default)]
pub struct Written(Arc<AtomicBool>);

impl Written {
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The lease lapsed before the request's body was written; nothing of it was.
#[derive(Debug, thiserror::Error)]
#[error("the refresh lease lapsed before the token request was written")]
pub struct LeaseLapsed;

/// Makes the request's body read the lease as the HTTP client writes it: on the connection,
/// once the request was handed over, right before the bytes go out. `None` when the request
/// has no body held in memory (nothing to guard).
pub fn guard_body(request: &mut reqwest::Request, deadline: Deadline) -> Option<Written> {
    let bytes = Bytes::copy_from_slice(request.body()?.as_bytes()?);
    let written = Written::default();
    *request.body_mut() = Some(reqwest::Body::wrap(GuardedBody {
        length: bytes.len() as u64,
        bytes: Some(bytes),
        deadline,
        written: written.clone(),
    }));
    Some(written)
}

/// A body given out whole in one frame, only while its lease has time left.
struct GuardedBody {
    bytes: Option<Bytes>,
    length: u64,
    deadline: Deadline,
    written: Written,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = LeaseLapsed;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, LeaseLapsed>>> {
        let this = self.get_mut();
        let Some(bytes) = this.bytes.take() else {
            return Poll::Ready(None);
        };
        if !this.deadline.may_send() {
            return Poll::Ready(Some(Err(LeaseLapsed)));
        }
        this.written.0.store(true, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(if self.bytes.is_some() { self.length } else { 0 })
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

    fn guarded(deadline: Deadline) -> (reqwest::Request, Written) {
        let mut request = reqwest::Client::new()
            .post("http://provider.test/token")
            .form(&[("refresh_token", "rt-1")])
            .build()
            .unwrap();
        let written = guard_body(&mut request, deadline).unwrap();
        (request, written)
    }

    /// What the HTTP client gets when it first asks the body for bytes.
    fn first_frame(mut request: reqwest::Request) -> Option<Result<Frame<Bytes>, String>> {
        use http_body::Body as _;
        let mut body = request.body_mut().take().unwrap();
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(frame) => frame.map(|f| f.map_err(|e| e.to_string())),
            Poll::Pending => panic!("a body in memory is never pending"),
        }
    }

    #[test]
    fn a_guarded_body_goes_out_whole_while_the_lease_has_time() {
        let (_, _, deadline) = lease(120);
        let (request, written) = guarded(deadline);
        assert_eq!(
            http_body::Body::size_hint(request.body().unwrap()).exact(),
            Some("refresh_token=rt-1".len() as u64)
        );
        assert!(!written.happened());
        let frame = first_frame(request).unwrap().unwrap();
        assert_eq!(
            frame.into_data().unwrap(),
            Bytes::from("refresh_token=rt-1")
        );
        assert!(written.happened());
    }

    #[test]
    fn a_guarded_body_is_refused_once_the_lease_lapsed() {
        let started = Instant::now() - Duration::from_secs(10);
        let deadline = Deadline::new(
            started,
            Utc::now() - chrono::Duration::seconds(10),
            chrono::Duration::seconds(3),
        );
        let (request, written) = guarded(deadline);
        assert!(first_frame(request).unwrap().is_err());
        assert!(!written.happened());
    }
}
