//! The onboarding wizard's rules: its steps in order, which may be skipped, and what launch
//! needs. The server keeps them so every client (the SPA, partners) sees the same truth.

mod brand;
mod domains;

use std::fmt;

use chrono::{DateTime, Utc};

pub use brand::{BasicInfo, FieldProblem};
pub use domains::{CustomDomain, DnsRecord, DomainStatus, MAX_DOMAINS, parse_host};

/// How much a step matters: required steps cannot be skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepClass {
    Required,
    Recommended,
    Optional,
}

/// One step of the wizard, in the order the wizard shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    BasicInfo,
    ConnectShopify,
    ShopifySetup,
    Domains,
    Payments,
    Integrations,
    Features,
    ImportProducts,
    InviteUsers,
    ReviewLaunch,
}

impl Step {
    pub const ALL: [Step; 10] = [
        Step::BasicInfo,
        Step::ConnectShopify,
        Step::ShopifySetup,
        Step::Domains,
        Step::Payments,
        Step::Integrations,
        Step::Features,
        Step::ImportProducts,
        Step::InviteUsers,
        Step::ReviewLaunch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::BasicInfo => "basic_info",
            Step::ConnectShopify => "connect_shopify",
            Step::ShopifySetup => "shopify_setup",
            Step::Domains => "domains",
            Step::Payments => "payments",
            Step::Integrations => "integrations",
            Step::Features => "features",
            Step::ImportProducts => "import_products",
            Step::InviteUsers => "invite_users",
            Step::ReviewLaunch => "review_launch",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Self::ALL.into_iter().find(|step| step.as_str() == s)
    }

    pub fn class(self) -> StepClass {
        match self {
            Step::BasicInfo
            | Step::ConnectShopify
            | Step::ShopifySetup
            | Step::Features
            | Step::ReviewLaunch => StepClass::Required,
            Step::Payments => StepClass::Recommended,
            Step::Domains | Step::Integrations | Step::ImportProducts | Step::InviteUsers => {
                StepClass::Optional
            }
        }
    }

    pub fn required(self) -> bool {
        self.class() == StepClass::Required
    }

    pub fn can_skip(self) -> bool {
        !self.required()
    }

    /// Refuses to skip a required step.
    pub fn check_skip(self) -> Result<(), OnboardingError> {
        if self.can_skip() {
            Ok(())
        } else {
            Err(OnboardingError::NotSkippable(self))
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a step stands. A skipped step can be completed later; skipping loses nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Pending,
    Completed,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Completed => "completed",
            StepStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<StepStatus> {
        [
            StepStatus::Pending,
            StepStatus::Completed,
            StepStatus::Skipped,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

/// A step as an organization left it. Steps never touched have no record (they are pending).
#[derive(Clone, Debug, PartialEq)]
pub struct StepRecord {
    pub step: Step,
    pub status: StepStatus,
    /// What the step saved, as JSON; `null` when it saved nothing.
    pub data: serde_json::Value,
    /// When the step was first completed; later completions keep it.
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OnboardingError {
    #[error("the step `{0}` is required and cannot be skipped")]
    NotSkippable(Step),
}

/// The required steps (other than launch itself) not completed yet, in wizard order.
pub fn missing_for_launch(records: &[StepRecord]) -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|step| step.required() && *step != Step::ReviewLaunch)
        .filter(|step| {
            !records
                .iter()
                .any(|r| r.step == *step && r.status == StepStatus::Completed)
        })
        .collect()
}

#[cfg(test)]
mod tests;
