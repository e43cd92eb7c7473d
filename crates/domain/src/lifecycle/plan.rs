//! Planning a requested change of a connection: what is wrong with it, whether the provider's
//! verify request must vouch for it first, and which inputs the lifecycle decides on, in order.
//!
//! The change names credentials by key only. Their values stay with the caller, which runs the
//! verify request when the plan asks for it and hands the result back to `Plan::decide`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};

use super::{Check, Decision, Input, Rejected, decide};
use crate::UserId;
use crate::model::{Connection, Problem};
use crate::oauth::ACCESS_TOKEN;
use crate::problem::ProblemCode;
use crate::registry::{AuthKind, Provider};

/// What a change does to one credential. The value is not here: the lifecycle needs only
/// whether a key is set, and whether a new value has its field's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialEdit {
    /// A new value; `malformed` says what is wrong with it when it breaks its field's rule.
    Put {
        malformed: Option<String>,
    },
    Remove,
}

impl CredentialEdit {
    /// A new value for `key`, checked against its field's rule and then let go. A key the
    /// provider has no credential for is `check_change`'s to report.
    pub fn put(provider: &Provider, key: &str, value: &str) -> CredentialEdit {
        let malformed = provider
            .field(key)
            .filter(|f| f.secret)
            .and_then(|f| f.check(value).err());
        CredentialEdit::Put { malformed }
    }
}

/// A requested change of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub credentials: BTreeMap<String, CredentialEdit>,
    /// Settings by key; `None` removes one.
    pub config: BTreeMap<String, Option<String>>,
    pub enabled: Option<bool>,
    /// Who asks: recorded as who connected it when this change connects it.
    pub by: Option<UserId>,
}

impl Change {
    /// New settings and nothing else.
    pub fn settings(config: &BTreeMap<String, String>) -> Change {
        Change {
            config: config
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
            ..Change::default()
        }
    }

    fn brings_credentials(&self) -> bool {
        self.credentials
            .values()
            .any(|e| matches!(e, CredentialEdit::Put { .. }))
    }

    fn removes_credentials(&self) -> bool {
        self.credentials
            .values()
            .any(|e| matches!(e, CredentialEdit::Remove))
    }
}

/// Where in a change a problem lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemAt {
    /// The credentials as a whole (an OAuth provider takes none).
    Credentials,
    Credential(String),
    Setting(String),
}

impl fmt::Display for ProblemAt {
    /// As requests name it: `credentials`, `credentials.api_key`, `config.shop`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemAt::Credentials => f.write_str("credentials"),
            ProblemAt::Credential(key) => write!(f, "credentials.{key}"),
            ProblemAt::Setting(key) => write!(f, "config.{key}"),
        }
    }
}

/// One part of a change that breaks the provider's rules, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub at: ProblemAt,
    pub message: String,
}

impl FieldProblem {
    fn new(at: ProblemAt, message: String) -> FieldProblem {
        FieldProblem { at, message }
    }
}

/// Checks a change against the registry; every problem is reported at once.
pub fn check_change(provider: &Provider, change: &Change) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let expected = |secret: bool| {
        let keys: Vec<&str> = provider
            .fields
            .iter()
            .filter(|f| f.secret == secret)
            .map(|f| f.key.as_str())
            .collect();
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    };
    if !change.credentials.is_empty() && provider.auth.kind() == AuthKind::Oauth2 {
        problems.push(FieldProblem::new(
            ProblemAt::Credentials,
            format!("{} connects with OAuth: start it with POST …/integrations/{}/oauth/start instead of sending credentials.", provider.name, provider.id),
        ));
    }
    for (key, edit) in &change.credentials {
        let at = ProblemAt::Credential(key.clone());
        match provider.field(key).filter(|f| f.secret) {
            None => problems.push(FieldProblem::new(
                at,
                format!(
                    "{} has no credential `{key}`; expected: {}.",
                    provider.name,
                    expected(true)
                ),
            )),
            Some(field) => match edit {
                CredentialEdit::Put { malformed } => {
                    if let Some(message) = malformed {
                        problems.push(FieldProblem::new(at, message.clone()));
                    }
                }
                CredentialEdit::Remove if field.required => problems.push(FieldProblem::new(
                    at,
                    format!(
                        "{} is required; send a new value instead of removing it.",
                        field.label
                    ),
                )),
                CredentialEdit::Remove => {}
            },
        }
    }
    for (key, value) in &change.config {
        let at = ProblemAt::Setting(key.clone());
        match provider.field(key).filter(|f| !f.secret) {
            None => problems.push(FieldProblem::new(
                at,
                format!(
                    "{} has no setting `{key}`; expected: {}.",
                    provider.name,
                    expected(false)
                ),
            )),
            Some(field) => {
                if let Some(value) = value
                    && let Err(message) = field.check(value)
                {
                    problems.push(FieldProblem::new(at, message));
                }
            }
        }
    }
    problems
}

/// Required fields with no value once a change is applied.
fn missing_fields(
    provider: &Provider,
    config: &BTreeMap<String, String>,
    held: &BTreeSet<String>,
) -> Vec<FieldProblem> {
    provider
        .fields
        .iter()
        .filter(|f| f.required)
        .filter(|f| {
            if f.secret {
                !held.contains(&f.key)
            } else {
                !config.contains_key(&f.key)
            }
        })
        .map(|f| {
            let at = if f.secret {
                ProblemAt::Credential(f.key.clone())
            } else {
                ProblemAt::Setting(f.key.clone())
            };
            FieldProblem::new(
                at,
                format!("{} is required to connect {}.", f.label, provider.name),
            )
        })
        .collect()
}

/// Whether the secrets held (by key) are what the provider's verify needs to run at all.
pub fn holds_credentials(provider: &Provider, held: &BTreeSet<String>) -> bool {
    match provider.auth.kind() {
        AuthKind::Oauth2 => held.contains(ACCESS_TOKEN),
        AuthKind::ApiKey | AuthKind::Basic => provider
            .secret_fields()
            .filter(|f| f.required)
            .all(|f| held.contains(&f.key)),
        AuthKind::PublicId => true,
    }
}

fn apply_config(config: &mut BTreeMap<String, String>, change: &BTreeMap<String, Option<String>>) {
    for (key, value) in change {
        match value {
            Some(value) => config.insert(key.clone(), value.trim().to_owned()),
            None => config.remove(key),
        };
    }
}

/// One input a plan decides on; the check's result goes in once it has run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// New credentials or settings; `checked` when the check is to vouch for them.
    Save {
        checked: bool,
    },
    Enable,
    Disable,
}

/// What a valid change comes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The connection with the change's settings applied: what the check runs against, and
    /// what the first step is decided on.
    pub connection: Connection,
    /// Whether the provider's verify request is to run, with the settings above and the
    /// credentials as they are after the change, before anything is decided.
    pub needs_check: bool,
    pub steps: Vec<Step>,
    by: Option<UserId>,
    now: DateTime<Utc>,
}

/// Plans a change of `connection` (as stored, or `Connection::unstored`) whose stored secrets
/// are `held` (by key; a secret that no longer opens is not held). `Err` names every problem;
/// nothing is to be done then.
pub fn plan(
    connection: &Connection,
    held: &BTreeSet<String>,
    provider: &Provider,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<Plan, Vec<FieldProblem>> {
    let problems = check_change(provider, change);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut next = connection.clone();
    apply_config(&mut next.config, &change.config);
    let mut held = held.clone();
    for (key, edit) in &change.credentials {
        match edit {
            CredentialEdit::Put { .. } => held.insert(key.clone()),
            CredentialEdit::Remove => held.remove(key),
        };
    }
    let brings_credentials = change.brings_credentials();
    let settings_changed =
        brings_credentials || !change.config.is_empty() || change.removes_credentials();
    // A public id has no secret: its settings are what is checked.
    let public_id_configured =
        provider.auth.kind() == AuthKind::PublicId && !change.config.is_empty();
    if brings_credentials || public_id_configured {
        let missing = missing_fields(provider, &next.config, &held);
        if !missing.is_empty() {
            return Err(missing);
        }
    }
    let ready = holds_credentials(provider, &held);
    let turning_on = change.enabled == Some(true) && !connection.enabled;
    // New credentials, and new settings of a live connection, are checked before they are kept;
    // so is a connection being turned back on. One check serves both.
    let check_settings = ready
        && (brings_credentials
            || public_id_configured
            || (settings_changed && connection.status.is_live()));
    let mut steps = Vec::new();
    if settings_changed {
        steps.push(Step::Save {
            checked: check_settings,
        });
    }
    match change.enabled {
        Some(true) if turning_on => steps.push(Step::Enable),
        Some(false) if connection.enabled => steps.push(Step::Disable),
        _ => {}
    }
    Ok(Plan {
        connection: next,
        needs_check: check_settings || (turning_on && ready),
        steps,
        by: change.by,
        now,
    })
}

impl Plan {
    /// The inputs to decide on, in order, given the check's result (`Some` exactly when
    /// `needs_check`).
    pub fn inputs(&self, check: Option<Check>) -> Vec<Input> {
        self.steps
            .iter()
            .map(|step| match *step {
                Step::Save { checked } => Input::Saved {
                    check: check.clone().filter(|_| checked),
                    by: self.by,
                },
                Step::Enable => Input::Enabled {
                    check: check.clone(),
                },
                Step::Disable => Input::Disabled,
            })
            .collect()
    }

    /// Decides every input in turn, each on the connection the one before left. Empty when
    /// the change changes nothing; `Err` when saved credentials failed their check (nothing is
    /// to be kept then).
    pub fn decide(
        &self,
        provider: &Provider,
        check: Option<Check>,
    ) -> Result<Vec<Decision>, Rejected> {
        let mut connection = self.connection.clone();
        let mut decisions = Vec::new();
        for input in self.inputs(check) {
            let decision = decide(&connection, provider, input, self.now)?;
            connection = decision.connection.clone();
            decisions.push(decision);
        }
        Ok(decisions)
    }
}

/// Where a check of a stored connection stands before the provider is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredCheck {
    /// Everything the verify request needs is stored: run it.
    Run,
    /// A stored secret no longer opens: the check has failed without asking the provider.
    Failed(Check),
    /// Nothing to check with: it is not connected.
    NothingToCheck,
}

/// Whether a stored connection can be checked, given the secrets it holds (by key) and those
/// stored that no longer open.
pub fn stored_check(
    connection: &Connection,
    held: &BTreeSet<String>,
    unreadable: &[String],
    provider: &Provider,
) -> StoredCheck {
    if !unreadable.is_empty() {
        return StoredCheck::Failed(Check::Refused(Problem {
            code: ProblemCode::CredentialsUnreadable,
            message: format!(
                "The stored credentials for {} can no longer be read: they were altered or belong to another record. Enter them again (or reconnect) to restore the connection.",
                provider.name
            ),
        }));
    }
    if !holds_credentials(provider, held)
        || (provider.auth.kind() == AuthKind::PublicId && connection.config.is_empty())
    {
        return StoredCheck::NothingToCheck;
    }
    StoredCheck::Run
}
