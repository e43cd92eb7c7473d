//! Rate limits on an organization's routes: a budget per organization, shared by everyone and
//! every key in it, and a smaller one per caller (a user or an API key), so one organization's
//! burst never slows another and one runaway key cannot starve its own organization. Over
//! either: `429` with `Retry-After`. Every answer says where the caller stands, with the IETF
//! `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers).

use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::TenantContext;
use crate::error::{ApiError, ErrorCode};

/// `PLUGBOARD_RATE_LIMIT_ORG_PER_MINUTE` / `PLUGBOARD_RATE_LIMIT_CALLER_PER_MINUTE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub org_per_minute: u32,
    pub caller_per_minute: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            org_per_minute: 1200,
            caller_per_minute: 600,
        }
    }
}

type Limiter<K> = RateLimiter<K, DashMapStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// Buckets whose allowance is whole again are dropped past this many, so memory stays bounded.
const MAX_KEYS: usize = 100_000;
const WINDOW_SECS: u64 = 60;

pub struct RateLimits {
    orgs: Limiter<uuid::Uuid>,
    /// Per caller within an organization (a user in two organizations has a budget in each).
    callers: Limiter<(uuid::Uuid, String)>,
    settings: RateLimitSettings,
    policy: HeaderValue,
    clock: DefaultClock,
}

/// Where one budget stands after a request.
#[derive(Clone, Debug)]
struct Standing {
    name: &'static str,
    remaining: u32,
    quota: u32,
}

impl Standing {
    /// Seconds until the budget is whole again (`t`): each spent request comes back after
    /// `window / quota`.
    fn reset_secs(&self) -> u64 {
        let spent = u64::from(self.quota.saturating_sub(self.remaining));
        (spent * WINDOW_SECS).div_ceil(u64::from(self.quota.max(1)))
    }

    fn field(&self) -> String {
        format!(
            "\"{}\";r={};t={}",
            self.name,
            self.remaining,
            self.reset_secs()
        )
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Limiter<K> {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    RateLimiter::dashmap(Quota::per_minute(per_minute))
        .with_middleware::<StateInformationMiddleware>()
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> RateLimits {
        let policy = format!(
            "\"org\";q={};w={WINDOW_SECS}, \"caller\";q={};w={WINDOW_SECS}",
            settings.org_per_minute, settings.caller_per_minute
        );
        RateLimits {
            orgs: limiter(settings.org_per_minute),
            callers: limiter(settings.caller_per_minute),
            settings,
            policy: HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("")),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request; `Err` with the seconds to wait and the spent budget's name.
    fn check(&self, org: uuid::Uuid, caller: &str) -> Result<[Standing; 2], (u64, &'static str)> {
        let wait = |name: &'static str| {
            move |not_until: governor::NotUntil<_>| {
                let secs = not_until
                    .wait_time_from(self.clock.now())
                    .max(Duration::from_secs(1));
                (secs.as_secs_f64().ceil() as u64, name)
            }
        };
        // The caller's own budget first: a request refused there costs its organization nothing.
        let caller_state = self
            .callers
            .check_key(&(org, caller.to_owned()))
            .map_err(wait("caller"))?;
        let org_state = self.orgs.check_key(&org).map_err(wait("org"))?;
        if self.orgs.len() > MAX_KEYS || self.callers.len() > MAX_KEYS {
            self.forget_idle();
        }
        Ok([
            Standing {
                name: "org",
                remaining: org_state.remaining_burst_capacity(),
                quota: self.settings.org_per_minute,
            },
            Standing {
                name: "caller",
                remaining: caller_state.remaining_burst_capacity(),
                quota: self.settings.caller_per_minute,
            },
        ])
    }
}

impl RateLimits {
    /// Drops the buckets whose allowance is whole again (they hold nothing a new one would
    /// not) and gives their memory back. Keys are organizations and their authenticated
    /// callers, so what remains is bounded by the callers active in the last minute.
    pub fn forget_idle(&self) {
        self.orgs.retain_recent();
        self.callers.retain_recent();
        self.orgs.shrink_to_fit();
        self.callers.shrink_to_fit();
    }

    /// Calls `forget_idle` every minute for as long as the server runs.
    pub async fn forget_idle_every_minute(limits: std::sync::Arc<RateLimits>) {
        let mut every = tokio::time::interval(Duration::from_secs(WINDOW_SECS));
        loop {
            every.tick().await;
            limits.forget_idle();
        }
    }

    /// How many buckets are held, organizations' and callers' together.
    #[cfg(test)]
    fn buckets(&self) -> usize {
        self.orgs.len() + self.callers.len()
    }
}

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limits = req.app_data::<web::Data<RateLimits>>().cloned();
    let context = req.extensions().get::<TenantContext>().cloned();
    let (Some(limits), Some(context)) = (limits, context) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let caller = context.caller_id();
    let (standing, mut response) = match limits.check(context.org_id.0, &caller) {
        Ok(standing) => (
            standing.to_vec(),
            next.call(req).await?.map_into_boxed_body(),
        ),
        Err((retry_after, spent)) => {
            let (quota, whose) = match spent {
                "org" => (
                    limits.settings.org_per_minute,
                    "This organization's requests",
                ),
                _ => (limits.settings.caller_per_minute, "Your requests"),
            };
            let refused = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!(
                    "{whose} went over {quota} a minute. Wait {retry_after} seconds, then try again."
                ),
            )
            .retry_after(retry_after);
            let spent = Standing {
                name: spent,
                remaining: 0,
                quota,
            };
            (vec![spent], req.into_response(refused.error_response()))
        }
    };
    let headers = response.headers_mut();
    headers.insert(RATELIMIT_POLICY, limits.policy.clone());
    let fields: Vec<String> = standing.iter().map(Standing::field).collect();
    if let Ok(value) = HeaderValue::from_str(&fields.join(", ")) {
        headers.insert(RATELIMIT, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_spends_its_own_budget_before_the_organizations() {
        let limits = RateLimits::new(RateLimitSettings {
            org_per_minute: 5,
            caller_per_minute: 3,
        });
        let org = uuid::Uuid::new_v4();
        for left in (0..3).rev() {
            let [_, caller] = limits.check(org, "key:a").unwrap();
            assert_eq!(caller.remaining, left);
        }
        let (wait, spent) = limits.check(org, "key:a").unwrap_err();
        assert_eq!(spent, "caller");
        assert!((1..=20).contains(&wait), "{wait}");
        // Another caller of the same organization still has its own, until the org's runs out.
        limits.check(org, "key:b").unwrap();
        limits.check(org, "key:b").unwrap();
        assert_eq!(limits.check(org, "key:b").unwrap_err().1, "org");
        // Another organization is untouched.
        let [other, _] = limits.check(uuid::Uuid::new_v4(), "key:a").unwrap();
        assert_eq!(other.remaining, 4);
        assert_eq!(
            Standing {
                name: "org",
                remaining: 2,
                quota: 5
            }
            .field(),
            "\"org\";r=2;t=36"
        );
    }

    #[test]
    fn idle_buckets_are_forgotten() {
        let limits = RateLimits::new(RateLimitSettings {
            org_per_minute: 60_000,
            caller_per_minute: 60_000,
        });
        for _ in 0..1_000 {
            limits.check(uuid::Uuid::new_v4(), "key:a").unwrap();
        }
        assert_eq!(limits.buckets(), 2_000);
        // One request a minute's allowance comes back each millisecond at this rate.
        std::thread::sleep(Duration::from_millis(20));
        limits.forget_idle();
        assert_eq!(limits.buckets(), 0);
    }
}
