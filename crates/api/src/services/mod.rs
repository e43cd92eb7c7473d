//! What the API does, apart from HTTP: handlers parse and answer, services decide.

pub mod integrations;
pub mod oauth;
pub mod readiness;
pub mod refresh;
pub mod vault;
