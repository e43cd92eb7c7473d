//! Feature flags of an organization: every provider's `integrations.<id>` flag and the
//! built-in features, each with the organization's choice (or the default) and whether it
//! takes effect. Turning on a flag that needs a connection needs that connection; a
//! disconnection turns its dependent flags off, and a reconnection leaves them off.

use std::collections::{BTreeMap, BTreeSet};

use domain::features::{self, FlagDef, FlagState};
use domain::lifecycle;
use domain::model::{Actor, EventAction};
use domain::registry::{Level, Provider};
use domain::{ConnectionId, EventCode, OrgId, UserId};
use persistence::events::{self, NewEvent};
use persistence::{DatabaseTransaction, connections, feature_flags};

use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::state::AppState;

/// A flag in one organization.
pub struct FlagView {
    pub def: FlagDef,
    pub state: FlagState,
}

/// The providers a flag can rely on now: the organization's `connected` connections, and the
/// platform-level providers whose platform variables are all set (the operator connects those
/// once for every brand).
pub(crate) async fn connected_providers(
    state: &AppState,
    org_id: OrgId,
) -> ApiResult<BTreeSet<String>> {
    let mut connected: BTreeSet<String> = connections::list(&state.db, org_id)
        .await?
        .into_iter()
        .filter(|c| {
            let set_up = state
                .registry
                .get(&c.provider)
                .is_some_and(|p| lifecycle::setup_missing(c, p).is_none());
            set_up && lifecycle::usable(Some(c)).is_ok()
        })
        .map(|c| c.provider)
        .collect();
    connected.extend(
        state
            .registry
            .providers()
            .iter()
            .filter(|p| p.level == Level::Platform && state.settings.platform_app(p).usable)
            .map(|p| p.id.clone()),
    );
    Ok(connected)
}

fn is_connected(def: &FlagDef, connected: &BTreeSet<String>) -> bool {
    def.requires
        .as_ref()
        .is_some_and(|provider| connected.contains(provider))
}

fn view(def: FlagDef, choice: Option<bool>, connected: &BTreeSet<String>) -> FlagView {
    let state = def.state(choice, is_connected(&def, connected));
    FlagView { def, state }
}

/// The 409 for turning on a flag whose provider is not connected, with the sentence to show.
fn needs_connection(state: &AppState, def: &FlagDef, provider_id: &str) -> ApiError {
    let detail = match state.registry.get(provider_id) {
        Some(p) if p.level == Level::Platform => format!(
            "{} (`{}`) needs {}, which the platform operator sets up once for every brand, and it is not ready yet. Ask the operator to set {}.",
            def.name,
            def.key,
            p.name,
            p.platform_env.join(", ")
        ),
        Some(p) => format!(
            "{} (`{}`) needs {} to be connected. Connect {} in Settings → Integrations first, then turn this on.",
            def.name, def.key, p.name, p.name
        ),
        None => format!(
            "{} (`{}`) needs a connection that is not set up.",
            def.name, def.key
        ),
    };
    ApiError::conflict(ErrorCode::ConnectionRequired, detail)
}

fn check(
    state: &AppState,
    def: &FlagDef,
    enabled: bool,
    connected: &BTreeSet<String>,
) -> ApiResult<()> {
    def.check_change(enabled, is_connected(def, connected))
        .map_err(|features::FlagError::NeedsConnection { provider, .. }| {
            needs_connection(state, def, &provider)
        })
}

pub async fn list(state: &AppState, org_id: OrgId) -> ApiResult<Vec<FlagView>> {
    let choices = feature_flags::choices(&state.db, org_id).await?;
    let connected = connected_providers(state, org_id).await?;
    Ok(features::catalog(&state.registry)
        .into_iter()
        .map(|def| {
            let choice = choices.get(&def.key).copied();
            view(def, choice, &connected)
        })
        .collect())
}

/// PATCH …/feature-flags/{key}.
pub async fn set(
    state: &AppState,
    org_id: OrgId,
    user: Option<UserId>,
    key: &str,
    enabled: bool,
) -> ApiResult<FlagView> {
    let def = features::catalog(&state.registry)
        .into_iter()
        .find(|d| d.key == key)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "There is no feature flag `{key}`. GET …/feature-flags lists them."
            ))
        })?;
    let connected = connected_providers(state, org_id).await?;
    check(state, &def, enabled, &connected)?;
    let choice = BTreeMap::from([(def.key.clone(), enabled)]);
    feature_flags::choose(&state.db, org_id, &choice, user).await?;
    Ok(view(def, Some(enabled), &connected))
}

/// Checks several choices at once (the onboarding `features` step) by the same rules as
/// `set`: an unknown key is a field error; turning on a flag whose provider is not connected
/// is a 409.
pub(crate) async fn check_choices(
    state: &AppState,
    org_id: OrgId,
    choices: &BTreeMap<String, bool>,
) -> ApiResult<()> {
    let catalog = features::catalog(&state.registry);
    let unknown: Vec<FieldError> = choices
        .keys()
        .filter(|key| !catalog.iter().any(|d| &d.key == *key))
        .map(|key| {
            FieldError::new(
                format!("data.flags.{key}"),
                format!("There is no feature flag `{key}`. GET …/feature-flags lists them."),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::validation(unknown));
    }
    let connected = connected_providers(state, org_id).await?;
    for def in catalog.iter().filter(|d| choices.contains_key(&d.key)) {
        check(state, def, choices[&def.key], &connected)?;
    }
    Ok(())
}

/// Inside a disconnection's transaction: turns off the flags that are on and rely on
/// `provider`, and records that in the connection's history. The choices stay off when the
/// provider is connected again, so nothing comes back on by surprise.
pub(crate) async fn turn_off_dependants(
    txn: &DatabaseTransaction,
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
    connection_id: ConnectionId,
    actor: &Actor,
) -> ApiResult<()> {
    let catalog = features::catalog(&state.registry);
    let choices = feature_flags::choices(txn, org_id).await?;
    let off = features::switched_off_by_disconnect(&catalog, &provider.id, &choices);
    if off.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = off.iter().map(|d| d.key.as_str()).collect();
    let user = match actor {
        Actor::User(id) => Some(*id),
        Actor::ApiKey(_) | Actor::System => None,
    };
    let now_off: BTreeMap<String, bool> = keys.iter().map(|k| ((*k).to_owned(), false)).collect();
    feature_flags::choose(txn, org_id, &now_off, user).await?;
    let message = format!(
        "Turned off because {} was disconnected: {}. Turn them on again once it is reconnected.",
        provider.name,
        keys.join(", ")
    );
    events::record(
        txn,
        org_id,
        NewEvent {
            connection_id,
            provider: &provider.id,
            action: EventAction::Configure,
            success: true,
            code: Some(EventCode::FlagsTurnedOff),
            message: &message,
            actor,
        },
    )
    .await?;
    Ok(())
}
