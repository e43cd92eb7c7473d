//! Plugboard's HTTP API: routes, DTOs, extractors, OpenAPI, and the `plugboard` binary's parts.

pub mod auth;
pub mod config;
pub mod contract;
pub mod error;
mod fallback;
mod headers;
mod idempotency;
mod input;
pub mod latency;
pub mod openapi;
pub mod operator;
pub mod outbound;
pub mod proxy_metrics;
pub mod ratelimit;
pub mod recent;
mod request_errors;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
mod validation;
pub mod worker;
