//! "Sync now": renews the token first when it is close to expiry, then re-runs the provider's
//! verify request and records a `sync` event (the lifecycle stamps `last_sync_at`).

use chrono::{Duration, Utc};
use domain::OrgId;
use domain::lifecycle::CheckKind;
use domain::model::Actor;
use domain::registry::AuthKind;
use persistence::connections;

use super::catalog::{IntegrationView, provider, tenant_level, view};
use super::integrations::check_stored;
use super::lifecycle::{Secrets, store};
use crate::error::ApiResult;
use crate::state::AppState;

/// A token closer to expiry than this is renewed before the check.
const RENEW_WITHIN: Duration = Duration::minutes(5);

pub async fn sync<'r>(
    state: &'r AppState,
    org_id: OrgId,
    actor: &Actor,
    provider_id: &str,
) -> ApiResult<IntegrationView<'r>> {
    let provider = provider(state, provider_id)?;
    tenant_level(provider)?;
    let existing = connections::find(&state.db, org_id, &provider.id).await?;
    let expiring = existing
        .as_ref()
        .and_then(|c| c.token_expires_at)
        .is_some_and(|at| at <= Utc::now() + RENEW_WITHIN);
    let has_refresh_token = match &existing {
        Some(c) => connections::secret_hints_of(&state.db, org_id, c.id)
            .await?
            .iter()
            .any(|h| h.field == super::checks::REFRESH_TOKEN),
        None => false,
    };
    let existing = if provider.auth.kind() == AuthKind::Oauth2 && expiring && has_refresh_token {
        // Waits for a renewal already in flight; an outage is answered as such.
        super::refresh::refresh(state, org_id, actor, provider_id).await?;
        connections::find(&state.db, org_id, &provider.id).await?
    } else {
        existing
    };
    let (decision, _) =
        check_stored(state, provider, existing, CheckKind::Sync, Utc::now()).await?;
    store(state, org_id, actor, provider, decision, Secrets::none()).await?;
    view(&state.db, org_id, provider).await
}
