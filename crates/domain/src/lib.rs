//! Plugboard's pure logic: no HTTP and no database. The API and persistence crates meet here.

pub mod crypto;
pub mod features;
pub mod ids;
pub mod inbound;
pub mod invitations;
pub mod lifecycle;
pub mod model;
pub mod notifications;
pub mod oauth;
pub mod onboarding;
pub mod problem;
pub mod proxy;
pub mod readiness;
pub mod registry;
pub mod resources;
pub mod schedule;
pub mod sso;
pub mod template;
pub mod verify;
pub mod webhooks;

pub use ids::{ConnectionId, IdentityId, OrgId, UserId};
pub use model::{ConnectionStatus, Role};
pub use problem::{EventCode, ProblemCode};
