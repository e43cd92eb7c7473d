//! The public provider catalog: what can be connected and how. No secrets, no values.

use actix_web::{get, web};
use domain::registry::{Field, Provider};
use serde::Serialize;
use utoipa::ToSchema;

use super::ListOut;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct FieldOut {
    pub key: String,
    pub label: String,
    /// Secrets are write-only: they are never shown back.
    pub secret: bool,
    pub required: bool,
    /// `text`, `url`, `host` or `select`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    pub pattern: Option<String>,
    pub placeholder: Option<String>,
    pub help: Option<String>,
    /// Needed before the provider's consent screen (OAuth).
    pub before_consent: bool,
}

impl From<&Field> for FieldOut {
    fn from(f: &Field) -> Self {
        FieldOut {
            key: f.key.clone(),
            label: f.label.clone(),
            secret: f.secret,
            required: f.required,
            kind: f.kind.as_str(),
            options: f.options.clone(),
            pattern: f.pattern.clone(),
            placeholder: f.placeholder.clone(),
            help: f.help.clone().or_else(|| f.pattern_hint.clone()),
            before_consent: f.before_consent,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProviderOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: &'static str,
    pub category_label: &'static str,
    pub logo: String,
    pub docs_url: String,
    /// `oauth2`, `api_key`, `basic` or `public_id`.
    pub auth_type: &'static str,
    /// `required`, `recommended` or `optional` in onboarding.
    pub onboarding: &'static str,
    /// `tenant` (each brand connects) or `platform` (the platform holds one).
    pub level: &'static str,
    pub fields: Vec<FieldOut>,
    pub scopes: Vec<String>,
    pub feature_flag: String,
    /// Whether every platform variable this provider needs is set.
    pub platform_ready: bool,
}

pub fn provider_out(state: &AppState, p: &Provider) -> ProviderOut {
    ProviderOut {
        id: p.id.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        category: p.category.as_str(),
        category_label: p.category.label(),
        logo: p.logo.clone(),
        docs_url: p.docs_url.clone(),
        auth_type: p.auth.kind().as_str(),
        onboarding: p.onboarding.as_str(),
        level: p.level.as_str(),
        fields: p.fields.iter().map(FieldOut::from).collect(),
        scopes: p.oauth().map(|o| o.scopes.clone()).unwrap_or_default(),
        feature_flag: p.flag_key(),
        platform_ready: p
            .platform_env
            .iter()
            .all(|name| state.settings.platform_env.contains_key(name)),
    }
}

/// Every provider Plugboard can connect.
#[utoipa::path(tag = "providers", responses((status = 200, body = ListOut<ProviderOut>)))]
#[get("/providers")]
pub async fn list(state: web::Data<AppState>) -> web::Json<ListOut<ProviderOut>> {
    let data = state
        .registry
        .providers()
        .iter()
        .map(|p| provider_out(&state, p))
        .collect();
    web::Json(ListOut { data })
}
