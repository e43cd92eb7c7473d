//! Sign-in and sign-up throttling: a small burst of attempts per account and per client
//! address, then one more every few seconds; sign-ups also per address and for everyone at
//! once. Guessing slows to a crawl, while the owner of an account someone else is guessing at
//! waits seconds, not hours (nothing is locked).
//!
//! The counts live in the database (`persistence::throttles`), so every replica on one
//! PostgreSQL spends the same allowance: three replicas behind a load balancer give an attacker
//! no more guesses than one. Keys are digests, so the table holds no address or e-mail, and a
//! key is forgotten once its allowance is whole again, so the table stays as small as the
//! attempts of the last minute. A key the database refused is remembered in the process until
//! its wait is over, so a flood from one address costs one query, not one each.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use persistence::throttles::{self, Allowance};
use persistence::{Db, StoreError};

use super::sha2_digest::sha256_hex;

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

/// What is counted, each under its own key space.
enum Counted<'a> {
    LoginAccount(&'a str),
    LoginAddress(IpAddr),
    SignupAddress(IpAddr),
    SignupEveryone,
}

impl Counted<'_> {
    fn key(&self) -> String {
        let text = match self {
            Counted::LoginAccount(email) => {
                format!("login-account:{}", email.trim().to_lowercase())
            }
            Counted::LoginAddress(ip) => format!("login-address:{}", network(*ip)),
            Counted::SignupAddress(ip) => format!("signup-address:{}", network(*ip)),
            Counted::SignupEveryone => "signup-everyone".to_owned(),
        };
        sha256_hex(text.as_bytes())
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

/// Keys this process was refused for, remembered at most this many at once.
const MAX_REFUSED: usize = 10_000;

pub struct Throttles {
    settings: ThrottleSettings,
    /// Keys the database refused, with the time (ms) until which it will refuse them again: a
    /// flood from one address is turned away here without a query each. Refusals change nothing
    /// in the database, so answering them here changes no count.
    refused: Mutex<HashMap<String, i64>>,
}

impl Throttles {
    pub fn new(settings: ThrottleSettings) -> Throttles {
        Throttles {
            settings,
            refused: Mutex::new(HashMap::new()),
        }
    }

    fn refused_until(&self, key: &str, now: i64) -> Option<i64> {
        let refused = self.refused.lock().ok()?;
        refused.get(key).copied().filter(|until| *until > now)
    }

    fn remember_refusal(&self, key: String, until: i64, now: i64) {
        let Ok(mut refused) = self.refused.lock() else {
            return;
        };
        if refused.len() >= MAX_REFUSED {
            refused.retain(|_, until| *until > now);
        }
        if refused.len() < MAX_REFUSED {
            refused.insert(key, until);
        }
    }

    /// Counts one attempt against each allowance in turn; the first one spent refuses it (and
    /// the later ones are not counted, so a refused address costs an account nothing).
    async fn spend(&self, db: &Db, counted: &[(Counted<'_>, Allowance)]) -> Result<(), Throttled> {
        let now = Utc::now().timestamp_millis();
        let wait = |wait_ms: i64| Throttled::Wait((wait_ms.max(1) as u64).div_ceil(1000));
        for (what, allowance) in counted {
            let key = what.key();
            if let Some(until) = self.refused_until(&key, now) {
                return Err(wait(until - now));
            }
            if let Some(wait_ms) = throttles::attempt(db, &key, *allowance, now).await? {
                self.remember_refusal(key, now + wait_ms, now);
                return Err(wait(wait_ms));
            }
        }
        Ok(())
    }

    /// One log-in attempt for `email` from `address` (the TCP peer).
    pub async fn login(
        &self,
        db: &Db,
        email: &str,
        address: Option<IpAddr>,
    ) -> Result<(), Throttled> {
        let mut counted = Vec::with_capacity(2);
        if let Some(address) = address {
            counted.push((Counted::LoginAddress(address), self.settings.login_address));
        }
        counted.push((Counted::LoginAccount(email), self.settings.login_account));
        self.spend(db, &counted).await
    }

    /// One sign-up from `address`.
    pub async fn signup(&self, db: &Db, address: Option<IpAddr>) -> Result<(), Throttled> {
        let mut counted = Vec::with_capacity(2);
        if let Some(address) = address {
            counted.push((
                Counted::SignupAddress(address),
                self.settings.signup_address,
            ));
        }
        counted.push((Counted::SignupEveryone, self.settings.signup_everyone));
        self.spend(db, &counted).await
    }

    /// Deletes the keys whose allowance is whole again, every `FORGET_EVERY`, for as long as
    /// the server runs.
    pub async fn forget_lapsed(db: Db) {
        let mut every = tokio::time::interval(FORGET_EVERY);
        loop {
            every.tick().await;
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
        assert_eq!(a.len(), 64);
        assert!(!a.contains("ann"));
        assert_ne!(
            Counted::LoginAddress(IpAddr::from([127, 0, 0, 1])).key(),
            Counted::SignupAddress(IpAddr::from([127, 0, 0, 1])).key()
        );
    }
}
