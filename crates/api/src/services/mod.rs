//! What the API does, apart from HTTP: handlers parse and answer, services decide.

pub mod catalog;
pub mod checks;
pub mod features;
pub mod inbound;
pub mod integrations;
pub mod invitations;
pub mod lease;
pub mod lifecycle;
pub mod notifications;
pub mod oauth;
pub mod onboarding;
pub mod proxy;
pub mod readiness;
pub mod refresh;
pub mod resources;
pub mod shopify;
pub mod sso;
pub mod sync;
pub mod vault;
