//! Sign-in and sign-up throttling: a small burst of attempts per account and per client
//! address, then one more every few seconds; sign-ups also per address and for everyone at
//! once. Guessing slows to a crawl, while the owner of an account someone else is guessing at
//! waits seconds, not hours (nothing is locked).
//!
//! The counts live in the database (`persistence::throttles`), so every replica on one
//! PostgreSQL spends the same allowance: three replicas behind a load balancer give an attacker
//! no more guesses than one. Keys are digests, so the table holds no address or e-mail, and a
//! key is forgotten once its allowance is whole again, so the table stays as small as the
//! attempts of the last minute. Each process also counts for itself first (bounded, idle keys
//! dropped), so a flood from one address is refused without a query per attempt.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use governor::clock::Clock;
use governor::{Quota, RateLimiter};
use persistence::throttles::{self, Allowance};
use persistence::{Db, StoreError};

/// How often lapsed keys are deleted.
pub const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The allowances, one per thing counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Log-ins per account (whoever sends them): 5 at once, then one every 10 seconds.
    pub login_account: Allowance,
    /// Log-ins per client address, over every account: 20 at once, then one every 3 seconds.
    pub login_address: Allowance,
    /// Sign-ups per client address: 10 at once, then one every 6 seconds.
    pub signup_address: Allowance,
    /// Sign-ups from everyone together: 100 at once, then 10 a second.
    pub signup_everyone: Allowance,
}

const fn allowance(burst: u32, period: Duration) -> Allowance {
    Allowance {
        burst,
        period_ms: period.as_millis() as i64,
    }
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            login_account: allowance(5, Duration::from_secs(10)),
            login_address: allowance(20, Duration::from_secs(3)),
            signup_address: allowance(10, Duration::from_secs(6)),
            signup_everyone: allowance(100, Duration::from_millis(100)),
        }
    }
}

/// Why an attempt may not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum Throttled {
    #[error("too many attempts; wait {0} seconds")]
    Wait(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Throttled {
    fn wait(wait_ms: i64) -> Throttled {
        Throttled::Wait((wait_ms.max(1) as u64).div_ceil(1000))
    }
}

/// One attempt: what it counts against, in order.
pub struct Attempt<'a> {
    counted: Vec<(Counted<'a>, Allowance)>,
}

/// What is counted, each under its own key space.
enum Counted<'a> {
    LoginAccount(&'a str),
    LoginAddress(IpAddr),
    SignupAddress(IpAddr),
    SignupEveryone,
}

impl Counted<'_> {
    fn key(&self) -> [u8; 32] {
        let text = match self {
            Counted::LoginAccount(email) => {
                format!("login-account:{}", email.trim().to_lowercase())
            }
            Counted::LoginAddress(ip) => format!("login-address:{}", network(*ip)),
            Counted::SignupAddress(ip) => format!("signup-address:{}", network(*ip)),
            Counted::SignupEveryone => "signup-everyone".to_owned(),
        };
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        key
    }
}

/// The unit an address is counted by: an IPv4 address, or an IPv6 /64 (what one subscriber
/// gets, so hopping between its addresses buys nothing).
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// Keys each of this process's own limiters holds at most (about 100 bytes each).
const MAX_LOCAL_KEYS: usize = 50_000;

type Local = governor::DefaultKeyedRateLimiter<[u8; 32]>;

/// This process's own count of one allowance, consulted before the database: what this
/// process alone has seen spend an allowance is refused at once, with no query, so a flood
/// from one address costs a handful of queries, not one each. The database stays the
/// authority (another replica's attempts count there); this only refuses sooner.
struct FirstLine {
    limiter: Local,
    clock: governor::clock::DefaultClock,
}

impl FirstLine {
    fn new(allowance: Allowance) -> FirstLine {
        let period = Duration::from_millis(allowance.period_ms.max(1) as u64);
        let burst = NonZeroU32::new(allowance.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        FirstLine {
            limiter: RateLimiter::keyed(quota),
            clock: Default::default(),
        }
    }

    /// `Some(ms)` to wait when this process has seen the allowance spent. Past its size the
    /// limiter first drops the keys whose allowance is whole again, and if it is still full the
    /// key is left to the database alone, so memory stays bounded.
    fn refuses(&self, key: &[u8; 32]) -> Option<i64> {
        if self.limiter.len() >= MAX_LOCAL_KEYS {
            self.limiter.retain_recent();
            if self.limiter.len() >= MAX_LOCAL_KEYS {
                return None;
            }
        }
        self.limiter
            .check_key(key)
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()).as_millis() as i64)
    }

    fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.limiter.len()
    }
}

pub struct Throttles {
    settings: ThrottleSettings,
    login_account: FirstLine,
    login_address: FirstLine,
    signup_address: FirstLine,
    signup_everyone: FirstLine,
}

impl Throttles {
    pub fn new(settings: ThrottleSettings) -> Throttles {
        Throttles {
            settings,
            login_account: FirstLine::new(settings.login_account),
            login_address: FirstLine::new(settings.login_address),
            signup_address: FirstLine::new(settings.signup_address),
            signup_everyone: FirstLine::new(settings.signup_everyone),
        }
    }

    fn first_line(&self, what: &Counted<'_>) -> &FirstLine {
        match what {
            Counted::LoginAccount(_) => &self.login_account,
            Counted::LoginAddress(_) => &self.login_address,
            Counted::SignupAddress(_) => &self.signup_address,
            Counted::SignupEveryone => &self.signup_everyone,
        }
    }

    /// This process's own counts of `attempt`: refused at once, without a query, when this
    /// process alone has seen an allowance spent. The first one spent refuses it, and the later
    /// ones are not counted (a refused address costs an account nothing).
    pub fn check_here(&self, attempt: &Attempt<'_>) -> Result<(), Throttled> {
        for (what, _) in &attempt.counted {
            if let Some(wait_ms) = self.first_line(what).refuses(&what.key()) {
                return Err(Throttled::wait(wait_ms));
            }
        }
        Ok(())
    }

    /// The database's counts of `attempt`, which every replica shares, in the same order.
    pub async fn check_shared(&self, db: &Db, attempt: &Attempt<'_>) -> Result<(), Throttled> {
        let now = Utc::now().timestamp_millis();
        for (what, allowance) in &attempt.counted {
            let key = hex::encode(what.key());
            if let Some(wait_ms) = throttles::attempt(db, &key, *allowance, now).await? {
                return Err(Throttled::wait(wait_ms));
            }
        }
        Ok(())
    }

    /// Drops this process's keys whose allowance is whole again.
    fn forget_idle(&self) {
        for line in [
            &self.login_account,
            &self.login_address,
            &self.signup_address,
            &self.signup_everyone,
        ] {
            line.forget_idle();
        }
    }

    /// One log-in attempt for `email` from `address` (the TCP peer).
    pub fn login<'a>(&self, email: &'a str, address: Option<IpAddr>) -> Attempt<'a> {
        let mut counted = Vec::with_capacity(2);
        if let Some(address) = address {
            counted.push((Counted::LoginAddress(address), self.settings.login_address));
        }
        counted.push((Counted::LoginAccount(email), self.settings.login_account));
        Attempt { counted }
    }

    /// One sign-up from `address`.
    pub fn signup(&self, address: Option<IpAddr>) -> Attempt<'static> {
        let mut counted = Vec::with_capacity(2);
        if let Some(address) = address {
            counted.push((
                Counted::SignupAddress(address),
                self.settings.signup_address,
            ));
        }
        counted.push((Counted::SignupEveryone, self.settings.signup_everyone));
        Attempt { counted }
    }

    /// Every `FORGET_EVERY`, for as long as the server runs: deletes the stored keys whose
    /// allowance is whole again, and drops this process's own.
    pub async fn forget_lapsed(throttles: Arc<Throttles>, db: Db) {
        let mut every = tokio::time::interval(FORGET_EVERY);
        loop {
            every.tick().await;
            throttles.forget_idle();
            if let Err(err) = throttles::forget_lapsed(&db, Utc::now().timestamp_millis()).await {
                tracing::warn!(error = %err, "forgetting lapsed throttle keys");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_counted_by_its_network() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(network(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(network(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(
            network(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
    }

    #[test]
    fn keys_are_digests_that_ignore_case_and_spaces_in_an_email() {
        let a = Counted::LoginAccount("Ann@Example.com ").key();
        assert_eq!(a, Counted::LoginAccount("ann@example.com").key());
        assert_ne!(
            Counted::LoginAddress(IpAddr::from([127, 0, 0, 1])).key(),
            Counted::SignupAddress(IpAddr::from([127, 0, 0, 1])).key()
        );
    }

    #[test]
    fn a_process_refuses_what_it_alone_saw_spent_and_holds_a_bounded_number_of_keys() {
        let line = FirstLine::new(Allowance {
            burst: 2,
            period_ms: 60_000,
        });
        let key = Counted::LoginAccount("ann@example.com").key();
        assert_eq!(line.refuses(&key), None);
        assert_eq!(line.refuses(&key), None);
        let wait = line.refuses(&key).unwrap();
        assert!((1..=60_000).contains(&wait), "{wait}");
        for i in 0..MAX_LOCAL_KEYS + 1_000 {
            line.refuses(&Counted::LoginAccount(&format!("{i}@example.com")).key());
        }
        assert!(line.len() <= MAX_LOCAL_KEYS, "{}", line.len());
    }
}
