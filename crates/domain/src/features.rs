//! Feature flags: one `integrations.<provider>` flag per registry provider plus a few built-in
//! features that rely on a provider. An organization stores only its explicit choices; a flag
//! it never set has its default. A flag that needs a connection is `effective` only while that
//! provider is connected.

use std::collections::BTreeMap;

use crate::registry::Registry;

/// A feature of Plugboard's own that relies on a provider's connection.
pub struct BuiltinFlag {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub default: bool,
    /// The registry provider it needs.
    pub requires: &'static str,
}

/// Plugboard's built-in features.
pub const BUILTIN_FLAGS: [BuiltinFlag; 4] = [
    BuiltinFlag {
        key: "integrations.reviews_email",
        name: "Review request e-mails",
        description: "E-mails customers a request for a product review after delivery, sent through Resend.",
        default: true,
        requires: "resend",
    },
    BuiltinFlag {
        key: "integrations.product_sync",
        name: "Product sync",
        description: "Keeps the product catalogue in step with the Shopify store.",
        default: true,
        requires: "shopify",
    },
    BuiltinFlag {
        key: "integrations.creator_payouts",
        name: "Creator payouts",
        description: "Pays creators and vendors their earnings through Stripe Connect.",
        default: false,
        requires: "stripe",
    },
    BuiltinFlag {
        key: "integrations.slack_alerts",
        name: "Slack alerts",
        description: "Posts connection problems and new-order notices to a Slack channel.",
        default: false,
        requires: "slack",
    },
];

/// One flag as every organization knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagDef {
    pub key: String,
    pub name: String,
    pub description: String,
    pub default: bool,
    /// The provider that must be connected for the flag to take effect.
    pub requires: Option<String>,
}

/// Every flag: the registry's providers in display order, then the built-ins.
pub fn catalog(registry: &Registry) -> Vec<FlagDef> {
    let providers = registry.providers().iter().map(|p| FlagDef {
        key: p.flag_key(),
        name: p.name.clone(),
        description: p.description.clone(),
        default: p.flag.default,
        requires: p.flag.requires_connection.then(|| p.id.clone()),
    });
    let builtins = BUILTIN_FLAGS.iter().map(|b| FlagDef {
        key: b.key.to_owned(),
        name: b.name.to_owned(),
        description: b.description.to_owned(),
        default: b.default,
        requires: Some(b.requires.to_owned()),
    });
    providers.chain(builtins).collect()
}

/// A flag in one organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagState {
    /// The organization's choice, or the default.
    pub enabled: bool,
    /// Enabled and, where a connection is required, connected.
    pub effective: bool,
    /// Whether it may be turned on now: it requires no connection, or that one is connected.
    pub can_enable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("`{key}` needs the provider `{provider}` to be connected")]
    NeedsConnection { key: String, provider: String },
}

impl FlagDef {
    /// `connected`: whether the provider it requires (if any) is connected now.
    pub fn state(&self, choice: Option<bool>, connected: bool) -> FlagState {
        let enabled = choice.unwrap_or(self.default);
        let can_enable = self.requires.is_none() || connected;
        FlagState {
            enabled,
            effective: enabled && can_enable,
            can_enable,
        }
    }

    /// Turning a flag on needs its provider connected; turning it off is always allowed.
    pub fn check_change(&self, enabled: bool, connected: bool) -> Result<(), FlagError> {
        match &self.requires {
            Some(provider) if enabled && !connected => Err(FlagError::NeedsConnection {
                key: self.key.clone(),
                provider: provider.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// The flags that are on now and rely on `provider`: what its disconnection turns off.
pub fn switched_off_by_disconnect<'c>(
    catalog: &'c [FlagDef],
    provider: &str,
    choices: &BTreeMap<String, bool>,
) -> Vec<&'c FlagDef> {
    catalog
        .iter()
        .filter(|def| def.requires.as_deref() == Some(provider))
        .filter(|def| choices.get(&def.key).copied().unwrap_or(def.default))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::builtin().expect("the built-in registry is valid")
    }

    #[test]
    fn every_provider_has_a_flag_and_builtins_name_real_providers() {
        let registry = registry();
        let catalog = catalog(&registry);
        assert_eq!(
            catalog.len(),
            registry.providers().len() + BUILTIN_FLAGS.len()
        );
        let mut keys: Vec<&str> = catalog.iter().map(|d| d.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), catalog.len(), "flag keys are unique");
        for builtin in &BUILTIN_FLAGS {
            assert!(registry.get(builtin.requires).is_some(), "{}", builtin.key);
            assert!(builtin.key.starts_with("integrations."));
        }
        let shopify = catalog
            .iter()
            .find(|d| d.key == "integrations.shopify")
            .unwrap();
        assert_eq!(shopify.requires.as_deref(), Some("shopify"));
    }

    #[test]
    fn effective_needs_the_connection_and_enabling_checks_it() {
        let def = FlagDef {
            key: "integrations.reviews_email".to_owned(),
            name: "Review request e-mails".to_owned(),
            description: String::new(),
            default: true,
            requires: Some("resend".to_owned()),
        };
        assert_eq!(
            def.state(None, false),
            FlagState {
                enabled: true,
                effective: false,
                can_enable: false
            }
        );
        assert!(def.state(None, true).effective);
        assert!(!def.state(Some(false), true).enabled);
        assert!(def.check_change(true, false).is_err());
        assert!(def.check_change(false, false).is_ok());
        assert!(def.check_change(true, true).is_ok());
        let free = FlagDef {
            requires: None,
            ..def
        };
        assert!(free.state(Some(true), false).effective);
        assert!(free.state(None, false).can_enable);
        assert!(free.check_change(true, false).is_ok());
    }

    #[test]
    fn a_disconnect_switches_off_what_is_on_and_relies_on_the_provider() {
        let registry = registry();
        let catalog = catalog(&registry);
        let choices = BTreeMap::from([("integrations.resend".to_owned(), true)]);
        let off: Vec<&str> = switched_off_by_disconnect(&catalog, "resend", &choices)
            .iter()
            .map(|d| d.key.as_str())
            .collect();
        assert_eq!(off, ["integrations.resend", "integrations.reviews_email"]);
        let nothing_on = BTreeMap::from([
            ("integrations.reviews_email".to_owned(), false),
            ("integrations.resend".to_owned(), false),
        ]);
        assert!(switched_off_by_disconnect(&catalog, "resend", &nothing_on).is_empty());
    }
}
