//! Connections: configure, verify, test, enable, disable, disconnect, and their history.
//!
//! Credentials are proven before they are kept: a PATCH that brings credentials runs the
//! provider's verify request first and stores nothing when it fails. Every change is written
//! in one transaction with its history event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::model::{Actor, Connection, ConnectionEvent, EventAction, Problem, SecretHint};
use domain::registry::{AuthKind, Level, Provider};
use domain::verify::{self, FailureKind, VerifyFailure, VerifyOutcome, VerifyValues};
use domain::{ConnectionStatus, OrgId};
use persistence::connections::{self, SealedSecret};
use persistence::events::{self, NewEvent};
use persistence::{DatabaseConnection, DatabaseTransaction, StoreError, TransactionTrait};
use secrecy::SecretString;

use super::vault::{Opened, Vault};
use crate::auth::TenantContext;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::startup::AppState;

/// Secret fields an OAuth connection keeps; they are not registry fields.
pub const ACCESS_TOKEN: &str = "access_token";
pub const REFRESH_TOKEN: &str = "refresh_token";

/// A provider with the organization's connection to it, if any.
pub struct IntegrationView<'r> {
    pub provider: &'r Provider,
    pub connection: Option<Connection>,
    pub secrets: Vec<SecretHint>,
}

/// A requested change. `None` in a map removes that value.
#[derive(Default)]
pub struct Change {
    pub credentials: BTreeMap<String, Option<SecretString>>,
    pub config: BTreeMap<String, Option<String>>,
    pub enabled: Option<bool>,
}

/// The answer to a connection test.
pub struct TestReport {
    pub ok: bool,
    pub status: ConnectionStatus,
    pub code: Option<String>,
    pub message: String,
    pub checked_at: DateTime<Utc>,
}

pub fn provider<'r>(state: &'r AppState, id: &str) -> ApiResult<&'r Provider> {
    state.registry.get(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "There is no provider `{id}`. GET /api/v1/providers lists them."
        ))
    })
}

/// Platform-level providers (monitoring the platform itself) are set up by the operator through
/// environment variables; a brand cannot connect or change them.
pub(crate) fn tenant_level(provider: &Provider) -> ApiResult<()> {
    if provider.level == Level::Platform {
        return Err(ApiError::conflict(
            "platform_level",
            format!(
                "{} is configured once for the whole platform by its operator (environment variables {}), not per organization.",
                provider.name,
                provider.platform_env.join(", ")
            ),
        ));
    }
    Ok(())
}

pub async fn list(state: &AppState, org_id: OrgId) -> ApiResult<Vec<IntegrationView<'_>>> {
    let mut connections: BTreeMap<String, Connection> = connections::list(&state.db, org_id)
        .await?
        .into_iter()
        .map(|c| (c.provider.clone(), c))
        .collect();
    let mut hints = connections::secret_hints(&state.db, org_id).await?;
    Ok(state
        .registry
        .providers()
        .iter()
        .map(|provider| {
            let connection = connections.remove(&provider.id);
            let secrets = connection
                .as_ref()
                .and_then(|c| hints.remove(&c.id))
                .unwrap_or_default();
            IntegrationView {
                provider,
                connection,
                secrets,
            }
        })
        .collect())
}

pub async fn get<'r>(
    state: &'r AppState,
    org_id: OrgId,
    provider_id: &str,
) -> ApiResult<IntegrationView<'r>> {
    let provider = provider(state, provider_id)?;
    view(&state.db, org_id, provider).await
}

pub(crate) async fn view<'r>(
    db: &DatabaseConnection,
    org_id: OrgId,
    provider: &'r Provider,
) -> ApiResult<IntegrationView<'r>> {
    let connection = connections::find(db, org_id, &provider.id).await?;
    let secrets = match &connection {
        Some(c) => connections::secret_hints_of(db, org_id, c.id).await?,
        None => Vec::new(),
    };
    Ok(IntegrationView {
        provider,
        connection,
        secrets,
    })
}

/// Checks a change against the registry; every problem is reported at once.
pub(crate) fn check_change(provider: &Provider, change: &Change) -> ApiResult<()> {
    let mut errors = Vec::new();
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
        errors.push(FieldError::new(
            "credentials",
            format!("{} connects with OAuth: start it with POST …/integrations/{}/oauth/start instead of sending credentials.", provider.name, provider.id),
        ));
    }
    for (key, value) in &change.credentials {
        let path = format!("credentials.{key}");
        match provider.field(key).filter(|f| f.secret) {
            None => errors.push(FieldError::new(
                path,
                format!(
                    "{} has no credential `{key}`; expected: {}.",
                    provider.name,
                    expected(true)
                ),
            )),
            Some(field) => match value {
                Some(value) => {
                    if let Err(message) = field.check(secrecy::ExposeSecret::expose_secret(value)) {
                        errors.push(FieldError::new(path, message));
                    }
                }
                None if field.required => errors.push(FieldError::new(
                    path,
                    format!(
                        "{} is required; send a new value instead of removing it.",
                        field.label
                    ),
                )),
                None => {}
            },
        }
    }
    for (key, value) in &change.config {
        let path = format!("config.{key}");
        match provider.field(key).filter(|f| !f.secret) {
            None => errors.push(FieldError::new(
                path,
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
                    errors.push(FieldError::new(path, message));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
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

/// Required fields with no value once the change is applied, as validation errors.
fn missing_fields(
    provider: &Provider,
    config: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, SecretString>,
) -> Vec<FieldError> {
    provider
        .fields
        .iter()
        .filter(|f| f.required)
        .filter(|f| {
            if f.secret {
                !secrets.contains_key(&f.key)
            } else {
                !config.contains_key(&f.key)
            }
        })
        .map(|f| {
            let section = if f.secret { "credentials" } else { "config" };
            FieldError::new(
                format!("{section}.{}", f.key),
                format!("{} is required to connect {}.", f.label, provider.name),
            )
        })
        .collect()
}

/// Whether the connection holds what its verify needs to run at all.
fn has_credentials(provider: &Provider, secrets: &BTreeMap<String, SecretString>) -> bool {
    match provider.auth.kind() {
        AuthKind::Oauth2 => secrets.contains_key(ACCESS_TOKEN),
        AuthKind::ApiKey | AuthKind::Basic => provider
            .secret_fields()
            .filter(|f| f.required)
            .all(|f| secrets.contains_key(&f.key)),
        AuthKind::PublicId => true,
    }
}

pub(crate) async fn open_secrets(
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
    connection: Option<&Connection>,
) -> ApiResult<Opened> {
    let sealed = match connection {
        Some(c) => connections::sealed_secrets(&state.db, org_id, c.id).await?,
        None => BTreeMap::new(),
    };
    Ok(Vault {
        keys: &state.keys,
        org_id,
        provider: &provider.id,
    }
    .open_all(sealed))
}

/// Runs a provider's verify with the given values and reads the outcome.
pub async fn run_verify(
    state: &AppState,
    provider: &Provider,
    config: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, SecretString>,
) -> VerifyOutcome {
    let values = VerifyValues {
        config,
        secrets,
        access_token: secrets.get(ACCESS_TOKEN),
        platform_env: &state.settings.platform_env,
    };
    let request = match verify::build_request(provider, &values) {
        Ok(Some(request)) => request,
        Ok(None) => return verify::format_verified(provider, config),
        Err(err) => {
            return VerifyOutcome::Failed(VerifyFailure {
                kind: FailureKind::Rejected,
                code: "missing_values",
                message: format!("{} cannot be checked yet: {err}.", provider.name),
            });
        }
    };
    tracing::debug!(provider = %provider.id, request = ?request, "verifying");
    match state.http.send(&request).await {
        Ok(answer) => verify::interpret(provider, &request, answer.status, &answer.body),
        Err(failure) => verify::transport_failure(provider, failure, state.http.timeout_secs()),
    }
}

/// A verify failure as the answer to a change that brought credentials.
fn refusal(failure: VerifyFailure) -> ApiError {
    match failure.kind {
        FailureKind::Rejected => ApiError::unprocessable(
            failure.code,
            format!("{} Nothing was saved.", failure.message),
        ),
        FailureKind::Unavailable => ApiError::unavailable(
            failure.code,
            format!("{} Nothing was saved.", failure.message),
        ),
    }
}

/// Everything one change writes, in one transaction.
pub(crate) struct Write<'a> {
    pub connection: Connection,
    pub put: Vec<SealedSecret>,
    pub remove: Vec<String>,
    pub remove_all: bool,
    pub event: Option<(EventAction, bool, Option<&'a str>, String)>,
}

pub(crate) async fn commit(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    existing: Option<&Connection>,
    write: Write<'_>,
) -> ApiResult<()> {
    let txn = state.db.begin().await.map_err(StoreError::from)?;
    write_in(&txn, org_id, actor, provider, existing, write).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// The writes of `commit` inside a transaction the caller owns (and may add to); answers the
/// connection's id.
async fn write_in(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    existing: Option<&Connection>,
    write: Write<'_>,
) -> ApiResult<domain::ConnectionId> {
    let row = match existing {
        Some(c) => c.clone(),
        None => connections::ensure(txn, org_id, &provider.id).await?,
    };
    let connection = Connection {
        id: row.id,
        created_at: row.created_at,
        ..write.connection
    };
    connections::update(txn, org_id, &connection).await?;
    if write.remove_all {
        connections::delete_secrets(txn, org_id, connection.id, None).await?;
    } else if !write.remove.is_empty() {
        connections::delete_secrets(txn, org_id, connection.id, Some(&write.remove)).await?;
    }
    connections::put_secrets(txn, org_id, connection.id, write.put).await?;
    if let Some((action, success, code, message)) = &write.event {
        events::record(
            txn,
            org_id,
            NewEvent {
                connection_id: connection.id,
                provider: &provider.id,
                action: *action,
                success: *success,
                code: *code,
                message,
                actor,
            },
        )
        .await?;
    }
    Ok(connection.id)
}

/// A connection as it is before its first write.
fn blank(org_id: OrgId, provider: &Provider) -> Connection {
    let now = Utc::now();
    Connection {
        id: domain::ConnectionId::new(),
        org_id,
        provider: provider.id.clone(),
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
        created_at: now,
        updated_at: now,
    }
}

/// Applies a verify outcome to a connection's status and bookkeeping.
fn record_outcome(
    connection: &mut Connection,
    provider: &Provider,
    outcome: &VerifyOutcome,
    now: DateTime<Utc>,
) {
    connection.last_tested_at = Some(now);
    match outcome {
        VerifyOutcome::Verified {
            account_name,
            account_id,
            ..
        } => {
            connection.last_error = None;
            if account_name.is_some() || account_id.is_some() {
                connection.account_name = account_name.clone();
                connection.account_id = account_id.clone();
            }
            connection.status = if connection.enabled {
                ConnectionStatus::Connected
            } else {
                ConnectionStatus::Disabled
            };
        }
        VerifyOutcome::Failed(failure) => {
            connection.last_error = Some(Problem {
                code: failure.code.to_owned(),
                message: failure.message.clone(),
            });
            let revoked_token =
                failure.kind == FailureKind::Rejected && provider.auth.kind() == AuthKind::Oauth2;
            connection.status = match (connection.enabled, revoked_token) {
                (false, _) => ConnectionStatus::Disabled,
                (true, true) => ConnectionStatus::Expired,
                (true, false) => ConnectionStatus::Error,
            };
        }
    }
}

fn outcome_event(outcome: &VerifyOutcome) -> (bool, Option<&'static str>, String) {
    match outcome {
        VerifyOutcome::Verified { message, .. } => (true, None, message.clone()),
        VerifyOutcome::Failed(f) => (false, Some(f.code), f.message.clone()),
    }
}

/// PATCH: new credentials or settings (verified before anything is kept), and/or the switch.
pub async fn update<'r>(
    state: &'r AppState,
    ctx: &TenantContext,
    provider_id: &str,
    change: Change,
) -> ApiResult<IntegrationView<'r>> {
    let provider = provider(state, provider_id)?;
    tenant_level(provider)?;
    check_change(provider, &change)?;
    let existing = connections::find(&state.db, ctx.org_id, &provider.id).await?;
    let opened = open_secrets(state, ctx.org_id, provider, existing.as_ref()).await?;
    let mut connection = existing
        .clone()
        .unwrap_or_else(|| blank(ctx.org_id, provider));
    let was_connected = connection.status == ConnectionStatus::Connected;
    apply_config(&mut connection.config, &change.config);
    if let Some(enabled) = change.enabled {
        connection.enabled = enabled;
    }
    let mut secrets = opened.secrets;
    let mut removed = Vec::new();
    for (key, value) in &change.credentials {
        match value {
            Some(value) => {
                secrets.insert(key.clone(), value.clone());
            }
            None => {
                secrets.remove(key);
                removed.push(key.clone());
            }
        }
    }
    let brings_credentials = change.credentials.values().any(Option::is_some);
    let settings_changed = brings_credentials || !change.config.is_empty() || !removed.is_empty();
    let now = Utc::now();

    let ready = has_credentials(provider, &secrets);
    let public_id_configured =
        provider.auth.kind() == AuthKind::PublicId && !change.config.is_empty();
    if brings_credentials || public_id_configured {
        let missing = missing_fields(provider, &connection.config, &secrets);
        if !missing.is_empty() {
            return Err(ApiError::validation(missing));
        }
    }
    let live = existing
        .as_ref()
        .is_some_and(|c| c.status != ConnectionStatus::NotConnected);
    let turned_back_on =
        change.enabled == Some(true) && existing.as_ref().is_some_and(|c| !c.enabled);
    let verify_now = ready
        && (brings_credentials
            || public_id_configured
            || (settings_changed && live)
            || turned_back_on);

    let mut event = None;
    if verify_now {
        let outcome = run_verify(state, provider, &connection.config, &secrets).await;
        if let VerifyOutcome::Failed(failure) = &outcome
            && settings_changed
        {
            return Err(refusal(failure.clone()));
        }
        record_outcome(&mut connection, provider, &outcome, now);
        let (success, code, message) = outcome_event(&outcome);
        if success && !was_connected {
            connection.connected_at = Some(now);
            connection.connected_by = ctx.user_id();
            connection.disconnected_at = None;
        }
        let action = match change.enabled {
            Some(true) if !settings_changed => EventAction::Enable,
            _ if success && !was_connected => EventAction::Connect,
            _ => EventAction::Configure,
        };
        event = Some((action, success, code, message));
    } else if let Some(enabled) = change.enabled {
        connection.status = match (enabled, ready, connection.status) {
            (false, _, _) => ConnectionStatus::Disabled,
            (true, _, ConnectionStatus::Disabled) if !ready => ConnectionStatus::NotConnected,
            (true, _, status) => status,
        };
        let (action, message) = if enabled {
            (
                EventAction::Enable,
                format!("{} was turned on.", provider.name),
            )
        } else {
            (
                EventAction::Disable,
                format!(
                    "{} was turned off; its credentials are kept.",
                    provider.name
                ),
            )
        };
        event = Some((action, true, None, message));
    } else if settings_changed {
        event = Some((
            EventAction::Configure,
            true,
            None,
            format!("{} settings were updated.", provider.name),
        ));
    }

    let vault = Vault {
        keys: &state.keys,
        org_id: ctx.org_id,
        provider: &provider.id,
    };
    let mut put = Vec::new();
    for (key, value) in change
        .credentials
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    {
        put.push(vault.seal(key, value, true).map_err(ApiError::internal)?);
    }
    commit(
        state,
        ctx.org_id,
        &ctx.actor(),
        provider,
        existing.as_ref(),
        Write {
            connection,
            put,
            remove: removed,
            remove_all: false,
            event,
        },
    )
    .await?;
    view(&state.db, ctx.org_id, provider).await
}

/// POST …/test: runs the verify request against what is stored, and records the result.
pub async fn test(
    state: &AppState,
    ctx: &TenantContext,
    provider_id: &str,
) -> ApiResult<TestReport> {
    let provider = provider(state, provider_id)?;
    tenant_level(provider)?;
    let not_connected = || {
        ApiError::conflict(
            "not_connected",
            format!(
                "{} is not connected yet. Save its credentials (or connect it) before testing.",
                provider.name
            ),
        )
    };
    let existing = connections::find(&state.db, ctx.org_id, &provider.id)
        .await?
        .ok_or_else(not_connected)?;
    let opened = open_secrets(state, ctx.org_id, provider, Some(&existing)).await?;
    let now = Utc::now();
    let outcome = if !opened.unreadable.is_empty() {
        VerifyOutcome::Failed(VerifyFailure {
            kind: FailureKind::Rejected,
            code: "credentials_unreadable",
            message: format!(
                "The stored credentials for {} can no longer be read: they were altered or belong to another record. Enter them again (or reconnect) to restore the connection.",
                provider.name
            ),
        })
    } else if !has_credentials(provider, &opened.secrets)
        || (provider.auth.kind() == AuthKind::PublicId && existing.config.is_empty())
    {
        return Err(not_connected());
    } else {
        run_verify(state, provider, &existing.config, &opened.secrets).await
    };
    let mut connection = existing.clone();
    record_outcome(&mut connection, provider, &outcome, now);
    if !opened.unreadable.is_empty() {
        connection.status = if connection.enabled {
            ConnectionStatus::Error
        } else {
            ConnectionStatus::Disabled
        };
    }
    let (ok, code, message) = outcome_event(&outcome);
    let status = connection.status;
    commit(
        state,
        ctx.org_id,
        &ctx.actor(),
        provider,
        Some(&existing),
        Write {
            connection,
            put: Vec::new(),
            remove: Vec::new(),
            remove_all: false,
            event: Some((EventAction::Test, ok, code, message.clone())),
        },
    )
    .await?;
    Ok(TestReport {
        ok,
        status,
        code: code.map(str::to_owned),
        message,
        checked_at: now,
    })
}

/// POST …/disconnect: forgets every secret; settings and history stay for a reconnect.
pub async fn disconnect<'r>(
    state: &'r AppState,
    ctx: &TenantContext,
    provider_id: &str,
) -> ApiResult<IntegrationView<'r>> {
    let provider = provider(state, provider_id)?;
    let Some(existing) = connections::find(&state.db, ctx.org_id, &provider.id).await? else {
        return view(&state.db, ctx.org_id, provider).await;
    };
    let connection = Connection {
        status: ConnectionStatus::NotConnected,
        enabled: true,
        account_name: None,
        account_id: None,
        scopes: Vec::new(),
        token_expires_at: None,
        last_error: None,
        disconnected_at: Some(Utc::now()),
        ..existing.clone()
    };
    let message = format!(
        "{} was disconnected; its credentials were deleted.",
        provider.name
    );
    let actor = ctx.actor();
    // The flags that rely on this provider go off in the same transaction, so no flag is left
    // on for a provider that is gone.
    let txn = state.db.begin().await.map_err(StoreError::from)?;
    let write = Write {
        connection,
        put: Vec::new(),
        remove: Vec::new(),
        remove_all: true,
        event: Some((EventAction::Disconnect, true, None, message)),
    };
    let connection_id =
        write_in(&txn, ctx.org_id, &actor, provider, Some(&existing), write).await?;
    super::features::turn_off_dependants(&txn, state, ctx.org_id, provider, connection_id, &actor)
        .await?;
    txn.commit().await.map_err(StoreError::from)?;
    view(&state.db, ctx.org_id, provider).await
}

/// The connection's history, newest first.
pub async fn history(
    state: &AppState,
    org_id: OrgId,
    provider_id: &str,
    before: Option<DateTime<Utc>>,
    limit: u64,
) -> ApiResult<Vec<ConnectionEvent>> {
    let provider = provider(state, provider_id)?;
    match connections::find(&state.db, org_id, &provider.id).await? {
        Some(connection) => {
            Ok(events::list(&state.db, org_id, connection.id, before, limit).await?)
        }
        None => Ok(Vec::new()),
    }
}

/// Stores an OAuth connection once its tokens have proven themselves with the provider's verify
/// request: the same connection row (settings, flags and history kept), now `connected`.
/// `Err` carries the code the SPA shows; nothing is stored then.
pub(crate) async fn connect_with_tokens(
    state: &AppState,
    claimed: &persistence::oauth_states::ClaimedState,
    provider: &Provider,
    tokens: domain::oauth::TokenSet,
) -> ApiResult<Result<(), &'static str>> {
    let org_id = claimed.org_id;
    let existing = connections::find(&state.db, org_id, &provider.id).await?;
    let mut connection = existing.clone().unwrap_or_else(|| blank(org_id, provider));
    connection.config.extend(claimed.config.clone());
    let mut secrets = BTreeMap::from([(ACCESS_TOKEN.to_owned(), tokens.access_token.clone())]);
    if let Some(refresh) = &tokens.refresh_token {
        secrets.insert(REFRESH_TOKEN.to_owned(), refresh.clone());
    }
    let outcome = run_verify(state, provider, &connection.config, &secrets).await;
    let VerifyOutcome::Verified {
        account_name,
        account_id,
        message,
    } = outcome
    else {
        if let VerifyOutcome::Failed(failure) = outcome {
            tracing::warn!(provider = %provider.id, code = failure.code, "new tokens failed verification");
            return Ok(Err(failure.code));
        }
        return Ok(Err("verify_failed"));
    };
    let now = Utc::now();
    connection.status = ConnectionStatus::Connected;
    connection.enabled = true;
    connection.account_name = account_name.or(tokens.account_name);
    connection.account_id = account_id.or(tokens.account_id);
    connection.scopes = tokens.scopes;
    connection.token_expires_at = Some(tokens.expires_at);
    connection.last_tested_at = Some(now);
    connection.last_error = None;
    connection.connected_at = Some(now);
    connection.connected_by = claimed.user_id;
    connection.disconnected_at = None;
    let vault = Vault {
        keys: &state.keys,
        org_id,
        provider: &provider.id,
    };
    let put = secrets
        .iter()
        .map(|(field, value)| vault.seal(field, value, false))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::internal)?;
    let actor = claimed.user_id.map_or(Actor::System, Actor::User);
    let write = Write {
        connection,
        put,
        remove: Vec::new(),
        remove_all: false,
        event: Some((EventAction::Connect, true, None, message)),
    };
    commit(state, org_id, &actor, provider, existing.as_ref(), write).await?;
    Ok(Ok(()))
}
