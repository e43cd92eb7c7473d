//! `/orgs/{org_id}/onboarding`: the wizard's progress, kept on the server so every client sees
//! the same steps, rules and saved data.

use std::collections::BTreeMap;

use actix_web::{get, patch, web};
use chrono::{DateTime, Utc};
use domain::onboarding::{BasicInfo, MAX_DOMAINS, Step, parse_host};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::invitations::{InvitationCreatedOut, InvitationIn};
use crate::auth::{OrgMember, OrgOwnerOrAdmin};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::services::invitations::NewInvite;
use crate::services::onboarding::{
    self as service, ImportChoice, Progress, ShopifySetup, StepInput, StepView,
};
use crate::state::AppState;

/// The most invitations one step sends.
const MAX_INVITATIONS: usize = 50;

#[derive(Serialize, ToSchema)]
pub struct OnboardingStepOut {
    pub id: crate::contract::StepId,
    pub status: crate::contract::StepStatus,
    pub required: bool,
    /// Worth doing now though not required (Stripe Connect).
    pub recommended: bool,
    pub can_skip: bool,
    /// What the step saved (`null` until it saved something). `basic_info`: name, website,
    /// timezone, currency. `connect_shopify`: shop, account_name. `shopify_setup`: shop and the
    /// sync_* choices. `domains`: domains with status and the `dns_record` to add. `payments`:
    /// Stripe's status and account. `integrations`: the connected ones. `features`: the flag
    /// choices. `import_products`: choice, product_count, counted_at. `invite_users`: who was
    /// invited. `review_launch`: the integrations summary (connected, failed, skipped).
    #[schema(value_type = Option<Object>)]
    pub data: Value,
    /// When the step was first completed.
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<StepView> for OnboardingStepOut {
    fn from(view: StepView) -> Self {
        OnboardingStepOut {
            id: view.step.into(),
            status: view.status.into(),
            required: view.step.required(),
            recommended: view.step.class() == domain::onboarding::StepClass::Recommended,
            can_skip: view.step.can_skip(),
            data: view.data,
            completed_at: view.completed_at,
            updated_at: view.updated_at,
        }
    }
}

/// The wizard of a brand that has done its first two steps.
fn onboarding_example() -> Value {
    json!({
        "steps": [
            {"id": "basic_info", "status": "completed", "required": true, "recommended": false, "can_skip": false, "data": {"name": "Acme", "website": "https://www.acme.example", "currency": "USD", "timezone": "America/New_York"}, "completed_at": "2026-11-24T09:30:00Z", "updated_at": "2026-11-24T09:30:00Z"},
            {"id": "connect_shopify", "status": "completed", "required": true, "recommended": false, "can_skip": false, "data": null, "completed_at": "2026-11-24T09:31:12Z", "updated_at": "2026-11-24T09:31:12Z"},
            {"id": "shopify_setup", "status": "pending", "required": true, "recommended": false, "can_skip": false, "data": null, "completed_at": null, "updated_at": null},
            {"id": "domains", "status": "pending", "required": false, "recommended": false, "can_skip": true, "data": null, "completed_at": null, "updated_at": null},
            {"id": "payments", "status": "pending", "required": false, "recommended": true, "can_skip": true, "data": null, "completed_at": null, "updated_at": null},
            {"id": "integrations", "status": "pending", "required": false, "recommended": false, "can_skip": true, "data": null, "completed_at": null, "updated_at": null},
            {"id": "features", "status": "pending", "required": true, "recommended": false, "can_skip": false, "data": null, "completed_at": null, "updated_at": null},
            {"id": "import_products", "status": "pending", "required": false, "recommended": false, "can_skip": true, "data": null, "completed_at": null, "updated_at": null},
            {"id": "invite_users", "status": "pending", "required": false, "recommended": false, "can_skip": true, "data": null, "completed_at": null, "updated_at": null},
            {"id": "review_launch", "status": "pending", "required": true, "recommended": false, "can_skip": false, "data": null, "completed_at": null, "updated_at": null}
        ],
        "launched_at": null
    })
}

/// The same, as a change answers it (no invitations were made).
fn onboarding_change_example() -> Value {
    let mut example = onboarding_example();
    example["invitations"] = json!([]);
    example
}

#[derive(Serialize, ToSchema)]
#[schema(examples(onboarding_example))]
pub struct OnboardingOut {
    /// Every step, in wizard order.
    pub steps: Vec<OnboardingStepOut>,
    /// When the brand launched (first completed `review_launch`).
    pub launched_at: Option<DateTime<Utc>>,
}

impl From<Progress> for OnboardingOut {
    fn from(progress: Progress) -> Self {
        OnboardingOut {
            steps: progress.steps.into_iter().map(Into::into).collect(),
            launched_at: progress.launched_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(examples(onboarding_change_example))]
pub struct OnboardingChangeOut {
    #[serde(flatten)]
    pub onboarding: OnboardingOut,
    /// Invitations the `invite_users` step just made, with their tokens, shown this once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invitations: Vec<InvitationCreatedOut>,
}

#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    Complete,
    Skip,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "action": "complete",
    "data": {
        "name": "Acme",
        "website": "https://www.acme.example",
        "currency": "USD",
        "timezone": "America/New_York"
    }
})))]
pub struct OnboardingStepPatch {
    pub action: StepAction,
    /// What the step saves, for `complete`; its shape depends on the step (see the schemas).
    /// Steps that only check something (`connect_shopify`, `payments`, `integrations`,
    /// `review_launch`) take none.
    #[schema(value_type = Option<StepDataIn>)]
    pub data: Option<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicInfoIn {
    pub name: String,
    /// http(s) address, e.g. `https://www.example.com`.
    pub website: String,
    /// IANA name, e.g. `Europe/Paris`, or `UTC`.
    pub timezone: String,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopifySetupIn {
    /// Default `true`.
    pub sync_products: Option<bool>,
    /// Default `true`.
    pub sync_orders: Option<bool>,
    /// Default `true`.
    pub sync_customers: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainsIn {
    /// Host names such as `shop.example.com`; they replace the organization's list.
    pub domains: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeaturesIn {
    /// Flag key → on/off, applied with the same rules as PATCH …/feature-flags/{key}.
    pub flags: BTreeMap<String, bool>,
}

#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportChoiceIn {
    /// Count the store's products through the Shopify connection now.
    Now,
    Later,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportProductsIn {
    pub choice: ImportChoiceIn,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteUsersIn {
    pub invitations: Vec<InvitationIn>,
}

impl BasicInfoIn {
    fn info(self) -> ApiResult<BasicInfo> {
        BasicInfo::parse(&self.name, &self.website, &self.timezone, &self.currency).map_err(
            |problems| {
                ApiError::validation(
                    problems
                        .into_iter()
                        .map(|p| FieldError::new(format!("data.{}", p.field), p.message))
                        .collect(),
                )
            },
        )
    }
}

impl DomainsIn {
    /// The host names, checked, normalised and without repeats.
    fn hosts(self) -> ApiResult<Vec<String>> {
        if self.domains.len() > MAX_DOMAINS {
            return Err(ApiError::validation(vec![FieldError::new(
                "data.domains",
                format!("Add at most {MAX_DOMAINS} domains."),
            )]));
        }
        let mut hosts = Vec::new();
        let mut errors = Vec::new();
        for (i, raw) in self.domains.iter().enumerate() {
            match parse_host(raw) {
                Ok(host) if !hosts.contains(&host) => hosts.push(host),
                Ok(_) => {}
                Err(message) => errors.push(FieldError::new(format!("data.domains[{i}]"), message)),
            }
        }
        if errors.is_empty() {
            Ok(hosts)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

impl InviteUsersIn {
    fn invites(self) -> ApiResult<Vec<NewInvite>> {
        if self.invitations.len() > MAX_INVITATIONS {
            return Err(ApiError::validation(vec![FieldError::new(
                "data.invitations",
                format!("Invite at most {MAX_INVITATIONS} people at a time."),
            )]));
        }
        let mut invites = Vec::new();
        let mut errors = Vec::new();
        for (i, invitation) in self.invitations.into_iter().enumerate() {
            match invitation.parse(&format!("data.invitations[{i}].")) {
                Ok(invite) => invites.push(invite),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(invites)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// The `data` a step takes (only for the OpenAPI document; each step reads its own shape).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StepDataIn {
    BasicInfo(BasicInfoIn),
    ShopifySetup(ShopifySetupIn),
    Domains(DomainsIn),
    Features(FeaturesIn),
    ImportProducts(ImportProductsIn),
    InviteUsers(InviteUsersIn),
}

/// Reads a step's `data` into its shape; a missing `data` reads as `{}`.
fn read<T: DeserializeOwned>(step: Step, data: Option<Value>) -> ApiResult<T> {
    let data = data
        .filter(|d| !d.is_null())
        .unwrap_or_else(|| Value::Object(Default::default()));
    serde_json::from_value(data).map_err(|e| {
        ApiError::validation(vec![FieldError::new(
            "data",
            format!("The data for `{step}` does not fit: {e}."),
        )])
    })
}

/// Refuses `data` where there is nothing to save, rather than dropping it unread.
fn no_data(data: Option<Value>, message: impl Into<String>) -> ApiResult<()> {
    match data {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) if map.is_empty() => Ok(()),
        Some(_) => Err(ApiError::validation(vec![FieldError::new("data", message)])),
    }
}

/// A step that checks what is connected and takes no data.
fn checks_only(step: Step, data: Option<Value>, input: StepInput) -> ApiResult<StepInput> {
    no_data(
        data,
        format!(
            "The step `{step}` takes no data: it checks what is connected. Send only the action."
        ),
    )?;
    Ok(input)
}

/// Turns a step's `data` into a checked input; every broken rule is reported at once.
fn step_input(step: Step, data: Option<Value>) -> ApiResult<StepInput> {
    Ok(match step {
        Step::BasicInfo => StepInput::BasicInfo(read::<BasicInfoIn>(step, data)?.info()?),
        Step::ShopifySetup => {
            let input: ShopifySetupIn = read(step, data)?;
            StepInput::ShopifySetup(ShopifySetup {
                sync_products: input.sync_products.unwrap_or(true),
                sync_orders: input.sync_orders.unwrap_or(true),
                sync_customers: input.sync_customers.unwrap_or(true),
            })
        }
        Step::Domains => StepInput::Domains(read::<DomainsIn>(step, data)?.hosts()?),
        Step::Features => StepInput::Features(read::<FeaturesIn>(step, data)?.flags),
        Step::ImportProducts => {
            StepInput::ImportProducts(match read::<ImportProductsIn>(step, data)?.choice {
                ImportChoiceIn::Now => ImportChoice::Now,
                ImportChoiceIn::Later => ImportChoice::Later,
            })
        }
        Step::InviteUsers => StepInput::InviteUsers(read::<InviteUsersIn>(step, data)?.invites()?),
        Step::ConnectShopify => checks_only(step, data, StepInput::ConnectShopify)?,
        Step::Payments => checks_only(step, data, StepInput::Payments)?,
        Step::Integrations => checks_only(step, data, StepInput::Integrations)?,
        Step::ReviewLaunch => checks_only(step, data, StepInput::ReviewLaunch)?,
    })
}

/// The wizard's steps in order, with what each saved.
#[utoipa::path(
    operation_id = "getOnboarding",
    tag = "onboarding",
    params(("org_id" = uuid::Uuid, Path)),
    responses((status = 200, body = OnboardingOut), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
#[get("/onboarding")]
pub async fn get(
    state: web::Data<AppState>,
    member: OrgMember,
) -> ApiResult<web::Json<OnboardingOut>> {
    Ok(web::Json(
        service::progress(&state, member.0.org_id).await?.into(),
    ))
}

/// Completes or skips a step. Required steps cannot be skipped; a skipped step can be
/// completed later, and completing a step again replaces what it saved.
#[utoipa::path(
    operation_id = "updateOnboardingStep",
    tag = "onboarding",
    params(("org_id" = uuid::Uuid, Path), ("step" = crate::contract::StepId, Path, description = "A step id, e.g. `basic_info`")),
    request_body = OnboardingStepPatch,
    responses(
        (status = 200, body = OnboardingChangeOut),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such step."),
        (status = 409, body = Problem, description = "The step's condition is not met: Shopify or Stripe not connected, required steps missing before launch, a domain held by another organization, a flag's provider not connected, an invitation already pending."),
        (status = 422, body = Problem, description = "Invalid data, or skipping a required step."),
        (status = 503, body = Problem, description = "Shopify could not be reached (import products now)."),
    ),
    security(("bearer" = []))
)]
#[patch("/onboarding/steps/{step}")]
#[tracing::instrument(skip_all, fields(step = %path.1))]
pub async fn update(
    state: web::Data<AppState>,
    admin: OrgOwnerOrAdmin,
    path: web::Path<(uuid::Uuid, String)>,
    body: web::Json<OnboardingStepPatch>,
) -> ApiResult<web::Json<OnboardingChangeOut>> {
    let step = Step::parse(&path.1).ok_or_else(|| {
        let ids: Vec<&str> = Step::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::not_found(format!(
            "There is no onboarding step `{}`. The steps are: {}.",
            path.1,
            ids.join(", ")
        ))
    })?;
    let patch = body.into_inner();
    let invitations = match patch.action {
        StepAction::Skip => {
            no_data(
                patch.data,
                "Skipping takes no data; what the step saved before is kept.",
            )?;
            service::skip(&state, admin.org_id, admin.user_id, step).await?;
            Vec::new()
        }
        StepAction::Complete => {
            let input = step_input(step, patch.data)?;
            service::complete(&state, admin.org_id, admin.user_id, input).await?
        }
    };
    Ok(web::Json(OnboardingChangeOut {
        onboarding: service::progress(&state, admin.org_id).await?.into(),
        invitations: invitations.into_iter().map(Into::into).collect(),
    }))
}
