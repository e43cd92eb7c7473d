//! The machine codes the domain gives a problem (a provider check that failed, a renewal that was
//! refused) and a history line. They are stored, sent in notices and answered by the API, so each
//! name is stable; the API turns a [`ProblemCode`] into its own error code with an exhaustive match.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a connection is not working, or why a change to it was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The provider said the grant is gone: the person or account removed the app's access.
    AccessRevoked,
    /// The provider could not find the account the settings name.
    AccountNotFound,
    /// The address is private or local; the SSRF guard refused it.
    AddressNotAllowed,
    /// The provider said the app was uninstalled from the account.
    AppUninstalled,
    /// The connection is in `error` (its last problem was not recorded).
    ConnectionError,
    /// The connection is `expired` (its last problem was not recorded).
    ConnectionExpired,
    /// The provider refused the credentials.
    CredentialsRejected,
    /// The stored secrets no longer decrypt (the encryption key changed).
    CredentialsUnreadable,
    /// A value the check needs is not set.
    MissingValues,
    /// The provider's answer was larger than any check reads.
    ProviderAnswerTooLarge,
    ProviderRateLimited,
    ProviderRefused,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderUnreachable,
    /// The provider refused to renew the grant: it was revoked or lapsed.
    RefreshRefused,
    /// The resource the connection was pointed at (an ad account, a channel) is gone or no
    /// longer shared with it.
    ResourceLost,
    /// Connected, but the resource it must be pointed at is not chosen yet.
    SelectionRequired,
    /// The access token expired before it was renewed.
    TokenExpired,
    /// The provider answered a check with a redirect.
    UnexpectedRedirect,
}

impl ProblemCode {
    /// Every code, for tests that walk them all.
    pub const ALL: [ProblemCode; 20] = [
        ProblemCode::AccessRevoked,
        ProblemCode::AccountNotFound,
        ProblemCode::AddressNotAllowed,
        ProblemCode::AppUninstalled,
        ProblemCode::ConnectionError,
        ProblemCode::ConnectionExpired,
        ProblemCode::CredentialsRejected,
        ProblemCode::CredentialsUnreadable,
        ProblemCode::MissingValues,
        ProblemCode::ProviderAnswerTooLarge,
        ProblemCode::ProviderRateLimited,
        ProblemCode::ProviderRefused,
        ProblemCode::ProviderTimeout,
        ProblemCode::ProviderUnavailable,
        ProblemCode::ProviderUnreachable,
        ProblemCode::RefreshRefused,
        ProblemCode::ResourceLost,
        ProblemCode::SelectionRequired,
        ProblemCode::TokenExpired,
        ProblemCode::UnexpectedRedirect,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::AccessRevoked => "access_revoked",
            ProblemCode::AccountNotFound => "account_not_found",
            ProblemCode::AddressNotAllowed => "address_not_allowed",
            ProblemCode::AppUninstalled => "app_uninstalled",
            ProblemCode::ConnectionError => "connection_error",
            ProblemCode::ConnectionExpired => "connection_expired",
            ProblemCode::CredentialsRejected => "credentials_rejected",
            ProblemCode::CredentialsUnreadable => "credentials_unreadable",
            ProblemCode::MissingValues => "missing_values",
            ProblemCode::ProviderAnswerTooLarge => "provider_answer_too_large",
            ProblemCode::ProviderRateLimited => "provider_rate_limited",
            ProblemCode::ProviderRefused => "provider_refused",
            ProblemCode::ProviderTimeout => "provider_timeout",
            ProblemCode::ProviderUnavailable => "provider_unavailable",
            ProblemCode::ProviderUnreachable => "provider_unreachable",
            ProblemCode::RefreshRefused => "refresh_refused",
            ProblemCode::ResourceLost => "resource_lost",
            ProblemCode::SelectionRequired => "selection_required",
            ProblemCode::TokenExpired => "token_expired",
            ProblemCode::UnexpectedRedirect => "unexpected_redirect",
        }
    }

    /// Reads a stored name; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<ProblemCode> {
        use serde::de::IntoDeserializer;
        let name: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            name.into_deserializer();
        ProblemCode::deserialize(name).ok()
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code on a line of a connection's history: the problem of a failed step, or what a
/// successful step did besides its action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventCode {
    Problem(ProblemCode),
    /// A disconnection turned off the feature flags that needed the connection.
    FlagsTurnedOff,
    /// A notice about the connection was not delivered.
    NotificationFailed,
}

impl EventCode {
    pub fn as_str(self) -> &'static str {
        match self {
            EventCode::Problem(code) => code.as_str(),
            EventCode::FlagsTurnedOff => "flags_turned_off",
            EventCode::NotificationFailed => "notification_failed",
        }
    }

    pub fn parse(name: &str) -> Option<EventCode> {
        match name {
            "flags_turned_off" => Some(EventCode::FlagsTurnedOff),
            "notification_failed" => Some(EventCode::NotificationFailed),
            _ => ProblemCode::parse(name).map(EventCode::Problem),
        }
    }
}

impl From<ProblemCode> for EventCode {
    fn from(code: ProblemCode) -> EventCode {
        EventCode::Problem(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_by_its_name_and_serializes_as_it() {
        for code in ProblemCode::ALL {
            assert_eq!(ProblemCode::parse(code.as_str()), Some(code));
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().to_owned())
            );
            let event = EventCode::from(code);
            assert_eq!(EventCode::parse(event.as_str()), Some(event));
        }
        for other in [EventCode::FlagsTurnedOff, EventCode::NotificationFailed] {
            assert_eq!(EventCode::parse(other.as_str()), Some(other));
        }
        assert_eq!(ProblemCode::parse("flags_turned_off"), None);
    }
}
