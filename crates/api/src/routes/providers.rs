//! The public provider catalog: what can be connected and how. No secrets, no values.

use actix_web::{get, web};
use chrono::NaiveDate;
use domain::registry::{Field, Provider};
use serde::Serialize;
use utoipa::ToSchema;

use super::ListOut;
use crate::contract::{AuthType, Category, FieldKind, Level, OnboardingClass, ResourceKind};
use crate::state::AppState;

/// Something a connection of the provider can be pointed at, listed by
/// `GET …/integrations/{provider}/resources/{kind}`.
#[derive(Serialize, ToSchema)]
pub struct ResourceKindOut {
    pub kind: ResourceKind,
    /// How a person names one ("Ad account").
    pub label: String,
    /// The setting (`config` key) a choice is saved in.
    pub setting: String,
    /// Whether the connection needs one chosen before Plugboard uses it.
    pub required: bool,
    /// The kind chosen first, whose choice this one is listed under (a pixel under its ad
    /// account); until it is chosen, the listing answers 409 `parent_not_chosen`.
    pub depends_on: Option<ResourceKind>,
    /// What a caller does with the choice, or how the provider is read (a header to send).
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldOut {
    pub key: String,
    pub label: String,
    /// Secrets are write-only: they are never shown back.
    pub secret: bool,
    pub required: bool,
    pub kind: FieldKind,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    pub pattern: Option<String>,
    pub placeholder: Option<String>,
    pub help: Option<String>,
    /// Needed before the provider's consent screen (OAuth).
    pub before_consent: bool,
    /// The value used when none is given.
    pub default: Option<String>,
}

impl From<&Field> for FieldOut {
    fn from(f: &Field) -> Self {
        FieldOut {
            key: f.key.clone(),
            label: f.label.clone(),
            secret: f.secret,
            required: f.required,
            kind: f.kind.into(),
            options: f.options.clone(),
            pattern: f.pattern.clone(),
            placeholder: f.placeholder.clone(),
            help: f.help.clone().or_else(|| f.pattern_hint.clone()),
            before_consent: f.before_consent,
            default: f.default.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(json!({
    "id": "shopify",
    "name": "Shopify",
    "description": "Products, orders and checkout from your Shopify store.",
    "category": "commerce",
    "category_label": "Commerce",
    "logo": "shopify",
    "docs_url": "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant",
    "auth_type": "oauth2",
    "onboarding": "required",
    "level": "tenant",
    "fields": [
        {
            "key": "shop",
            "label": "Shop domain",
            "secret": false,
            "required": true,
            "kind": "host",
            "pattern": "^[a-z0-9][a-z0-9-]*\\.myshopify\\.com$",
            "placeholder": "your-store.myshopify.com",
            "help": "Shop domain must look like your-store.myshopify.com (lower-case letters, digits and hyphens).",
            "before_consent": true,
            "default": null
        }
    ],
    "resources": [],
    "scopes": [
        "read_products",
        "read_orders",
        "read_customers",
        "read_inventory"
    ],
    "feature_flag": "integrations.shopify",
    "platform_ready": true,
    "platform_missing": [],
    "api_version": "2026-10",
    "sunsets_on": "2027-10-01",
    "sunset_note": null,
    "version_source": "https://shopify.dev/docs/api/usage/versioning"
})))]
pub struct ProviderOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub category_label: &'static str,
    pub logo: String,
    pub docs_url: String,
    pub auth_type: AuthType,
    pub onboarding: OnboardingClass,
    pub level: Level,
    pub fields: Vec<FieldOut>,
    /// What a connection can be pointed at once connected.
    pub resources: Vec<ResourceKindOut>,
    pub scopes: Vec<String>,
    pub feature_flag: String,
    /// Whether it can be connected now: every platform variable it needs is set (with the
    /// sandbox on, by a sandbox stand-in that works against the sandbox only).
    pub platform_ready: bool,
    /// The platform variables the operator has not set (stand-ins included), never values.
    pub platform_missing: Vec<String>,
    /// The provider API version Plugboard calls, for a provider that versions its API.
    #[schema(example = "2026-10")]
    pub api_version: Option<String>,
    /// The day the provider switches that version off, as it publishes it; `null` when it
    /// publishes no date (then `sunset_note` says so).
    pub sunsets_on: Option<NaiveDate>,
    pub sunset_note: Option<String>,
    /// The provider's page that gives the version and its sunset.
    pub version_source: Option<String>,
}

pub fn provider_out(state: &AppState, p: &Provider) -> ProviderOut {
    let app = state.settings.platform_app(p);
    ProviderOut {
        id: p.id.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        category: p.category.into(),
        category_label: p.category.label(),
        logo: p.logo.clone(),
        docs_url: p.docs_url.clone(),
        auth_type: p.auth.kind().into(),
        onboarding: p.onboarding.into(),
        level: p.level.into(),
        fields: p.fields.iter().map(FieldOut::from).collect(),
        resources: p
            .resources
            .iter()
            .map(|r| ResourceKindOut {
                kind: r.kind.into(),
                label: r.label.clone(),
                setting: r.setting.clone(),
                required: r.required,
                depends_on: domain::resources::parent(p, r).map(|parent| parent.kind.into()),
                note: r.note.clone(),
            })
            .collect(),
        scopes: p.oauth().map(|o| o.scopes.clone()).unwrap_or_default(),
        feature_flag: p.flag_key(),
        platform_ready: app.usable,
        platform_missing: app.missing.iter().map(|m| (*m).to_owned()).collect(),
        api_version: p.api_version.clone(),
        sunsets_on: p.sunsets_on,
        sunset_note: p.sunset_note.clone(),
        version_source: p.version().map(|v| v.source.to_owned()),
    }
}

/// Every provider Plugboard can connect.
#[utoipa::path(
    operation_id = "listProviders",tag = "providers", responses((status = 200, body = ListOut<ProviderOut>)))]
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
