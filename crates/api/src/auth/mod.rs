//! Who is calling: user access tokens, refresh cookies, organization API keys, and the tenant
//! guard that turns `{org_id}` in the path into a checked membership.

mod jwt;
pub mod password;
mod platform;
mod tenant;
mod throttle;

pub use jwt::{ACCESS_TOKEN_TTL_SECS, JwtKeys};
pub use password::Passwords;
pub use platform::PlatformAdmin;
pub use tenant::{
    AuthUser, Bearer, Caller, MembersReader, OrgAdmin, OrgMember, OrgOwnerOrAdmin, OrgProxyCaller,
    RecentCallers, TenantContext, recent_callers, tenant_guard,
};
pub use throttle::{Attempt, ThrottleSettings, Throttled, Throttles};

use sha2_digest::sha256_hex;

/// Every organization API key starts with this.
pub const API_KEY_PREFIX: &str = "pb_";

/// Hex SHA-256, for tokens and keys that are stored only as hashes.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

mod sha2_digest {
    pub fn sha256_hex(bytes: &[u8]) -> String {
        hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
    }
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> Result<String, crate::error::ApiError> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| {
            crate::error::ApiError::internal(anyhow::anyhow!("system random source failed"))
        })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}
