//! HTTP routes. Handlers parse, call a service or repository, and answer with DTOs.

pub mod api_keys;
pub mod auth;
mod browser_binding;
mod conditional;
pub mod feature_flags;
pub mod health;
pub mod integrations;
pub mod invitations;
pub mod members;
pub mod metrics;
pub mod notifications;
pub mod oauth;
pub mod onboarding;
pub mod orgs;
pub mod paging;
pub mod platform;
pub mod privacy;
pub mod providers;
pub mod proxy;
mod raw_body;
pub mod sandbox;
pub mod sso;
pub mod sync;
pub mod webhooks;

pub use conditional::AnswerCache;

use actix_web::middleware::from_fn;
use utoipa_actix_web::{scope, service_config::ServiceConfig};

use crate::auth::tenant_guard;

/// Registers every documented route; the OpenAPI document is collected from the same calls.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .service(
            scope("/api/v1")
                .service(auth::signup)
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::me)
                .service(auth::change_password)
                .service(sso::providers)
                .service(sso::start)
                .service(sso::callback)
                .service(sso::list_identities)
                .service(sso::link_identity)
                .service(sso::unlink_identity)
                .service(orgs::create)
                .service(providers::list)
                .service(oauth::callback)
                .service(platform::readiness)
                .service(platform::test)
                .service(invitations::accept)
                .service(webhooks::receive_webhook)
                .service(webhooks::receive_callback)
                .service(webhooks::erasure_status)
                .service(
                    // The tenant guard runs first: another tenant's routes are a 404 before
                    // any body is read, and rate limits and idempotency need the caller.
                    scope("/orgs/{org_id}")
                        .wrap(from_fn(crate::idempotency::idempotency))
                        .wrap(from_fn(crate::input::refuse_control_characters))
                        .wrap(from_fn(crate::ratelimit::rate_limit))
                        .wrap(from_fn(tenant_guard))
                        .service(orgs::get)
                        .service(members::list)
                        .service(members::add)
                        .service(members::change_role)
                        .service(members::remove)
                        .service(api_keys::list)
                        .service(api_keys::create)
                        .service(api_keys::revoke)
                        .service(integrations::list)
                        .service(integrations::get)
                        .service(integrations::update)
                        .service(integrations::test)
                        .service(integrations::refresh)
                        .service(integrations::disconnect)
                        .service(integrations::events)
                        .service(integrations::resources)
                        .service(proxy::proxy_get)
                        .service(proxy::proxy_head)
                        .service(proxy::proxy_post)
                        .service(proxy::proxy_put)
                        .service(proxy::proxy_patch)
                        .service(proxy::proxy_delete)
                        .service(oauth::start)
                        .service(onboarding::get)
                        .service(onboarding::update)
                        .service(feature_flags::list)
                        .service(feature_flags::update)
                        .service(invitations::list)
                        .service(invitations::create)
                        .service(invitations::revoke)
                        .service(notifications::get_settings)
                        .service(notifications::put_settings)
                        .service(notifications::test)
                        .service(notifications::list)
                        .service(sync::sync)
                        .service(privacy::list)
                        .service(privacy::mark_done),
                ),
        );
}

/// The list wrapper every collection answer uses.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ListOut<T> {
    pub data: Vec<T>,
}
