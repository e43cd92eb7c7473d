//! A connection's lifecycle: the one place that decides where a connection stands.
//!
//! Every input — credentials saved, a test or health check, an OAuth grant, a token refresh, a
//! switch turned, a disconnect, a token running out — is a pure function of the connection as
//! stored, the input and the time: `decide(connection, provider, input, now)`. It answers the
//! connection to store, the event for its history and whether the brand must hear about it.
//! Services gather the facts (they call providers) and store the decision; they never set a
//! status themselves. A requested change is planned here too (`plan`): what is wrong with it,
//! whether the provider must vouch for it, and the inputs it comes to; and `due` says which
//! connections background work looks at.

use chrono::{DateTime, Utc};

use crate::UserId;
use crate::model::{Connection, ConnectionStatus, EventAction, Problem};
use crate::problem::{EventCode, ProblemCode};
use crate::registry::{AuthKind, Provider, Resource};
use crate::verify::{FailureKind, VerifyOutcome};

pub mod due;
mod plan;

pub use plan::{
    Change, CredentialEdit, FieldProblem, Plan, ProblemAt, Step, StoredCheck, check_change,
    holds_credentials, plan, stored_check,
};

/// What a provider's verify request said about the credentials it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Verified {
        account_name: Option<String>,
        account_id: Option<String>,
        message: String,
    },
    /// The provider said no: wrong, revoked or under-privileged credentials, or bad settings.
    Refused(Problem),
    /// The provider could not answer properly: an outage, a timeout, a rate limit.
    Unavailable(Problem),
    /// The credentials work, but what the connection is pointed at (an ad account, a channel)
    /// is gone: the grant stands, so the connection fails (`error`) rather than expires.
    Lost(Problem),
}

impl From<VerifyOutcome> for Check {
    fn from(outcome: VerifyOutcome) -> Check {
        match outcome {
            VerifyOutcome::Verified {
                account_name,
                account_id,
                message,
            } => Check::Verified {
                account_name,
                account_id,
                message,
            },
            VerifyOutcome::Failed(failure) => {
                let problem = Problem {
                    code: failure.code,
                    message: failure.message,
                };
                match failure.kind {
                    FailureKind::Rejected => Check::Refused(problem),
                    FailureKind::Unavailable => Check::Unavailable(problem),
                }
            }
        }
    }
}

/// Why a check ran; it names the event and, for a sync, stamps `last_sync_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// Someone pressed "Test".
    Test,
    /// The background health check.
    HealthCheck,
    /// "Sync now": refreshed if needed, then checked.
    Sync,
}

/// What an OAuth authorization brought, once its tokens passed the verify request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub account_name: Option<String>,
    pub account_id: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
    pub message: String,
}

/// What a token refresh came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refresh {
    Renewed {
        expires_at: DateTime<Utc>,
        /// Empty when the provider did not restate them; the granted scopes are kept then.
        scopes: Vec<String>,
    },
    /// A non-expiring token was exchanged for an expiring one, renewed from now on (Shopify).
    Exchanged {
        expires_at: DateTime<Utc>,
        scopes: Vec<String>,
    },
    /// The grant is gone (`invalid_grant`, revoked): only a reconnect brings it back.
    Revoked,
    /// The provider could not be reached or failed; the tokens are kept and it is tried again.
    Transient,
    /// Another refresh renewed the token first (a one-time refresh token was already used);
    /// its newer token stands.
    LostRace,
}

/// Everything that can happen to a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// New credentials or settings, with the check they passed (or failed) before being kept;
    /// `None` when there was nothing to check yet.
    Saved {
        check: Option<Check>,
        by: Option<UserId>,
    },
    Checked {
        kind: CheckKind,
        check: Check,
    },
    OAuthConnected {
        grant: Grant,
        by: Option<UserId>,
    },
    Refreshed(Refresh),
    /// Turned off: kept with its credentials, used by nothing.
    Disabled,
    /// Turned back on, with a fresh check when there are credentials to check.
    Enabled {
        check: Option<Check>,
    },
    /// Credentials forgotten; settings and history kept for a reconnect.
    Disconnected,
    /// The access token's expiry passed without a renewal; `renewable` when a refresh token is
    /// held and renewals are still being tried.
    TokenPastExpiry {
        renewable: bool,
    },
    /// The provider said its grant is gone (an uninstall, a revoked token, a deauthorized
    /// app), with the sentence naming what happened: reconnecting is the only way back, and the
    /// dead tokens are forgotten.
    Revoked(Problem),
    /// The provider asked for everything held about the account to be erased: credentials,
    /// settings and account names go; the history keeps that it happened, not what it was.
    Erased,
}

/// A line for the connection's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub action: EventAction,
    pub success: bool,
    pub code: Option<EventCode>,
    pub message: String,
}

/// A change the brand must hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The connection went from working (or off) to needing attention: an incident opens.
    Broken {
        from: ConnectionStatus,
        status: ConnectionStatus,
        problem: Problem,
    },
    /// The connection works again after an incident: it closes.
    Recovered { from: ConnectionStatus },
}

/// What to store for one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The connection as it is to be stored (its `version` is the one read).
    pub connection: Connection,
    pub event: Event,
    pub notice: Option<Notice>,
    /// Every stored secret is to be deleted with this write (a disconnect).
    pub forget_secrets: bool,
}

/// Credentials or settings that failed their check: nothing of the change is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub problem: Problem,
    /// The provider was down rather than saying no (the answer is a 503, not a 422).
    pub unavailable: bool,
}

/// Decides what an input does to a connection. `Err` only for saved credentials that failed
/// their check: nothing is stored then.
pub fn decide(
    connection: &Connection,
    provider: &Provider,
    input: Input,
    now: DateTime<Utc>,
) -> Result<Decision, Rejected> {
    let mut next = connection.clone();
    let mut forget_secrets = false;
    let name = provider.name.as_str();
    let event = match input {
        Input::Saved { check: None, .. } => Event::ok(
            EventAction::Configure,
            format!("{name} settings were updated."),
        ),
        Input::Saved {
            check: Some(check),
            by,
        } => {
            let first = connection.status == ConnectionStatus::NotConnected
                || connection.connected_at.is_none();
            match check {
                Check::Verified {
                    account_name,
                    account_id,
                    message,
                } => {
                    next.last_tested_at = Some(now);
                    working(&mut next, account_name, account_id);
                    let action = if first {
                        connected_now(&mut next, by, now);
                        EventAction::Connect
                    } else {
                        EventAction::Configure
                    };
                    Event::ok(action, message)
                }
                Check::Refused(problem) | Check::Lost(problem) => {
                    return Err(rejected(problem, false));
                }
                Check::Unavailable(problem) => {
                    return Err(rejected(problem, true));
                }
            }
        }
        Input::Checked { kind, check } => {
            next.last_tested_at = Some(now);
            if kind == CheckKind::Sync {
                next.last_sync_at = Some(now);
            }
            let action = match kind {
                CheckKind::Test => EventAction::Test,
                CheckKind::HealthCheck => EventAction::HealthCheck,
                CheckKind::Sync => EventAction::Sync,
            };
            apply_check(&mut next, provider, action, check)
        }
        Input::OAuthConnected { grant, by } => {
            next.enabled = true;
            next.status = ConnectionStatus::Connected;
            next.account_name = grant.account_name;
            next.account_id = grant.account_id;
            next.scopes = grant.scopes;
            next.token_expires_at = Some(grant.expires_at);
            next.last_tested_at = Some(now);
            next.last_error = None;
            connected_now(&mut next, by, now);
            Event::ok(EventAction::Connect, grant.message)
        }
        Input::Refreshed(refresh) => refreshed(&mut next, name, refresh),
        Input::Disabled => {
            next.enabled = false;
            next.status = ConnectionStatus::Disabled;
            Event::ok(
                EventAction::Disable,
                format!("{name} was turned off; its credentials are kept."),
            )
        }
        Input::Enabled { check } => {
            next.enabled = true;
            match check {
                Some(check) => {
                    next.last_tested_at = Some(now);
                    if next.status == ConnectionStatus::Disabled {
                        next.status = ConnectionStatus::Connected;
                    }
                    let checked = apply_check(&mut next, provider, EventAction::Enable, check);
                    Event {
                        message: format!("{name} was turned on. {}", checked.message),
                        ..checked
                    }
                }
                None => {
                    // Nothing to check with: it was never connected, or its credentials are gone.
                    if next.status == ConnectionStatus::Disabled {
                        next.status = ConnectionStatus::NotConnected;
                    }
                    Event::ok(EventAction::Enable, format!("{name} was turned on."))
                }
            }
        }
        Input::Disconnected => {
            forget_secrets = true;
            next.status = ConnectionStatus::NotConnected;
            next.enabled = true;
            next.account_name = None;
            next.account_id = None;
            next.scopes = Vec::new();
            next.token_expires_at = None;
            next.last_error = None;
            next.disconnected_at = Some(now);
            Event::ok(
                EventAction::Disconnect,
                format!("{name} was disconnected; its credentials were deleted."),
            )
        }
        Input::TokenPastExpiry { renewable } => {
            let problem = if renewable {
                Problem {
                    code: ProblemCode::TokenExpired,
                    message: format!(
                        "{name}'s access token expired before it could be renewed; Plugboard keeps trying. If it goes on, reconnect {name}."
                    ),
                }
            } else {
                Problem {
                    code: ProblemCode::TokenExpired,
                    message: format!(
                        "{name}'s access token expired and cannot be renewed. Reconnect {name} to restore it."
                    ),
                }
            };
            let status = if renewable {
                ConnectionStatus::Error
            } else {
                ConnectionStatus::Expired
            };
            if next.status.is_live() {
                failing(&mut next, status, problem.clone());
            }
            Event::failed(EventAction::Refresh, problem)
        }
        Input::Revoked(problem) => {
            forget_secrets = true;
            next.token_expires_at = None;
            if next.status.is_live() {
                failing(&mut next, ConnectionStatus::Expired, problem.clone());
            }
            Event::failed(EventAction::Revoke, problem)
        }
        Input::Erased => {
            forget_secrets = true;
            if next.status.is_live() {
                next.disconnected_at = Some(now);
            }
            next.status = ConnectionStatus::NotConnected;
            next.config.clear();
            next.account_name = None;
            next.account_id = None;
            next.scopes = Vec::new();
            next.token_expires_at = None;
            next.last_error = None;
            Event::ok(
                EventAction::Erase,
                format!(
                    "At {name}'s request, every credential, setting and account name Plugboard held for this connection was erased."
                ),
            )
        }
    };
    let notice = notice(connection, &next);
    Ok(Decision {
        connection: next,
        event,
        notice,
        forget_secrets,
    })
}

impl ConnectionStatus {
    /// Connected at some point and not disconnected since (whatever its health).
    pub fn is_live(self) -> bool {
        self != ConnectionStatus::NotConnected
    }
}

/// Why Plugboard may not use a connection now (call its provider for a brand, count it for a
/// feature flag or an onboarding step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// Never connected, or disconnected.
    NotConnected,
    /// Switched off by the brand.
    Disabled,
    /// Its access ended: only a reconnect restores it.
    Expired,
    /// Its last check failed.
    Failing,
}

/// The one rule for using a connection: it must be `connected` and switched on.
pub fn usable(connection: Option<&Connection>) -> Result<&Connection, Unusable> {
    let Some(connection) = connection.filter(|c| c.status.is_live()) else {
        return Err(Unusable::NotConnected);
    };
    if !connection.enabled {
        return Err(Unusable::Disabled);
    }
    match connection.status {
        ConnectionStatus::Connected => Ok(connection),
        ConnectionStatus::NotConnected => Err(Unusable::NotConnected),
        ConnectionStatus::Disabled => Err(Unusable::Disabled),
        ConnectionStatus::Expired => Err(Unusable::Expired),
        ConnectionStatus::Error => Err(Unusable::Failing),
    }
}

/// What a connected connection still lacks before Plugboard can use it for the brand: the
/// resource it must be pointed at (Meta's ad account), when none is chosen.
pub fn setup_missing(connection: &Connection, provider: &Provider) -> Option<Problem> {
    if connection.status != ConnectionStatus::Connected {
        return None;
    }
    let missing = provider.resources.iter().find(|r| {
        r.required
            && connection
                .config
                .get(&r.setting)
                .is_none_or(|v| v.is_empty())
    })?;
    Some(Problem {
        code: ProblemCode::SelectionRequired,
        message: format!(
            "Choose the {} Plugboard should use with {}.",
            missing.label.to_lowercase(),
            provider.name
        ),
    })
}

/// Someone has to act: the connection expired or fails, or it still needs its setup.
pub fn needs_attention(connection: &Connection, provider: &Provider) -> bool {
    connection.status.needs_attention() || setup_missing(connection, provider).is_some()
}

/// The problem a connection shows: its last failure, or else what its setup lacks.
pub fn problem_shown(connection: &Connection, provider: &Provider) -> Option<Problem> {
    connection
        .last_error
        .clone()
        .or_else(|| setup_missing(connection, provider))
}

/// The check's failure when a chosen resource is no longer reachable with the connection.
pub fn resource_lost(provider: &Provider, resource: &Resource, id: &str) -> Check {
    Check::Lost(Problem {
        code: ProblemCode::ResourceLost,
        message: format!(
            "{} {id} is no longer shared with this {} login; choose another.",
            resource.label, provider.name
        ),
    })
}

/// Whether a connection has a grant to renew. A disconnected one has none: its credentials
/// were deleted on purpose, and a renewal that finds it so keeps nothing it brought.
pub fn may_renew(connection: &Connection) -> bool {
    connection.status.is_live()
}

impl Event {
    fn ok(action: EventAction, message: String) -> Event {
        Event {
            action,
            success: true,
            code: None,
            message,
        }
    }

    fn failed(action: EventAction, problem: Problem) -> Event {
        Event {
            action,
            success: false,
            code: Some(problem.code.into()),
            message: problem.message,
        }
    }
}

fn rejected(problem: Problem, unavailable: bool) -> Rejected {
    Rejected {
        problem: Problem {
            message: format!("{} Nothing was saved.", problem.message),
            ..problem
        },
        unavailable,
    }
}

/// A connection whose check passed: working, unless it is switched off.
fn working(next: &mut Connection, account_name: Option<String>, account_id: Option<String>) {
    next.last_error = None;
    if account_name.is_some() || account_id.is_some() {
        next.account_name = account_name;
        next.account_id = account_id;
    }
    next.status = if next.enabled {
        ConnectionStatus::Connected
    } else {
        ConnectionStatus::Disabled
    };
}

/// A connection that needs attention, unless it is switched off (it keeps the reason then).
fn failing(next: &mut Connection, status: ConnectionStatus, problem: Problem) {
    // An outage says nothing about a grant already known to be gone: it stays `expired`.
    if next.status == ConnectionStatus::Expired && status == ConnectionStatus::Error {
        return;
    }
    next.last_error = Some(problem);
    if next.enabled {
        next.status = status;
    }
}

fn connected_now(next: &mut Connection, by: Option<UserId>, now: DateTime<Utc>) {
    next.connected_at = Some(now);
    next.connected_by = by;
    next.disconnected_at = None;
}

/// Applies a check to a live connection. A refused OAuth token means the grant is gone
/// (`expired`: reconnect); refused keys and outages are `error`.
fn apply_check(
    next: &mut Connection,
    provider: &Provider,
    action: EventAction,
    check: Check,
) -> Event {
    match check {
        Check::Verified {
            account_name,
            account_id,
            message,
        } => {
            if next.status.is_live() {
                working(next, account_name, account_id);
            }
            Event::ok(action, message)
        }
        Check::Refused(problem) => {
            let status = if provider.auth.kind() == AuthKind::Oauth2 {
                ConnectionStatus::Expired
            } else {
                ConnectionStatus::Error
            };
            if next.status.is_live() {
                failing(next, status, problem.clone());
            }
            Event::failed(action, problem)
        }
        Check::Unavailable(problem) | Check::Lost(problem) => {
            if next.status.is_live() {
                failing(next, ConnectionStatus::Error, problem.clone());
            }
            Event::failed(action, problem)
        }
    }
}

fn refreshed(next: &mut Connection, name: &str, refresh: Refresh) -> Event {
    match refresh {
        Refresh::Renewed { expires_at, scopes } => Event::ok(
            EventAction::Refresh,
            renewed(next, name, expires_at, scopes),
        ),
        Refresh::Exchanged { expires_at, scopes } => Event::ok(
            EventAction::Refresh,
            format!(
                "{name}'s non-expiring token was exchanged for an expiring one that Plugboard renews from now on. {}",
                renewed(next, name, expires_at, scopes)
            ),
        ),
        Refresh::Revoked => {
            let problem = Problem {
                code: ProblemCode::RefreshRefused,
                message: format!(
                    "{name} refused to renew Plugboard's access: it was revoked or has lapsed. Reconnect {name} to restore it."
                ),
            };
            if next.status.is_live() {
                failing(next, ConnectionStatus::Expired, problem.clone());
            }
            Event::failed(EventAction::Refresh, problem)
        }
        Refresh::Transient => Event::failed(
            EventAction::Refresh,
            Problem {
                code: ProblemCode::ProviderUnavailable,
                message: format!(
                    "{name} could not be reached to renew access; the current tokens are kept and the renewal will be tried again."
                ),
            },
        ),
        Refresh::LostRace => Event::ok(
            EventAction::Refresh,
            format!(
                "{name}'s access had just been renewed by another refresh; its newer token is kept."
            ),
        ),
    }
}

/// Applies a renewed token; answers the sentence for the history.
fn renewed(
    next: &mut Connection,
    name: &str,
    expires_at: DateTime<Utc>,
    scopes: Vec<String>,
) -> String {
    next.token_expires_at = Some(expires_at);
    if !scopes.is_empty() {
        next.scopes = scopes;
    }
    if next.status.is_live() {
        working(next, None, None);
    }
    format!(
        "{name}'s access was renewed; it is valid until {}.",
        expires_at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// One notice when an incident opens (a move into `expired` or `error` from a status that did
/// not need attention) and one when it closes (back to `connected`). A connection that keeps
/// failing, or moves from `error` to `expired`, stays in the same incident.
fn notice(before: &Connection, after: &Connection) -> Option<Notice> {
    let (was, is) = (before.status, after.status);
    match (was.needs_attention(), is.needs_attention()) {
        (false, true) => Some(Notice::Broken {
            from: was,
            status: is,
            problem: after.last_error.clone().unwrap_or_else(|| Problem {
                code: if is == ConnectionStatus::Expired {
                    ProblemCode::ConnectionExpired
                } else {
                    ProblemCode::ConnectionError
                },
                message: String::new(),
            }),
        }),
        (true, false) if is == ConnectionStatus::Connected => Some(Notice::Recovered { from: was }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
