//! Platform readiness for platform admins: which platform variables are set (never their
//! values), how every organization's connections are doing, the operator's checklist, the
//! recent history, and a live check of the platform-level providers.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use domain::model::ConnectionEvent;
use domain::readiness::{self, ChecklistItem, HealthState, ServiceReadiness, StatusCounts};
use domain::registry::versions::{self, VersionAlert};
use domain::registry::{Level, Provider};
use domain::verify::VerifyOutcome;
use persistence::page::{Page, PageRequest};
use persistence::{Backend, connections, events};

use super::catalog;
use super::checks::run_verify;
use crate::config::Settings;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError};
use crate::state::AppState;

pub struct Readiness<'r> {
    /// Pinned provider API versions that have lapsed or sunset within 90 days, soonest first.
    pub versions: Vec<VersionAlert<'r>>,
    pub services: Vec<ServiceReadiness<'r>>,
    pub health: Vec<ProviderHealth<'r>>,
    pub checklist: Vec<ChecklistItem>,
    pub history: Page<HistoryEntry<'r>>,
    pub inbound: Vec<InboundReadiness<'r>>,
}

/// One provider's webhooks to the platform's app: where they are registered, whether their
/// secret is set, and what has come so far.
pub struct InboundReadiness<'r> {
    pub provider: &'r Provider,
    pub scheme: domain::inbound::Scheme,
    /// Every URL to register with the provider (Meta has two).
    pub urls: Vec<String>,
    pub secret_env: &'r str,
    pub secret_set: bool,
    /// The provider's page on registering and verifying them.
    pub docs_url: &'r str,
    pub tally: persistence::inbound::Tally,
}

/// One provider's connections across every organization.
pub struct ProviderHealth<'r> {
    pub provider: &'r Provider,
    pub state: HealthState,
    pub counts: StatusCounts,
    pub missing: Vec<String>,
    pub latest: Option<ConnectionEvent>,
    pub guidance: String,
}

/// A history line with what it is about.
pub struct HistoryEntry<'r> {
    pub event: ConnectionEvent,
    pub org_name: String,
    /// `None` for a provider no longer in the registry.
    pub provider: Option<&'r Provider>,
    /// The provider's platform variables missing now.
    pub missing: Vec<String>,
}

/// Whether a platform variable counts as set, from what start-up recorded.
fn is_set(settings: &Settings) -> impl Fn(&str) -> bool + '_ {
    move |name| match name {
        "PLUGBOARD_ADMIN_EMAILS" => !settings.admin_emails.is_empty(),
        "PLUGBOARD_JWT_SECRET" => !settings.jwt_secret_generated,
        "PLUGBOARD_ENCRYPTION_KEYS" => !settings.encryption_keys_generated,
        "PLUGBOARD_PUBLIC_URL" => settings.public_url_explicit,
        // The embedded SQLite file is a stand-in: only PostgreSQL counts as set up.
        "DATABASE_URL" => settings.backend() == Backend::Postgres,
        other => settings.operator_set(other),
    }
}

/// Everything the readiness page shows; `request` pages the history.
pub async fn readiness(state: &AppState, request: PageRequest) -> ApiResult<Readiness<'_>> {
    let (counts, latest, recent, tallies) = tokio::try_join!(
        connections::platform_status_counts(&state.db),
        events::platform_latest_per_provider(&state.db),
        events::platform_recent(&state.db, request),
        persistence::inbound::platform_tallies(&state.db),
    )?;
    let is_set = is_set(&state.settings);
    let services: Vec<ServiceReadiness<'_>> = state
        .registry
        .providers()
        .iter()
        .map(|p| readiness::service(p, &is_set))
        .collect();

    let mut counts_by: HashMap<String, StatusCounts> = HashMap::new();
    for row in counts {
        counts_by
            .entry(row.provider)
            .or_default()
            .add(row.status, row.count);
    }
    let mut latest_by: HashMap<String, ConnectionEvent> = latest
        .into_iter()
        .map(|e| (e.provider.clone(), e))
        .collect();
    let health = services
        .iter()
        .map(|service| {
            let counts = counts_by.remove(&service.provider.id).unwrap_or_default();
            let (state, guidance) =
                readiness::health(service.provider, service.missing.len(), &counts);
            ProviderHealth {
                provider: service.provider,
                state,
                counts,
                missing: service.missing.clone(),
                latest: latest_by.remove(&service.provider.id),
                guidance,
            }
        })
        .collect();

    let missing_by: HashMap<&str, &Vec<String>> = services
        .iter()
        .map(|s| (s.provider.id.as_str(), &s.missing))
        .collect();
    let history = recent.map(|row| HistoryEntry {
        provider: state.registry.get(&row.event.provider),
        missing: missing_by
            .get(row.event.provider.as_str())
            .map(|m| (*m).clone())
            .unwrap_or_default(),
        org_name: row.org_name,
        event: row.event,
    });

    let mut tallies: HashMap<String, persistence::inbound::Tally> = tallies
        .into_iter()
        .map(|t| (t.provider.clone(), t))
        .collect();
    let inbound = state
        .registry
        .providers()
        .iter()
        .filter_map(|provider| {
            let inbound = provider.inbound.as_ref()?;
            let base = format!("/api/v1/webhooks/{}", provider.id);
            let paths: Vec<String> = if inbound.scheme.callbacks().is_empty() {
                vec![base]
            } else {
                inbound
                    .scheme
                    .callbacks()
                    .iter()
                    .map(|c| format!("{base}/{}", c.as_str()))
                    .collect()
            };
            Some(InboundReadiness {
                provider,
                scheme: inbound.scheme,
                urls: paths
                    .iter()
                    .map(|path| {
                        state
                            .settings
                            .public_url
                            .join(path)
                            .map(|u| u.to_string())
                            .unwrap_or_else(|_| path.clone())
                    })
                    .collect(),
                secret_env: &inbound.secret_env,
                docs_url: &inbound.docs_url,
                secret_set: is_set(&inbound.secret_env),
                tally: tallies.remove(&provider.id).unwrap_or_default(),
            })
        })
        .collect();

    let sign_ins = super::sso::probe_sign_ins(state).await;
    Ok(Readiness {
        inbound,
        versions: versions::alerts(
            &state.registry,
            Utc::now().date_naive(),
            versions::READINESS_WARNING_DAYS,
        ),
        checklist: readiness::checklist(&state.registry, &is_set, &sign_ins),
        health,
        history,
        services,
    })
}

/// The answer of a platform-level provider's live check.
pub struct PlatformCheck<'r> {
    pub provider: &'r Provider,
    pub outcome: VerifyOutcome,
    pub checked_at: DateTime<Utc>,
}

/// Runs a platform-level provider's verify request with the platform's own variables. Nothing
/// is stored: there is no organization to keep a connection or its history under.
pub async fn check_platform_provider<'r>(
    state: &'r AppState,
    provider_id: &str,
    config: &BTreeMap<String, String>,
) -> ApiResult<PlatformCheck<'r>> {
    let provider = catalog::provider(state, provider_id)?;
    if provider.level != Level::Platform {
        return Err(ApiError::conflict(
            ErrorCode::TenantLevel,
            format!(
                "Each organization connects {} itself; test it with POST /api/v1/orgs/{{org_id}}/integrations/{}/test.",
                provider.name, provider.id
            ),
        ));
    }
    check_config(provider, config)?;
    let outcome = run_verify(state, provider, config, &BTreeMap::new()).await;
    tracing::info!(
        provider = %provider.id,
        ok = matches!(outcome, VerifyOutcome::Verified { .. }),
        "platform provider checked"
    );
    Ok(PlatformCheck {
        provider,
        outcome,
        checked_at: Utc::now(),
    })
}

/// Settings for a platform provider's check (Sentry's region) must be its own fields' values.
fn check_config(provider: &Provider, config: &BTreeMap<String, String>) -> ApiResult<()> {
    let errors: Vec<FieldError> = config
        .iter()
        .filter_map(|(key, value)| {
            let problem = match provider.config_fields().find(|f| &f.key == key) {
                Some(field) => field.check(value).err()?,
                None => format!("{} has no setting named {key}.", provider.name),
            };
            Some(FieldError::new(format!("config.{key}"), problem))
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::EXTRA_PLATFORM_ENV;

    /// A checklist variable that `Settings::from_env` never reads would show as missing forever.
    #[test]
    fn every_checklist_variable_is_read_at_start() {
        for name in domain::readiness::TASK_VARIABLES
            .iter()
            .flat_map(|v| v.iter())
        {
            let special = name.starts_with("PLUGBOARD_") || *name == "DATABASE_URL";
            assert!(
                special || EXTRA_PLATFORM_ENV.contains(name),
                "{name} is not in EXTRA_PLATFORM_ENV"
            );
        }
    }
}
