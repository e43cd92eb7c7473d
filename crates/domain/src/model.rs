//! The records the API and the store exchange. Plain data; no HTTP and no database types.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ApiKeyId, ConnectionId, OrgId, UserId};
use crate::problem::{EventCode, ProblemCode};

/// A member's role in an organization. Owners and admins change things; members read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    pub fn can_manage(self) -> bool {
        self >= Role::Admin
    }
}

/// Where a connection stands. `not_connected` with a stored row means "disconnected, history kept".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    NotConnected,
    Connected,
    Expired,
    Error,
    Disabled,
}

impl ConnectionStatus {
    pub const ALL: [ConnectionStatus; 5] = [
        ConnectionStatus::NotConnected,
        ConnectionStatus::Connected,
        ConnectionStatus::Expired,
        ConnectionStatus::Error,
        ConnectionStatus::Disabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::NotConnected => "not_connected",
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Expired => "expired",
            ConnectionStatus::Error => "error",
            ConnectionStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectionStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Expired or failing: someone has to act. Entering it is something the brand must hear
    /// about, and the API says so on every connection it shows.
    pub fn needs_attention(self) -> bool {
        matches!(self, ConnectionStatus::Expired | ConnectionStatus::Error)
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub org_id: OrgId,
    pub org_name: String,
    pub user: User,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A short machine code and a sentence a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub code: ProblemCode,
    pub message: String,
}

/// One organization's connection to one provider, without its secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    pub id: ConnectionId,
    pub org_id: OrgId,
    pub provider: String,
    pub status: ConnectionStatus,
    pub enabled: bool,
    pub config: BTreeMap<String, String>,
    pub account_name: Option<String>,
    pub account_id: Option<String>,
    pub scopes: Vec<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_tested_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<Problem>,
    pub connected_at: Option<DateTime<Utc>>,
    pub connected_by: Option<UserId>,
    pub disconnected_at: Option<DateTime<Utc>>,
    /// The last call through the proxy (not part of the state: it moves no version).
    pub last_used: Option<LastUse>,
    /// Bumped by every write: a write made from an older read is refused, never applied.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    /// A connection as it is before its first write: `not_connected`, nothing set, version 0.
    pub fn unstored(org_id: OrgId, provider: &str, now: DateTime<Utc>) -> Connection {
        Connection {
            id: ConnectionId::new(),
            org_id,
            provider: provider.to_owned(),
            status: ConnectionStatus::NotConnected,
            enabled: true,
            config: BTreeMap::new(),
            account_name: None,
            account_id: None,
            scopes: Vec::new(),
            token_expires_at: None,
            last_tested_at: None,
            last_sync_at: None,
            last_error: None,
            connected_at: None,
            connected_by: None,
            disconnected_at: None,
            last_used: None,
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

/// An organization API key, as listed (the key itself is shown once, at creation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    /// The providers the key may call through the proxy; `None`: every one.
    pub providers: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What is known about a stored secret without decrypting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretHint {
    pub field: String,
    pub last4: Option<String>,
    pub key_id: String,
}

/// Who did something: a person, a partner's API key, or Plugboard itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    ApiKey(ApiKeyId),
    System,
}

impl Actor {
    /// The stored kind and id, as two columns.
    pub fn parts(&self) -> (&'static str, Option<uuid::Uuid>) {
        match self {
            Actor::User(id) => ("user", Some(id.0)),
            Actor::ApiKey(id) => ("api_key", Some(id.0)),
            Actor::System => ("system", None),
        }
    }

    /// Reads the two stored columns back; anything else is Plugboard itself.
    pub fn from_parts(kind: &str, id: Option<uuid::Uuid>) -> Actor {
        match (kind, id) {
            ("user", Some(id)) => Actor::User(UserId(id)),
            ("api_key", Some(id)) => Actor::ApiKey(ApiKeyId(id)),
            _ => Actor::System,
        }
    }
}

/// Who last called a provider with a connection, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastUse {
    pub at: DateTime<Utc>,
    pub by: Actor,
    /// The key's or the person's name at the time, for people to read.
    pub by_name: Option<String>,
}

impl LastUse {
    /// How stale a recorded use may grow before a call by the same caller records it again:
    /// a busy connection is written once a minute, not once a call.
    pub const PRECISION_SECS: i64 = 60;

    /// Whether a call by `by` at `now` is worth recording over what is stored.
    pub fn is_news(stored: Option<&LastUse>, by: &Actor, now: DateTime<Utc>) -> bool {
        stored.is_none_or(|last| {
            last.by != *by || (now - last.at).num_seconds() >= LastUse::PRECISION_SECS
        })
    }
}

/// One line of a connection's history.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionEvent {
    pub id: uuid::Uuid,
    pub org_id: OrgId,
    pub connection_id: ConnectionId,
    pub provider: String,
    pub action: EventAction,
    pub success: bool,
    pub code: Option<EventCode>,
    pub message: String,
    pub actor: Actor,
    pub created_at: DateTime<Utc>,
}

/// What happened to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    Connect,
    Configure,
    Test,
    Refresh,
    HealthCheck,
    Enable,
    Disable,
    Disconnect,
    Sync,
    Notification,
    /// The provider said the grant is gone (an uninstall, a revocation).
    Revoke,
    /// What was held for the account was erased at the provider's request.
    Erase,
}

impl EventAction {
    pub const ALL: [EventAction; 12] = [
        EventAction::Connect,
        EventAction::Configure,
        EventAction::Test,
        EventAction::Refresh,
        EventAction::HealthCheck,
        EventAction::Enable,
        EventAction::Disable,
        EventAction::Disconnect,
        EventAction::Sync,
        EventAction::Notification,
        EventAction::Revoke,
        EventAction::Erase,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Connect => "connect",
            EventAction::Configure => "configure",
            EventAction::Test => "test",
            EventAction::Refresh => "refresh",
            EventAction::HealthCheck => "health_check",
            EventAction::Enable => "enable",
            EventAction::Disable => "disable",
            EventAction::Disconnect => "disconnect",
            EventAction::Sync => "sync",
            EventAction::Notification => "notification",
            EventAction::Revoke => "revoke",
            EventAction::Erase => "erase",
        }
    }

    pub fn parse(s: &str) -> Option<EventAction> {
        Self::ALL.into_iter().find(|action| action.as_str() == s)
    }
}

/// The last four characters of a secret, shown only when the secret is long enough that they
/// reveal little.
pub fn secret_last4(secret: &str) -> Option<String> {
    let chars: Vec<char> = secret.chars().collect();
    (chars.len() >= 12).then(|| chars[chars.len() - 4..].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last4_only_for_long_secrets() {
        assert_eq!(
            secret_last4("sk-test-1234567890abcd").as_deref(),
            Some("abcd")
        );
        assert_eq!(secret_last4("short"), None);
    }

    #[test]
    fn statuses_round_trip() {
        for status in ConnectionStatus::ALL {
            assert_eq!(ConnectionStatus::parse(status.as_str()), Some(status));
        }
        for action in EventAction::ALL {
            assert_eq!(EventAction::parse(action.as_str()), Some(action));
        }
    }

    #[test]
    fn only_admins_and_owners_manage() {
        assert!(Role::Owner.can_manage());
        assert!(Role::Admin.can_manage());
        assert!(!Role::Member.can_manage());
    }
}
