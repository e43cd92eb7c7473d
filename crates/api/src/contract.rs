//! The API's closed sets, as enums in the OpenAPI document (and so as string unions in the
//! generated TypeScript client). Each mirrors a domain enum variant for variant — the
//! conversions are exhaustive matches, so the two cannot drift apart — and serializes to the
//! same text as the domain's `as_str` (tested). Domain types stay free of OpenAPI derives.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident => $domain:path { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                use $domain as D;
                match value {
                    $(D::$variant => $name::$variant),+
                }
            }
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                use $domain as D;
                match value {
                    $($name::$variant => D::$variant),+
                }
            }
        }

        #[cfg(test)]
        impl $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
        }
    };
}

mirror! {
    /// Where a connection stands: `not_connected` (never, or disconnected with its history
    /// kept), `connected`, `expired` (reconnect needed), `error` (the last check failed) or
    /// `disabled` (turned off, credentials kept).
    ConnectionStatus => domain::model::ConnectionStatus {
        NotConnected, Connected, Expired, Error, Disabled,
    }
}

mirror! {
    /// How a brand proves it owns the account.
    AuthType => domain::registry::AuthKind { Oauth2, ApiKey, Basic, PublicId }
}

mirror! {
    /// The catalog's groups.
    Category => domain::registry::Category {
        Commerce, Payments, Advertising, Analytics, Marketing, Reviews, Communication,
        VideoMedia, Productivity, Surveys, Monitoring, Ai, Crm, Social,
    }
}

mirror! {
    /// How strongly onboarding asks for a provider.
    OnboardingClass => domain::registry::Onboarding { Required, Recommended, Optional }
}

mirror! {
    /// `tenant`: each brand connects its own account; `platform`: the operator sets it up once.
    Level => domain::registry::Level { Tenant, Platform }
}

mirror! {
    /// What kind of value a connection field takes.
    FieldKind => domain::registry::FieldKind { Text, Url, Host, Select }
}

mirror! {
    /// What a connection can be pointed at: `ad_account`, `pixel`, `customer`,
    /// `login_customer` (a Google Ads manager), `advertiser`, `property`, `data_stream`,
    /// `site`, `channel`, `list`, `calendar`.
    ResourceKind => domain::registry::ResourceKind {
        AdAccount, Pixel, Customer, LoginCustomer, Advertiser, Property, DataStream, Site,
        Channel, List, Calendar,
    }
}

mirror! {
    /// What happened to a connection.
    EventAction => domain::model::EventAction {
        Connect, Configure, Test, Refresh, HealthCheck, Enable, Disable, Disconnect, Sync,
        Notification, Revoke, Erase,
    }
}

mirror! {
    /// A privacy request a provider sent: a customer's data (`customer_data_request`), a
    /// customer's erasure (`customer_redact`) or the shop's erasure (`shop_redact`, done by
    /// Plugboard itself).
    PrivacyKind => domain::inbound::PrivacyKind { CustomerDataRequest, CustomerRedact, ShopRedact }
}

mirror! {
    /// How a provider signs the webhooks it sends: Shopify's base64 HMAC of the body, Slack's
    /// `v0` signature, Meta's `signed_request`, Stripe's `Stripe-Signature`.
    InboundScheme => domain::inbound::Scheme { ShopifyHmac, SlackV0, MetaSignedRequest, StripeSignature }
}

mirror! {
    /// A member's role: owners and admins change things, members read.
    Role => domain::model::Role { Member, Admin, Owner }
}

mirror! {
    /// One step of the onboarding wizard, in order.
    StepId => domain::onboarding::Step {
        BasicInfo, ConnectShopify, ShopifySetup, Domains, Payments, Integrations, Features,
        ImportProducts, InviteUsers, ReviewLaunch,
    }
}

mirror! {
    /// Where an onboarding step stands; a skipped step can be completed later.
    StepStatus => domain::onboarding::StepStatus { Pending, Completed, Skipped }
}

mirror! {
    /// Where an invitation stands.
    InvitationStatus => domain::invitations::InvitationStatus {
        Pending, Accepted, Revoked, Expired,
    }
}

mirror! {
    /// A provider's platform app: `ready`, or `setup_needed` while variables are missing.
    ServiceStatus => domain::readiness::ServiceStatus { Ready, SetupNeeded }
}

mirror! {
    /// A provider's health across every organization.
    HealthState => domain::readiness::HealthState {
        MissingCredentials, NeedsAttention, Healthy, Unused,
    }
}

mirror! {
    /// How soon a checklist item must be done.
    Priority => domain::readiness::Priority { Required, Soon, Later }
}

mirror! {
    /// How far a checklist item is done.
    ItemStatus => domain::readiness::ItemStatus { Ready, Partial, NotStarted }
}

/// Who did something: a person, a partner's API key, or Plugboard itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    User,
    ApiKey,
    System,
}

impl From<&domain::model::Actor> for ActorType {
    fn from(actor: &domain::model::Actor) -> Self {
        match actor {
            domain::model::Actor::User(_) => ActorType::User,
            domain::model::Actor::ApiKey(_) => ActorType::ApiKey,
            domain::model::Actor::System => ActorType::System,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each mirror serializes to the domain's own name for the value.
    fn same_names<M, D>(all: &[M], name: impl Fn(D) -> &'static str)
    where
        M: Copy + Serialize + Into<D>,
    {
        for value in all {
            let text = serde_json::to_value(value).unwrap();
            assert_eq!(text, name((*value).into()));
        }
    }

    #[test]
    fn mirrors_use_the_domain_names() {
        same_names(ConnectionStatus::ALL, |d: domain::ConnectionStatus| {
            d.as_str()
        });
        same_names(AuthType::ALL, |d: domain::registry::AuthKind| d.as_str());
        same_names(Category::ALL, |d: domain::registry::Category| d.as_str());
        same_names(OnboardingClass::ALL, |d: domain::registry::Onboarding| {
            d.as_str()
        });
        same_names(Level::ALL, |d: domain::registry::Level| d.as_str());
        same_names(FieldKind::ALL, |d: domain::registry::FieldKind| d.as_str());
        same_names(ResourceKind::ALL, |d: domain::registry::ResourceKind| {
            d.as_str()
        });
        same_names(EventAction::ALL, |d: domain::model::EventAction| d.as_str());
        same_names(Role::ALL, |d: domain::Role| d.as_str());
        same_names(PrivacyKind::ALL, |d: domain::inbound::PrivacyKind| {
            d.as_str()
        });
        same_names(InboundScheme::ALL, |d: domain::inbound::Scheme| d.as_str());
        same_names(StepId::ALL, |d: domain::onboarding::Step| d.as_str());
        same_names(StepStatus::ALL, |d: domain::onboarding::StepStatus| {
            d.as_str()
        });
        for scope in Scope::ALL {
            assert_eq!(serde_json::to_value(scope).unwrap(), scope.as_str());
        }
        same_names(ServiceStatus::ALL, |d: domain::readiness::ServiceStatus| {
            d.as_str()
        });
        same_names(HealthState::ALL, |d: domain::readiness::HealthState| {
            d.as_str()
        });
        same_names(Priority::ALL, |d: domain::readiness::Priority| d.as_str());
        same_names(ItemStatus::ALL, |d: domain::readiness::ItemStatus| {
            d.as_str()
        });
        same_names(
            InvitationStatus::ALL,
            |d: domain::invitations::InvitationStatus| d.as_str(),
        );
    }
}

/// What an organization API key may do. Keys never manage members or keys themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// Read integrations, their history, onboarding, feature flags and notifications.
    #[serde(rename = "integrations:read")]
    IntegrationsRead,
    /// Change them too: save credentials, connect, test, sync, disable, disconnect.
    #[serde(rename = "integrations:write")]
    IntegrationsWrite,
    /// Read who belongs to the organization and who is invited (their e-mail addresses).
    #[serde(rename = "members:read")]
    MembersRead,
    /// Call providers through the proxy with GET (and HEAD).
    #[serde(rename = "proxy:read")]
    ProxyRead,
    /// Call providers through the proxy with every method.
    #[serde(rename = "proxy:write")]
    ProxyWrite,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::IntegrationsRead,
        Scope::IntegrationsWrite,
        Scope::MembersRead,
        Scope::ProxyRead,
        Scope::ProxyWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::IntegrationsRead => "integrations:read",
            Scope::IntegrationsWrite => "integrations:write",
            Scope::MembersRead => "members:read",
            Scope::ProxyRead => "proxy:read",
            Scope::ProxyWrite => "proxy:write",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}
