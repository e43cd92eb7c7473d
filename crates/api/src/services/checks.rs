//! Proving credentials work: opening what is stored and running a provider's verify request.

use std::collections::BTreeMap;

use domain::model::Connection;
use domain::registry::Provider;
use domain::verify::{self, FailureKind, VerifyFailure, VerifyOutcome, VerifyValues};
use domain::{OrgId, ProblemCode};
use persistence::connections;
use secrecy::SecretString;

use super::vault::{Opened, Vault};
use crate::error::ApiResult;
use crate::state::AppState;

pub use domain::oauth::{ACCESS_TOKEN, REFRESH_TOKEN};

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
    Ok(open_sealed(state, org_id, provider, sealed))
}

/// Opens ciphertexts already read.
pub(crate) fn open_sealed(
    state: &AppState,
    org_id: OrgId,
    provider: &Provider,
    sealed: BTreeMap<String, String>,
) -> Opened {
    Vault {
        keys: &state.keys,
        org_id,
        provider: &provider.id,
    }
    .open_all(sealed)
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
                code: ProblemCode::MissingValues,
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
