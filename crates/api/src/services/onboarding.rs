//! The onboarding wizard on the server: what each step needs, what it saves, and launch.
//!
//! Completing a step runs its checks and outside calls first, then writes the step and
//! whatever it brings (domains, flag choices, invitations) in one transaction. Skipping keeps
//! whatever the step saved before, so a skipped step can be completed later.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::lifecycle;
use domain::model::Connection;
use domain::onboarding::{self as rules, BasicInfo, CustomDomain, Step, StepRecord, StepStatus};
use domain::registry::Level;
use domain::{ConnectionStatus, OrgId, UserId};
use persistence::custom_domains::{self, NewDomain};
use persistence::onboarding::{self, StepWrite};
use persistence::{StoreError, connections, feature_flags};
use serde_json::{Value, json};

use super::invitations::{self, CreatedInvitation, NewInvite};
use super::{features, shopify};
use crate::auth::random_token;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

const STRIPE: &str = "stripe";

/// What completing a step brings, already checked for shape.
pub enum StepInput {
    BasicInfo(BasicInfo),
    ConnectShopify,
    ShopifySetup(ShopifySetup),
    /// Host names, parsed and de-duplicated.
    Domains(Vec<String>),
    Payments,
    Integrations,
    Features(BTreeMap<String, bool>),
    ImportProducts(ImportChoice),
    InviteUsers(Vec<NewInvite>),
    ReviewLaunch,
}

impl StepInput {
    pub fn step(&self) -> Step {
        match self {
            StepInput::BasicInfo(_) => Step::BasicInfo,
            StepInput::ConnectShopify => Step::ConnectShopify,
            StepInput::ShopifySetup(_) => Step::ShopifySetup,
            StepInput::Domains(_) => Step::Domains,
            StepInput::Payments => Step::Payments,
            StepInput::Integrations => Step::Integrations,
            StepInput::Features(_) => Step::Features,
            StepInput::ImportProducts(_) => Step::ImportProducts,
            StepInput::InviteUsers(_) => Step::InviteUsers,
            StepInput::ReviewLaunch => Step::ReviewLaunch,
        }
    }
}

/// Which Shopify data Plugboard keeps in step with the store.
pub struct ShopifySetup {
    pub sync_products: bool,
    pub sync_orders: bool,
    pub sync_customers: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ImportChoice {
    Now,
    Later,
}

/// One step as the organization left it.
pub struct StepView {
    pub step: Step,
    pub status: StepStatus,
    pub data: Value,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub struct Progress {
    pub steps: Vec<StepView>,
    pub launched_at: Option<DateTime<Utc>>,
}

/// The domains step shows each domain as it is now (its verification may have moved on).
fn domains_data(domains: &[CustomDomain]) -> Value {
    let domains: Vec<Value> = domains
        .iter()
        .map(|d| {
            let record = d.verification_record();
            json!({
                "domain": d.host,
                "status": d.status.as_str(),
                "dns_record": {"type": record.kind, "name": record.name, "value": record.value},
            })
        })
        .collect();
    json!({ "domains": domains })
}

fn launched_at(records: &[StepRecord]) -> Option<DateTime<Utc>> {
    records
        .iter()
        .find(|r| r.step == Step::ReviewLaunch && r.status == StepStatus::Completed)
        .and_then(|r| r.completed_at)
}

/// GET …/onboarding: every step in wizard order.
pub async fn progress(state: &AppState, org_id: OrgId) -> ApiResult<Progress> {
    let records = onboarding::steps(&state.db, org_id).await?;
    let domains = custom_domains::list(&state.db, org_id).await?;
    let steps = Step::ALL
        .into_iter()
        .map(|step| match records.iter().find(|r| r.step == step) {
            Some(record) => StepView {
                step,
                status: record.status,
                data: if step == Step::Domains {
                    domains_data(&domains)
                } else {
                    record.data.clone()
                },
                completed_at: record.completed_at,
                updated_at: Some(record.updated_at),
            },
            None => StepView {
                step,
                status: StepStatus::Pending,
                data: Value::Null,
                completed_at: None,
                updated_at: None,
            },
        })
        .collect();
    Ok(Progress {
        steps,
        launched_at: launched_at(&records),
    })
}

/// PATCH …/steps/{step} with `skip`. Required steps cannot be skipped.
pub async fn skip(state: &AppState, org_id: OrgId, user: UserId, step: Step) -> ApiResult<()> {
    step.check_skip().map_err(|_| {
        ApiError::unprocessable(
            ErrorCode::StepRequired,
            format!(
                "The step `{step}` is required and cannot be skipped. Complete it to continue."
            ),
        )
    })?;
    onboarding::save_step(
        &state.db,
        org_id,
        StepWrite {
            step,
            status: StepStatus::Skipped,
            data: None,
            user: Some(user),
        },
    )
    .await?;
    Ok(())
}

/// What a step writes besides itself, in the same transaction.
enum Extra {
    Nothing,
    Domains(Vec<NewDomain>),
    Flags(BTreeMap<String, bool>),
    Invitations(Vec<NewInvite>),
}

/// PATCH …/steps/{step} with `complete`. Answers the invitations it made (their tokens are
/// shown this once).
pub async fn complete(
    state: &AppState,
    org_id: OrgId,
    user: UserId,
    input: StepInput,
) -> ApiResult<Vec<CreatedInvitation>> {
    let step = input.step();
    let (data, extra) = prepare(state, org_id, input).await?;
    let txn = persistence::begin_write(&state.db)
        .await
        .map_err(StoreError::from)?;
    let mut created = Vec::new();
    match extra {
        Extra::Nothing => {}
        Extra::Domains(domains) => {
            custom_domains::replace(&txn, org_id, domains)
                .await
                .map_err(|err| match err {
                    StoreError::Duplicate(_) => domain_taken(&[]),
                    other => other.into(),
                })?;
        }
        Extra::Flags(choices) => {
            feature_flags::choose(&txn, org_id, &choices, Some(user)).await?;
        }
        Extra::Invitations(invites) => {
            created = invitations::insert(&txn, org_id, user, invites).await?;
        }
    }
    onboarding::save_step(
        &txn,
        org_id,
        StepWrite {
            step,
            status: StepStatus::Completed,
            data: Some(data),
            user: Some(user),
        },
    )
    .await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(created)
}

/// Runs a step's checks and outside calls; answers what it saves and what else it writes.
async fn prepare(state: &AppState, org_id: OrgId, input: StepInput) -> ApiResult<(Value, Extra)> {
    Ok(match input {
        StepInput::BasicInfo(info) => (
            json!({
                "name": info.name,
                "website": info.website,
                "timezone": info.timezone,
                "currency": info.currency,
            }),
            Extra::Nothing,
        ),
        StepInput::ConnectShopify => {
            let shop = connected_shopify(state, org_id).await?;
            (
                json!({"shop": shop.config.get("shop"), "account_name": shop.account_name}),
                Extra::Nothing,
            )
        }
        StepInput::ShopifySetup(setup) => {
            let shop = connected_shopify(state, org_id).await?;
            (
                json!({
                    "shop": shop.config.get("shop"),
                    "sync_products": setup.sync_products,
                    "sync_orders": setup.sync_orders,
                    "sync_customers": setup.sync_customers,
                }),
                Extra::Nothing,
            )
        }
        StepInput::Domains(hosts) => {
            let taken = custom_domains::held_elsewhere(&state.db, org_id, &hosts).await?;
            if !taken.is_empty() {
                return Err(domain_taken(&taken));
            }
            let mut domains = Vec::with_capacity(hosts.len());
            for host in &hosts {
                domains.push(NewDomain {
                    host: host.clone(),
                    verification_token: random_token(24)?,
                });
            }
            (json!({ "domains": hosts }), Extra::Domains(domains))
        }
        StepInput::Payments => {
            let found = connections::find(&state.db, org_id, STRIPE).await?;
            let stripe = lifecycle::usable(found.as_ref()).map_err(|_| {
                ApiError::conflict(
                    ErrorCode::StripeNotConnected,
                    "Stripe Connect is not connected. Connect it, or skip this step: payments can be set up later in Settings → Integrations.",
                )
            })?;
            (
                json!({
                    "provider": STRIPE,
                    "status": stripe.status.as_str(),
                    "account_name": stripe.account_name,
                    "account_id": stripe.account_id,
                }),
                Extra::Nothing,
            )
        }
        StepInput::Integrations => {
            let summary = integrations_summary(state, org_id).await?;
            (json!({ "connected": summary["connected"] }), Extra::Nothing)
        }
        StepInput::Features(choices) => {
            features::check_choices(state, org_id, &choices).await?;
            (json!({ "flags": choices }), Extra::Flags(choices))
        }
        StepInput::ImportProducts(ImportChoice::Later) => {
            (json!({ "choice": "later" }), Extra::Nothing)
        }
        StepInput::ImportProducts(ImportChoice::Now) => {
            let count = shopify::product_count(state, org_id).await?;
            (
                json!({"choice": "now", "product_count": count, "counted_at": Utc::now()}),
                Extra::Nothing,
            )
        }
        StepInput::InviteUsers(invites) => {
            invitations::check_new(state, org_id, &invites).await?;
            let invited: Vec<Value> = invites
                .iter()
                .map(|i| json!({"email": i.email, "role": i.role.as_str()}))
                .collect();
            (json!({ "invited": invited }), Extra::Invitations(invites))
        }
        StepInput::ReviewLaunch => (launch(state, org_id).await?, Extra::Nothing),
    })
}

async fn connected_shopify(state: &AppState, org_id: OrgId) -> ApiResult<Connection> {
    let found = connections::find(&state.db, org_id, shopify::SHOPIFY).await?;
    lifecycle::usable(found.as_ref())
        .cloned()
        .map_err(shopify::not_connected)
}

fn domain_taken(hosts: &[String]) -> ApiError {
    let which = if hosts.is_empty() {
        "One of these domains is".to_owned()
    } else {
        hosts.join(", ") + if hosts.len() == 1 { " is" } else { " are" }
    };
    ApiError::conflict(
        ErrorCode::DomainTaken,
        format!(
            "{which} already used by another organization. Use a domain you own, or contact support if it is yours."
        ),
    )
}

/// Launch needs every required step completed and Shopify still connected. The launch time is
/// the step's first completion (kept when launch is completed again); the summary is taken anew.
async fn launch(state: &AppState, org_id: OrgId) -> ApiResult<Value> {
    let records = onboarding::steps(&state.db, org_id).await?;
    let missing = rules::missing_for_launch(&records);
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::conflict(
            ErrorCode::StepsMissing,
            format!(
                "Complete the required steps before launch: {}.",
                names.join(", ")
            ),
        ));
    }
    connected_shopify(state, org_id).await?;
    let summary = integrations_summary(state, org_id).await?;
    Ok(json!({ "summary": summary }))
}

/// The brand's integrations sorted for the launch summary: `connected`; `failed` (expired or
/// in error: they need attention); `skipped` (everything else a brand can connect).
async fn integrations_summary(state: &AppState, org_id: OrgId) -> ApiResult<Value> {
    let by_provider: BTreeMap<String, ConnectionStatus> = connections::list(&state.db, org_id)
        .await?
        .into_iter()
        .map(|c| (c.provider, c.status))
        .collect();
    let mut groups: BTreeMap<&str, Vec<Value>> = ["connected", "failed", "skipped"]
        .into_iter()
        .map(|g| (g, Vec::new()))
        .collect();
    for provider in state
        .registry
        .providers()
        .iter()
        .filter(|p| p.level == Level::Tenant)
    {
        let status = by_provider
            .get(&provider.id)
            .copied()
            .unwrap_or(ConnectionStatus::NotConnected);
        let group = match status {
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Expired | ConnectionStatus::Error => "failed",
            ConnectionStatus::NotConnected | ConnectionStatus::Disabled => "skipped",
        };
        groups.entry(group).or_default().push(json!({
            "provider": provider.id,
            "name": provider.name,
            "status": status.as_str(),
        }));
    }
    Ok(json!(groups))
}
