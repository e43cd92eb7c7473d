//! Hand-written sea-orm entities, one per table. They never leave this crate.

pub mod api_keys;
pub mod connection_events;
pub mod connection_secrets;
pub mod connections;
pub mod custom_domains;
pub mod erasures;
pub mod external_identities;
pub mod feature_flags;
pub mod idempotency_keys;
pub mod inbound_deliveries;
pub mod incidents;
pub mod invitations;
pub mod memberships;
pub mod notification_attempts;
pub mod notification_settings;
pub mod notifications;
pub mod oauth_states;
pub mod onboarding_steps;
pub mod organizations;
pub mod privacy_requests;
pub mod refresh_sessions;
pub mod sso_states;
pub mod users;
