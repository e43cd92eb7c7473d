//! The providers and what an organization has of each: lookups, the integrations list, and
//! whether a provider is one a brand may connect at all.

use std::collections::BTreeMap;

use domain::OrgId;
use domain::model::{Connection, SecretHint};
use domain::registry::{Level, Provider};
use persistence::Db;
use persistence::connections;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// A provider with the organization's connection to it, if any.
pub struct IntegrationView<'r> {
    pub provider: &'r Provider,
    pub connection: Option<Connection>,
    pub secrets: Vec<SecretHint>,
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
            ErrorCode::PlatformLevel,
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
    db: &Db,
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
