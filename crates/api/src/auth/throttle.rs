//! Log-in throttling: a small burst of attempts per account and per client address, then one
//! more every few seconds. Guessing slows to a crawl, while the owner of an account someone
//! else is guessing at waits seconds, not hours (nothing is locked).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts per account: 5 at once, then one every 10 seconds.
const ACCOUNT_BURST: u32 = 5;
const ACCOUNT_EVERY: Duration = Duration::from_secs(10);
/// Attempts per client address, over every account: 20 at once, then one every 3 seconds.
const ADDRESS_BURST: u32 = 20;
const ADDRESS_EVERY: Duration = Duration::from_secs(3);
/// Keys whose allowance is whole again are dropped past this many, so memory stays bounded.
const MAX_KEYS: usize = 10_000;

pub struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    burst: u32,
    every: Duration,
) -> DefaultKeyedRateLimiter<K> {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    RateLimiter::keyed(quota)
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            accounts: limiter(ACCOUNT_BURST, ACCOUNT_EVERY),
            addresses: limiter(ADDRESS_BURST, ADDRESS_EVERY),
            clock: DefaultClock::default(),
        }
    }
}

impl LoginThrottle {
    /// Counts one attempt; `Err` with the whole seconds to wait when either allowance is spent.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let wait = |not_until: governor::NotUntil<_>| {
            not_until
                .wait_time_from(self.clock.now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64
        };
        if let Some(address) = address {
            self.addresses.check_key(&address).map_err(wait)?;
        }
        self.accounts
            .check_key(&email.trim().to_lowercase())
            .map_err(wait)?;
        if self.accounts.len() > MAX_KEYS || self.addresses.len() > MAX_KEYS {
            self.accounts.retain_recent();
            self.addresses.retain_recent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_gets_a_burst_then_waits_seconds() {
        let throttle = LoginThrottle::default();
        for _ in 0..ACCOUNT_BURST {
            assert!(throttle.attempt("ann@example.com", None).is_ok());
        }
        let wait = throttle.attempt("ANN@example.com ", None).unwrap_err();
        assert!((1..=ACCOUNT_EVERY.as_secs()).contains(&wait), "{wait}");
        assert!(throttle.attempt("bob@example.com", None).is_ok());
    }
}
