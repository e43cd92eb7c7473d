//! Integration tests: the real application over HTTP, on SQLite or (with `TEST_DATABASE_URL`)
//! PostgreSQL. Every test makes its own organization; every module has a cross-tenant case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_keys;
mod auth;
mod background;
mod errors;
mod faults;
mod feature_flags;
mod headers;
mod helpers;
mod idempotency;
mod incidents;
mod integrations;
mod invitations;
mod lifecycle;
mod members;
mod metrics;
mod notifications;
mod oauth;
mod oauth_server;
mod onboarding;
mod openapi;
mod operator;
mod paging;
mod platform;
mod postgres_only;
mod providers;
mod proxy;
mod proxy_limits;
mod proxy_sandbox;
mod rate_limits;
mod sandbox;
mod secrets;
mod ssrf;
mod tenancy;
mod webhooks;
