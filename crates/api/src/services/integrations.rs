//! A brand's connections: configure, test, enable, disable, disconnect, connect by OAuth, and
//! their history.
//!
//! What a change means is the lifecycle's to say (`domain::lifecycle::plan` and `decide`): what
//! is wrong with it, whether the provider's verify request must vouch for it first (nothing is
//! kept when it fails), and where the connection then stands. This module reads the connection
//! once, runs the check the plan asks for, stores the decisions with their events in one
//! transaction, and answers with what it wrote.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use domain::lifecycle::{
    self, Check, CheckKind, CredentialEdit, Decision, FieldProblem, Grant, Input, Rejected,
    StoredCheck,
};
use domain::model::{Actor, Connection, ConnectionEvent, Problem};
use domain::registry::Provider;
use domain::resources::Item;
use domain::verify::VerifyOutcome;
use domain::{ConnectionStatus, OrgId, ProblemCode, UserId};
use persistence::events::EventFilter;
use persistence::page::{Page, PageRequest};
use persistence::{StoreError, connections, events};
use secrecy::{ExposeSecret, SecretString};

use super::catalog::{IntegrationView, provider, tenant_level};
use super::checks::{ACCESS_TOKEN, REFRESH_TOKEN, open_secrets, run_verify};
use super::lifecycle::{Secrets, store, store_in, store_in_turn};
use super::proxy::Proposed;
use super::proxy::forget_connection;
use super::resources::{self, Looked, Using};
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

impl Change {
    /// The change as the lifecycle sees it: credentials by key, each new value checked
    /// against its field and left here.
    fn for_lifecycle(&self, provider: &Provider, by: Option<UserId>) -> lifecycle::Change {
        let credentials = self
            .credentials
            .iter()
            .map(|(key, value)| {
                let edit = match value {
                    Some(value) => CredentialEdit::put(provider, key, value.expose_secret()),
                    None => CredentialEdit::Remove,
                };
                (key.clone(), edit)
            })
            .collect();
        lifecycle::Change {
            credentials,
            config: self.config.clone(),
            enabled: self.enabled,
            by,
        }
    }

    /// The secrets a connection holds once this change is applied.
    fn applied_to(
        &self,
        mut secrets: BTreeMap<String, SecretString>,
    ) -> BTreeMap<String, SecretString> {
        for (key, value) in &self.credentials {
            match value {
                Some(value) => secrets.insert(key.clone(), value.clone()),
                None => secrets.remove(key),
            };
        }
        secrets
    }

    /// What the change writes of the secrets, sealed: new values, and keys to delete.
    fn sealed(&self, vault: &Vault<'_>) -> ApiResult<Secrets> {
        let mut secrets = Secrets::none();
        for (key, value) in &self.credentials {
            match value {
                Some(value) => secrets
                    .put
                    .push(vault.seal(key, value, true).map_err(ApiError::internal)?),
                None => secrets.remove.push(key.clone()),
            }
        }
        Ok(secrets)
    }
}

/// The answer to a connection test.
pub struct TestReport {
    pub ok: bool,
    pub status: ConnectionStatus,
    pub code: Option<ProblemCode>,
    pub message: String,
    pub checked_at: DateTime<Utc>,
}

/// The answer to a change that breaks the provider's field rules.
pub(crate) fn invalid(problems: Vec<FieldProblem>) -> ApiError {
    ApiError::validation(
        problems
            .into_iter()
            .map(|p| FieldError::new(p.at.to_string(), p.message))
            .collect(),
    )
}

/// The answer to saved credentials that failed their check: nothing was kept.
fn refusal(rejected: Rejected) -> ApiError {
    let Problem { code, message } = rejected.problem;
    let code = ErrorCode::from(code);
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
    let existing = connections::find(&state.db, ctx.org_id, &provider.id).await?;
    let opened = open_secrets(state, ctx.org_id, provider, existing.as_ref()).await?;
    let read = existing
        .clone()
        .unwrap_or_else(|| Connection::unstored(ctx.org_id, &provider.id, Utc::now()));
    let held: BTreeSet<String> = opened.secrets.keys().cloned().collect();
    let requested = change.for_lifecycle(provider, ctx.user_id());
    let plan = lifecycle::plan(&read, &held, provider, &requested, Utc::now()).map_err(invalid)?;
    let config = &plan.connection.config;
    let secrets = change.applied_to(opened.secrets);
    // A choice saved with new credentials must be reachable with those, not the old ones.
    let proposed = Proposed {
        config,
        secrets: &secrets,
    };
    let using = if change.credentials.is_empty() {
        Using::Stored(config)
    } else {
        Using::Proposed(&proposed)
    };
    let verified = if plan.needs_check {
        Some(Check::from(
            run_verify(state, provider, config, &secrets).await,
        ))
    } else {
        None
    };
    // Credentials the provider refused are the answer; what they would point at is not asked.
    let refused = verified
        .as_ref()
        .is_some_and(|check| !matches!(check, Check::Verified { .. }));
    let chosen = if refused {
        Vec::new()
    } else {
        check_chosen_resources(state, ctx, provider, existing.as_ref(), using, config).await?
    };
    let check = match (verified, &existing) {
        (Some(check), Some(stored)) => {
            let actor = ctx.actor();
            let looked = Looked {
                stored,
                using,
                known: &chosen,
            };
            Some(resources::carry_on(state, &actor, provider, looked, check).await?)
        }
        (verified, _) => verified,
    };
    let decisions = plan.decide(provider, check).map_err(refusal)?;
    if decisions.is_empty() {
        // Nothing changes: the answer is what was read.
        let secrets = match &existing {
            Some(c) => connections::secret_hints_of(&state.db, ctx.org_id, c.id).await?,
            None => Vec::new(),
        };
        return Ok(IntegrationView {
            provider,
            connection: existing,
            secrets,
        });
    }
    let vault = Vault {
        keys: &state.keys,
        org_id: ctx.org_id,
        provider: &provider.id,
    };
    let secrets = change.sealed(&vault)?;
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let saved = store_in_turn(&txn, ctx.org_id, &ctx.actor(), provider, decisions, secrets).await?;
    let view = written(&txn, ctx.org_id, provider, saved).await?;
    txn.commit().await.map_err(StoreError::from)?;
    forget_connection(state, ctx.org_id, &provider.id);
    Ok(view)
}

/// A setting that points a connected connection at a resource (an ad account, a channel) is
/// checked with the provider first: one it cannot reach is refused, naming the field, and
/// nothing is stored. New credentials saved with it are what it is checked with, whatever the
/// stored connection's state; otherwise a connection not usable yet is checked once it is
/// connected. Answers what the provider showed of each, so the save's own check does not ask
/// again.
async fn check_chosen_resources(
    state: &AppState,
    ctx: &TenantContext,
    provider: &Provider,
    existing: Option<&Connection>,
    using: Using<'_>,
    config: &BTreeMap<String, String>,
) -> ApiResult<Vec<Item>> {
    let unstored = BTreeMap::new();
    let before = match existing {
        Some(connection) if resources::may_look(Some(connection)) => &connection.config,
        _ if matches!(using, Using::Stored(_)) => return Ok(Vec::new()),
        Some(connection) => &connection.config,
        None => &unstored,
    };
    let mut found = Vec::new();
    for (resource, id) in domain::resources::chosen(provider, before, config) {
        let actor = ctx.actor();
        let seen =
            resources::look_up(state, ctx.org_id, &actor, provider, resource, using, &id).await?;
        let Some(item) = seen else {
            return Err(ApiError::unprocessable(
                ErrorCode::ResourceNotAccessible,
                format!(
                    "This {} connection cannot reach the {} `{id}`; choose one from the list.",
                    provider.name,
                    resource.label.to_lowercase()
                ),
            )
            .with_errors(vec![FieldError::new(
                format!("config.{}", resource.setting),
                format!(
                    "{} cannot reach {} `{id}` with this connection. Choose one from the list of {}s it can use.",
                    provider.name,
                    resource.label.to_lowercase(),
                    resource.label.to_lowercase()
                ),
            )]));
        };
        found.push(item);
    }
    Ok(found)
}

/// The answer to a change, from what its transaction wrote: the connection as stored, and its
/// secrets as they stand once the write is done.
async fn written<'r>(
    txn: &persistence::DatabaseTransaction,
    org_id: OrgId,
    provider: &'r Provider,
    saved: Option<Connection>,
) -> ApiResult<IntegrationView<'r>> {
    let secrets = match &saved {
        Some(c) => connections::secret_hints_of(txn, org_id, c.id).await?,
        None => Vec::new(),
    };
    Ok(IntegrationView {
        provider,
        connection: saved,
        secrets,
    })
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
    let code = match &check {
        Check::Verified { .. } => None,
        Check::Refused(problem) | Check::Unavailable(problem) | Check::Lost(problem) => {
            Some(problem.code)
        }
    };
    Ok(TestReport {
        ok: code.is_none(),
        status: saved.status,
        code,
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
    let held: BTreeSet<String> = opened.secrets.keys().cloned().collect();
    let check = match lifecycle::stored_check(&existing, &held, &opened.unreadable, provider) {
        StoredCheck::Run => {
            let verified =
                Check::from(run_verify(state, provider, &existing.config, &opened.secrets).await);
            let looked = Looked {
                stored: &existing,
                using: Using::Stored(&existing.config),
                known: &[],
            };
            resources::carry_on(state, &Actor::System, provider, looked, verified).await?
        }
        StoredCheck::Failed(check) => check,
        StoredCheck::NothingToCheck => return Err(not_connected()),
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
        return Ok(IntegrationView {
            provider,
            connection: None,
            secrets: Vec::new(),
        });
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
    let view = written(&txn, ctx.org_id, provider, Some(saved)).await?;
    txn.commit().await.map_err(StoreError::from)?;
    forget_connection(state, ctx.org_id, &provider.id);
    Ok(view)
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
) -> ApiResult<Result<(), ProblemCode>> {
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
            tracing::warn!(provider = %provider.id, code = %failure.code, "new tokens failed verification");
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
