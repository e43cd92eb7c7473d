//! Plugboard's pure logic: no HTTP and no database. The API and persistence crates meet here.

pub mod crypto;
pub mod ids;
pub mod model;
pub mod oauth;
pub mod readiness;
pub mod registry;
pub mod template;
pub mod verify;

pub use ids::{ConnectionId, OrgId, UserId};
pub use model::{ConnectionStatus, Role};
