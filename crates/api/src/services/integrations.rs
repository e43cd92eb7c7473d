//! A brand's connections: configure, test, enable, disable, disconnect, connect by OAuth, and
//! their history.
//!
//! Credentials are proven before they are kept: a PATCH that brings credentials runs the
//! provider's verify request first and stores nothing when it fails. What a change does to
//! the connection's status is the lifecycle's decision (`domain::lifecycle`); this module
//! gathers the facts and stores the decision with its event in one transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::lifecycle::{self, Check, CheckKind, Decision, Grant, Input, Rejected};
use domain::model::{Actor, Connection, ConnectionEvent, Problem};
use domain::registry::{AuthKind, Provider};
use domain::verify::VerifyOutcome;
use domain::{ConnectionStatus, OrgId};
use persistence::events::EventFilter;
use persistence::page::{Page, PageRequest};
use persistence::{StoreError, connections, events};
use secrecy::SecretString;

use super::catalog::{IntegrationView, provider, tenant_level, view};
use super::checks::{ACCESS_TOKEN, REFRESH_TOKEN, has_credentials, open_secrets, run_verify};
use super::lifecycle::{Secrets, store, store_in};
use super::vault::Vault;
use crate::auth::TenantContext;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::state::AppState;

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

/// The answer to saved credentials that failed their check: nothing was kept.
fn refusal(rejected: Rejected) -> ApiError {
    let Problem { code, message } = rejected.problem;
    let code = ErrorCode::from_domain(&code);
    if rejected.unavailable {
        ApiError::unavailable(code, message)
    } else {
        ApiError::unprocessable(code, message)
    }
}

/// Runs one input through the lifecycle; only saved credentials can be refused.
fn decide(
    connection: &Connection,
    provider: &Provider,
    input: Input,
    now: DateTime<Utc>,
) -> ApiResult<Decision> {
    lifecycle::decide(connection, provider, input, now).map_err(refusal)
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
    let before =
        existing.unwrap_or_else(|| Connection::unstored(ctx.org_id, &provider.id, Utc::now()));
    let mut connection = before.clone();
    apply_config(&mut connection.config, &change.config);
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
    let public_id_configured =
        provider.auth.kind() == AuthKind::PublicId && !change.config.is_empty();
    if brings_credentials || public_id_configured {
        let missing = missing_fields(provider, &connection.config, &secrets);
        if !missing.is_empty() {
            return Err(ApiError::validation(missing));
        }
    }
    let ready = has_credentials(provider, &secrets);
    let turning_on = change.enabled == Some(true) && !before.enabled;
    let now = Utc::now();

    // New credentials, and new settings of a live connection, are checked before they are kept;
    // so is a connection being turned back on. One check serves both.
    let check_settings = ready
        && (brings_credentials
            || public_id_configured
            || (settings_changed && before.status.is_live()));
    let check = if check_settings || (turning_on && ready) {
        Some(Check::from(
            run_verify(state, provider, &connection.config, &secrets).await,
        ))
    } else {
        None
    };

    let mut decisions = Vec::new();
    if settings_changed {
        let input = Input::Saved {
            check: check.clone().filter(|_| check_settings),
            by: ctx.user_id(),
        };
        let decision = decide(&connection, provider, input, now)?;
        connection = decision.connection.clone();
        decisions.push(decision);
    }
    match change.enabled {
        Some(true) if turning_on => {
            let input = Input::Enabled { check };
            decisions.push(decide(&connection, provider, input, now)?);
        }
        Some(false) if before.enabled => {
            decisions.push(decide(&connection, provider, Input::Disabled, now)?);
        }
        _ => {}
    }
    if decisions.is_empty() {
        return view(&state.db, ctx.org_id, provider).await;
    }

    let vault = Vault {
        keys: &state.keys,
        org_id: ctx.org_id,
        provider: &provider.id,
    };
    let put = change
        .credentials
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| vault.seal(k, v, true)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::internal)?;
    let mut secrets = Some(Secrets {
        put,
        remove: removed,
    });
    let actor = ctx.actor();
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let mut version = before.version;
    for mut decision in decisions {
        // Each decision of one PATCH builds on the one before: same read, successive versions.
        decision.connection.version = version;
        let saved = store_in(
            &txn,
            ctx.org_id,
            &actor,
            provider,
            decision,
            secrets.take().unwrap_or_else(Secrets::none),
        )
        .await?;
        version = saved.version;
    }
    txn.commit().await.map_err(StoreError::from)?;
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
    let existing = connections::find(&state.db, ctx.org_id, &provider.id).await?;
    let now = Utc::now();
    let (decision, check) = check_stored(state, provider, existing, CheckKind::Test, now).await?;
    let event = decision.event.clone();
    let saved = store(
        state,
        ctx.org_id,
        &ctx.actor(),
        provider,
        decision,
        Secrets::none(),
    )
    .await?;
    Ok(TestReport {
        ok: matches!(check, Check::Verified { .. }),
        status: saved.status,
        code: event.code,
        message: event.message,
        checked_at: now,
    })
}

/// Runs the verify request against a stored connection's credentials and decides what it
/// means; a 409 when there is nothing to check.
pub(crate) async fn check_stored(
    state: &AppState,
    provider: &Provider,
    existing: Option<Connection>,
    kind: CheckKind,
    now: DateTime<Utc>,
) -> ApiResult<(Decision, Check)> {
    let not_connected = || {
        ApiError::conflict(
            ErrorCode::NotConnected,
            format!(
                "{} is not connected yet. Save its credentials (or connect it) before testing.",
                provider.name
            ),
        )
    };
    let existing = existing.ok_or_else(not_connected)?;
    let opened = open_secrets(state, existing.org_id, provider, Some(&existing)).await?;
    let check = if !opened.unreadable.is_empty() {
        Check::Refused(Problem {
            code: "credentials_unreadable".to_owned(),
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
        Check::from(run_verify(state, provider, &existing.config, &opened.secrets).await)
    };
    let input = Input::Checked {
        kind,
        check: check.clone(),
    };
    Ok((decide(&existing, provider, input, now)?, check))
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
    let decision = decide(&existing, provider, Input::Disconnected, Utc::now())?;
    let actor = ctx.actor();
    // The flags that rely on this provider go off in the same transaction, so no flag is left
    // on for a provider that is gone.
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let saved = store_in(
        &txn,
        ctx.org_id,
        &actor,
        provider,
        decision,
        Secrets::none(),
    )
    .await?;
    super::features::turn_off_dependants(&txn, state, ctx.org_id, provider, saved.id, &actor)
        .await?;
    txn.commit().await.map_err(StoreError::from)?;
    view(&state.db, ctx.org_id, provider).await
}

/// The connection's history, newest first.
pub async fn history(
    state: &AppState,
    org_id: OrgId,
    provider_id: &str,
    filter: EventFilter<'_>,
    request: PageRequest,
) -> ApiResult<Page<ConnectionEvent>> {
    let provider = provider(state, provider_id)?;
    match connections::find(&state.db, org_id, &provider.id).await? {
        Some(connection) => {
            Ok(events::list(&state.db, org_id, connection.id, filter, request).await?)
        }
        None => Ok(Page {
            items: Vec::new(),
            next: None,
        }),
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
    let mut connection =
        existing.unwrap_or_else(|| Connection::unstored(org_id, &provider.id, Utc::now()));
    connection.config.extend(claimed.config.clone());
    let mut secrets = BTreeMap::from([(ACCESS_TOKEN.to_owned(), tokens.access_token.clone())]);
    if let Some(refresh) = &tokens.refresh_token {
        secrets.insert(REFRESH_TOKEN.to_owned(), refresh.clone());
    }
    let (account_name, account_id, message) = match run_verify(
        state,
        provider,
        &connection.config,
        &secrets,
    )
    .await
    {
        VerifyOutcome::Verified {
            account_name,
            account_id,
            message,
        } => (account_name, account_id, message),
        VerifyOutcome::Failed(failure) => {
            tracing::warn!(provider = %provider.id, code = failure.code, "new tokens failed verification");
            return Ok(Err(failure.code));
        }
    };
    let grant = Grant {
        account_name: account_name.or(tokens.account_name),
        account_id: account_id.or(tokens.account_id),
        scopes: tokens.scopes,
        expires_at: tokens.expires_at,
        message,
    };
    let input = Input::OAuthConnected {
        grant,
        by: claimed.user_id,
    };
    let decision = decide(&connection, provider, input, Utc::now())?;
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
    store(state, org_id, &actor, provider, decision, Secrets::put(put)).await?;
    Ok(Ok(()))
}
