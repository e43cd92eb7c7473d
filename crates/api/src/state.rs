//! What every handler shares.

use std::sync::Arc;

use domain::crypto::KeyRing;
use domain::oauth::StateSigner;
use domain::registry::Registry;
use persistence::Db;

use crate::auth::{JwtKeys, RecentCallers};
use crate::config::Settings;
use crate::outbound::ProviderHttp;
use crate::services::proxy::RecentConnections;
use crate::services::resources::ListingCache;

pub struct AppState {
    pub db: Db,
    pub registry: Arc<Registry>,
    pub keys: Arc<KeyRing>,
    pub jwt: JwtKeys,
    /// Signs OAuth state tokens.
    pub states: StateSigner,
    pub http: ProviderHttp,
    pub settings: Arc<Settings>,
    /// Resource listings (ad accounts, channels), kept a minute.
    pub listings: Arc<ListingCache>,
    /// Who each bearer is in an organization, read within the last second.
    pub recent_callers: Arc<RecentCallers>,
    /// Connections with their sealed secrets, read within the last second for the proxy.
    pub recent_connections: Arc<RecentConnections>,
    /// The sign-in providers' discovery documents and keys.
    pub sso: crate::services::sso::SsoCache,
}
