use super::*;
use chrono::NaiveDate;

fn registry() -> Registry {
    Registry::builtin().expect("the built-in registry is valid")
}

/// A minimal valid API-key provider, changed by each test to break one rule.
fn one_provider(extra: &str) -> String {
    format!(
        r#"
[[provider]]
id = "acme"
name = "Acme"
description = "Test provider."
category = "crm"
logo = "acme"
docs_url = "https://acme.example/docs"
onboarding = "optional"
level = "tenant"
flag = {{ default = false }}
auth = {{ type = "api_key" }}
{extra}
"#
    )
}

const GOOD_FIELDS: &str = r#"
[[provider.fields]]
key = "api_key"
label = "API key"
secret = true
"#;

const GOOD_VERIFY: &str = r#"
[provider.verify]
kind = "http"
url = "https://api.acme.example/me"
headers = { Authorization = "Bearer {api_key}" }
"#;

fn problem(text: &str) -> String {
    match Registry::from_toml(text) {
        Err(RegistryError::Invalid { problem, .. }) => problem,
        Err(other) => other.to_string(),
        Ok(_) => "valid".to_owned(),
    }
}

#[test]
fn the_builtin_registry_loads() {
    let registry = registry();
    for id in [
        "shopify",
        "meta_ads",
        "google_ads",
        "klaviyo",
        "slack",
        "stripe",
        "ga4",
        "openai",
    ] {
        assert!(registry.get(id).is_some(), "{id} is missing");
    }
    let shopify = registry.get("shopify").unwrap();
    assert_eq!(shopify.onboarding, Onboarding::Required);
    assert_eq!(shopify.flag_key(), "integrations.shopify");
}

#[test]
fn a_good_minimal_provider_is_valid() {
    assert_eq!(
        problem(&one_provider(&format!("{GOOD_FIELDS}{GOOD_VERIFY}"))),
        "valid"
    );
}

#[test]
fn unknown_placeholders_are_refused() {
    let verify = GOOD_VERIFY.replace("{api_key}", "{api_token}");
    assert!(
        problem(&one_provider(&format!("{GOOD_FIELDS}{verify}"))).contains("unknown placeholder")
    );
}

#[test]
fn a_verify_that_sends_no_credential_is_refused() {
    let verify = GOOD_VERIFY.replace("Bearer {api_key}", "Bearer nothing");
    assert!(problem(&one_provider(&format!("{GOOD_FIELDS}{verify}"))).contains("proves nothing"));
}

#[test]
fn a_single_secret_must_be_named_api_key() {
    let fields = GOOD_FIELDS.replace("\"api_key\"", "\"token\"");
    let verify = GOOD_VERIFY.replace("{api_key}", "{token}");
    assert!(problem(&one_provider(&format!("{fields}{verify}"))).contains("`api_key`"));
}

#[test]
fn patterns_must_compile_and_be_anchored() {
    let fields = format!("{GOOD_FIELDS}pattern = '^[a-z$'\n");
    assert!(problem(&one_provider(&format!("{fields}{GOOD_VERIFY}"))).contains("does not compile"));
    let fields = format!("{GOOD_FIELDS}pattern = '[a-z]+'\n");
    assert!(problem(&one_provider(&format!("{fields}{GOOD_VERIFY}"))).contains("anchored"));
}

#[test]
fn duplicate_ids_are_refused() {
    let one = one_provider(&format!("{GOOD_FIELDS}{GOOD_VERIFY}"));
    assert!(problem(&format!("{one}{one}")).contains("used twice"));
}

#[test]
fn unknown_keys_and_categories_are_refused() {
    let text = one_provider(&format!("{GOOD_FIELDS}{GOOD_VERIFY}")).replace("crm", "crypto");
    assert!(matches!(
        Registry::from_toml(&text),
        Err(RegistryError::Parse(_))
    ));
    let text = one_provider(&format!("colour = \"red\"\n{GOOD_FIELDS}{GOOD_VERIFY}"));
    assert!(matches!(
        Registry::from_toml(&text),
        Err(RegistryError::Parse(_))
    ));
}

#[test]
fn oauth_providers_name_their_platform_variables() {
    let text = registry_text_with(
        "client_id_env = \"SHOPIFY_API_KEY\"",
        "client_id_env = \"SHOPIFY_CLIENT\"",
    );
    assert!(problem(&text).contains("platform_env"));
}

fn registry_text_with(from: &str, to: &str) -> String {
    let text = include_str!("../../providers.toml");
    assert!(text.contains(from));
    text.replacen(from, to, 1)
}

#[test]
fn overrides_keep_path_and_query() {
    let registry = registry()
        .with_base_urls(
            "openai=http://127.0.0.1:9999, shopify=http://127.0.0.1:9998/sandbox/shopify",
        )
        .unwrap();
    let openai = registry.get("openai").unwrap();
    let url = openai.redirect(Url::parse("https://api.openai.com/v1/models?limit=1").unwrap());
    assert_eq!(url.as_str(), "http://127.0.0.1:9999/v1/models?limit=1");
    let shopify = registry.get("shopify").unwrap();
    let url =
        shopify.redirect(Url::parse("https://acme.myshopify.com/admin/api/shop.json").unwrap());
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:9998/sandbox/shopify/admin/api/shop.json"
    );
}

#[test]
fn the_sandbox_keeps_the_host_and_operator_redirects_win() {
    let base = Url::parse("http://127.0.0.1:8080").unwrap();
    let registry = registry()
        .with_sandbox(&base)
        .unwrap()
        .with_base_urls("openai=http://127.0.0.1:9999")
        .unwrap();
    let shopify = registry.get("shopify").unwrap();
    let url = shopify
        .redirect(Url::parse("https://acme.myshopify.com/admin/oauth/authorize?x=1").unwrap());
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:8080/sandbox/shopify/acme.myshopify.com/admin/oauth/authorize?x=1"
    );
    let openai = registry.get("openai").unwrap();
    let url = openai.redirect(Url::parse("https://api.openai.com/v1/models").unwrap());
    assert_eq!(url.as_str(), "http://127.0.0.1:9999/v1/models");
}

#[test]
fn bad_overrides_are_refused() {
    assert!(
        registry()
            .with_base_urls("nope=http://127.0.0.1:1")
            .is_err()
    );
    assert!(registry().with_base_urls("openai=ftp://x").is_err());
    assert!(registry().with_base_urls("openai").is_err());
}

#[test]
fn field_checks_speak_to_a_person() {
    let registry = registry();
    let shop = registry.get("shopify").unwrap().field("shop").unwrap();
    assert!(shop.check("acme.myshopify.com").is_ok());
    let err = shop.check("evil.example.com").unwrap_err();
    assert!(err.contains("your-store.myshopify.com"), "{err}");
    assert!(shop.check("").unwrap_err().contains("must not be empty"));
}

#[test]
fn host_fields_keep_to_dns_limits() {
    let registry = registry();
    let shop = registry.get("shopify").unwrap().field("shop").unwrap();
    let label = |n: usize| format!("{}.myshopify.com", "a".repeat(n));
    assert!(shop.check(&label(63)).is_ok());
    let err = shop.check(&label(64)).unwrap_err();
    assert!(err.contains("63"), "{err}");
    // 253 characters at most in all: four 63-character labels already pass it.
    let long = format!("{0}.{0}.{0}.{0}.myshopify.com", "a".repeat(60));
    assert!(long.len() > 253);
    assert!(shop.check(&long).unwrap_err().contains("253"));
}

/// Every provider the product promises (DESIGN.md, "Providers (the registry)"), by id.
const DESIGN_PROVIDERS: [&str; 35] = [
    "shopify",
    "stripe",
    "resend",
    "meta_ads",
    "google_ads",
    "tiktok_ads",
    "ga4",
    "search_console",
    "youtube",
    "klaviyo",
    "yotpo",
    "slack",
    "wise",
    "retell",
    "elevenlabs",
    "mux",
    "assemblyai",
    "google_drive",
    "google_calendar",
    "fairing",
    "plaid",
    "paypal",
    "lob",
    "clarity",
    "better_stack",
    "sentry",
    "linkedin",
    "upwork",
    "fiverr",
    "x",
    "reddit",
    "calendly",
    "openai",
    "affiliate_network",
    "crm",
];

#[test]
fn the_provider_ids_are_exactly_these() {
    // A snapshot: adding or removing a provider must change this list on purpose.
    let registry = registry();
    let mut ids: Vec<&str> = registry.providers().iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "affiliate_network",
            "assemblyai",
            "better_stack",
            "calendly",
            "clarity",
            "crm",
            "elevenlabs",
            "fairing",
            "fiverr",
            "ga4",
            "google_ads",
            "google_calendar",
            "google_drive",
            "klaviyo",
            "linkedin",
            "lob",
            "meta_ads",
            "mux",
            "openai",
            "paypal",
            "plaid",
            "reddit",
            "resend",
            "retell",
            "search_console",
            "sentry",
            "shopify",
            "slack",
            "stripe",
            "tiktok_ads",
            "upwork",
            "wise",
            "x",
            "yotpo",
            "youtube",
        ]
    );
}

#[test]
fn every_design_provider_is_present_with_its_class_level_logo_and_flag() {
    let registry = registry();
    for id in DESIGN_PROVIDERS {
        let provider = registry
            .get(id)
            .unwrap_or_else(|| panic!("{id} is missing"));
        let onboarding = match id {
            "shopify" => Onboarding::Required,
            "stripe" | "resend" | "meta_ads" | "google_ads" | "ga4" => Onboarding::Recommended,
            _ => Onboarding::Optional,
        };
        assert_eq!(provider.onboarding, onboarding, "{id}: onboarding class");
        let level = if matches!(id, "better_stack" | "sentry") {
            Level::Platform
        } else {
            Level::Tenant
        };
        assert_eq!(provider.level, level, "{id}: level");
        assert_eq!(provider.logo, id, "{id}: the logo key is the id");
        if id == "ga4" {
            assert!(
                provider.flag.default && !provider.flag.requires_connection,
                "ga4 works without a connection"
            );
        } else if id != "shopify" {
            assert!(
                !provider.flag.default && provider.flag.requires_connection,
                "{id}: flag is off until connected"
            );
        }
        assert!(
            provider.description.trim_end().ends_with('.'),
            "{id}: the description is a sentence"
        );
    }
}

#[test]
fn oauth_providers_list_their_client_variables() {
    let registry = registry();
    let expected = [
        ("shopify", "SHOPIFY_API_KEY", "SHOPIFY_API_SECRET"),
        ("stripe", "STRIPE_CLIENT_ID", "STRIPE_SECRET_KEY"),
        ("meta_ads", "META_APP_ID", "META_APP_SECRET"),
        (
            "google_ads",
            "GOOGLE_ADS_CLIENT_ID",
            "GOOGLE_ADS_CLIENT_SECRET",
        ),
        ("tiktok_ads", "TIKTOK_APP_ID", "TIKTOK_APP_SECRET"),
        ("ga4", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
        ("search_console", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
        ("youtube", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
        ("google_drive", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
        (
            "google_calendar",
            "GOOGLE_CLIENT_ID",
            "GOOGLE_CLIENT_SECRET",
        ),
        ("slack", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"),
        ("linkedin", "LINKEDIN_CLIENT_ID", "LINKEDIN_CLIENT_SECRET"),
        ("upwork", "UPWORK_CLIENT_ID", "UPWORK_CLIENT_SECRET"),
        ("x", "X_CLIENT_ID", "X_CLIENT_SECRET"),
        ("reddit", "REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"),
        ("calendly", "CALENDLY_CLIENT_ID", "CALENDLY_CLIENT_SECRET"),
    ];
    for (id, client_id, client_secret) in expected {
        let provider = registry
            .get(id)
            .unwrap_or_else(|| panic!("{id} is missing"));
        let oauth = provider
            .oauth()
            .unwrap_or_else(|| panic!("{id} is not OAuth"));
        assert_eq!(
            (
                oauth.client_id_env.as_str(),
                oauth.client_secret_env.as_str()
            ),
            (client_id, client_secret),
            "{id}"
        );
    }
    let oauth_ids: Vec<&str> = registry
        .providers()
        .iter()
        .filter(|p| p.oauth().is_some())
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(
        oauth_ids.len(),
        expected.len(),
        "an OAuth provider is missing from this test: {oauth_ids:?}"
    );
    for provider in registry.providers() {
        if let Some(oauth) = provider.oauth() {
            assert!(
                provider.platform_env.contains(&oauth.client_id_env),
                "{}",
                provider.id
            );
            assert!(
                provider.platform_env.contains(&oauth.client_secret_env),
                "{}",
                provider.id
            );
        }
    }
    // The Google family shares one consent screen and offline access.
    for id in [
        "ga4",
        "search_console",
        "youtube",
        "google_drive",
        "google_calendar",
        "google_ads",
    ] {
        let oauth = registry.get(id).and_then(Provider::oauth).unwrap();
        assert_eq!(
            oauth.authorize_url, "https://accounts.google.com/o/oauth2/v2/auth",
            "{id}"
        );
        assert_eq!(
            oauth.token_url, "https://oauth2.googleapis.com/token",
            "{id}"
        );
        assert!(oauth.has_quirk(Quirk::GoogleOffline), "{id}");
    }
    let tiktok = registry
        .get("tiktok_ads")
        .and_then(Provider::oauth)
        .unwrap();
    assert!(tiktok.has_quirk(Quirk::Tiktok) && !tiktok.pkce);
    for id in ["reddit", "x"] {
        assert_eq!(
            registry
                .get(id)
                .and_then(Provider::oauth)
                .unwrap()
                .client_auth,
            ClientAuth::BasicAuth,
            "{id}"
        );
    }
    assert!(
        !registry
            .get("reddit")
            .and_then(Provider::oauth)
            .unwrap()
            .pkce,
        "Reddit has no PKCE"
    );
}

#[test]
fn platform_providers_name_their_variables() {
    let registry = registry();
    let sentry = registry.get("sentry").unwrap();
    assert_eq!(sentry.platform_env, ["SENTRY_DSN", "SENTRY_AUTH_TOKEN"]);
    let better_stack = registry.get("better_stack").unwrap();
    assert_eq!(
        better_stack.platform_env,
        ["BETTER_STACK_API_KEY", "BETTER_STACK_WEBHOOK_SECRET"]
    );
}

#[test]
fn every_key_provider_sends_a_secret_and_names_a_lone_secret_api_key() {
    let registry = registry();
    for provider in registry.providers() {
        let Verify::Http(http) = &provider.verify else {
            assert_eq!(
                provider.auth.kind(),
                AuthKind::PublicId,
                "{}: only a public id skips the request",
                provider.id
            );
            continue;
        };
        if !matches!(provider.auth.kind(), AuthKind::ApiKey | AuthKind::Basic) {
            continue;
        }
        let mut templates: Vec<&str> = vec![&http.url];
        templates.extend(http.headers.values().map(String::as_str));
        templates.extend(http.query.values().map(String::as_str));
        templates.extend(http.form.values().map(String::as_str));
        templates.extend(http.body.as_deref());
        if let Some(basic) = &http.basic {
            templates.extend([basic.username.as_str(), basic.password.as_str()]);
        }
        let sent: Vec<&str> = templates
            .into_iter()
            .flat_map(crate::template::placeholders)
            .collect();
        let sends_secret = provider
            .secret_fields()
            .any(|f| sent.contains(&f.key.as_str()));
        let sends_platform_secret =
            provider.level == Level::Platform && sent.iter().any(|name| name.starts_with("env."));
        assert!(
            sends_secret || sends_platform_secret,
            "{}: verify sends no secret",
            provider.id
        );
        let secrets: Vec<&Field> = provider.secret_fields().collect();
        if provider.auth.kind() == AuthKind::ApiKey && secrets.len() == 1 {
            assert_eq!(secrets[0].key, "api_key", "{}", provider.id);
        }
    }
}

#[test]
fn every_pattern_has_a_hint_a_person_can_act_on() {
    let registry = registry();
    for provider in registry.providers() {
        for field in &provider.fields {
            if field.pattern.is_some() {
                let hint = field.pattern_hint.as_deref().unwrap_or_default();
                assert!(
                    hint.len() > 20 && hint.ends_with('.'),
                    "{}.{}: {hint:?}",
                    provider.id,
                    field.key
                );
            }
        }
    }
}

#[test]
fn fields_named_in_the_spec_check_values() {
    let registry = registry();
    let field = |id: &str, key: &str| {
        registry
            .get(id)
            .and_then(|p| p.field(key))
            .unwrap_or_else(|| panic!("{id}.{key}"))
    };
    assert!(
        field("google_ads", "customer_id")
            .check("1234567890")
            .is_ok()
    );
    assert!(
        field("google_ads", "customer_id")
            .check("123-456-7890")
            .is_err()
    );
    assert!(field("clarity", "project_id").check("l1uo58y3ho").is_ok());
    assert!(
        field("clarity", "project_id")
            .check("not a project")
            .is_err()
    );
    assert!(field("plaid", "environment").check("sandbox").is_ok());
    assert!(
        field("plaid", "environment")
            .check("staging")
            .unwrap_err()
            .contains("must be one of")
    );
    assert!(
        field("paypal", "api_host")
            .check("api-m.paypal.com")
            .is_ok()
    );
    assert!(
        field("paypal", "api_host")
            .check("evil.example.com")
            .is_err()
    );
    assert!(
        field("lob", "api_key")
            .check("test_0dc8d51e0acffcb1880e0f19c79b2f5b0cc")
            .is_ok()
    );
    assert!(
        field("lob", "api_key")
            .check("test_pub_0dc8d51e0acffcb1880e0f19c79b2f5")
            .is_err()
    );
    assert!(
        field("retell", "phone_number")
            .check("+14157774444")
            .is_ok()
    );
    assert_eq!(field("affiliate_network", "base_url").kind, FieldKind::Url);
    assert_eq!(field("crm", "base_url").kind, FieldKind::Url);
    assert!(
        field("crm", "base_url")
            .check("ftp://crm.example.com")
            .is_err()
    );
    for key in ["voice_agent_id", "chat_agent_id", "phone_number"] {
        assert!(!field("retell", key).required, "retell.{key} is optional");
    }
    assert!(
        matches!(&registry.get("clarity").unwrap().verify, Verify::Format { message } if message.contains("format"))
    );
}

#[test]
fn a_select_field_in_a_url_is_checked_with_its_first_option() {
    let fields = r#"
[[provider.fields]]
key = "api_key"
label = "API key"
secret = true

[[provider.fields]]
key = "port"
label = "Port"
kind = "select"
options = ["8443"]
"#;
    let verify = GOOD_VERIFY.replace("api.acme.example/me", "api.acme.example:{port}/me");
    assert_eq!(
        problem(&one_provider(&format!("{fields}{verify}"))),
        "valid"
    );
    let fields = fields.replace("\"8443\"", "\"not-a-port\"");
    assert!(problem(&one_provider(&format!("{fields}{verify}"))).contains("not a URL"));
}

#[test]
fn a_platform_provider_verifies_with_the_platforms_variables_only() {
    let text = one_provider(
        r#"platform_env = ["ACME_TOKEN"]

[provider.verify]
kind = "http"
url = "https://api.acme.example/me"
headers = { Authorization = "Bearer {env.ACME_TOKEN}" }
"#,
    );
    assert!(
        problem(&text).contains("secret field"),
        "a tenant provider still needs its own secret"
    );
    let platform = text.replace("level = \"tenant\"", "level = \"platform\"");
    assert_eq!(problem(&platform), "valid");
    let silent = platform.replace("Bearer {env.ACME_TOKEN}", "Bearer nothing");
    assert!(problem(&silent).contains("proves nothing"));
}

#[test]
fn single_letter_ids_are_allowed() {
    let text =
        one_provider(&format!("{GOOD_FIELDS}{GOOD_VERIFY}")).replace("id = \"acme\"", "id = \"x\"");
    assert_eq!(problem(&text), "valid");
    let text = text.replace("id = \"x\"", "id = \"X\"");
    assert!(problem(&text).contains("lower-case"));
}

/// The host each provider's verify request goes to, with sample values; `None` for format-only.
fn documented_host(id: &str) -> Option<&'static str> {
    Some(match id {
        "shopify" => "acme.myshopify.com",
        "stripe" => "api.stripe.com",
        "resend" => "api.resend.com",
        "meta_ads" => "graph.facebook.com",
        "google_ads" => "googleads.googleapis.com",
        "tiktok_ads" => "business-api.tiktok.com",
        "ga4" => "analyticsadmin.googleapis.com",
        "search_console" | "youtube" | "google_drive" | "google_calendar" => "www.googleapis.com",
        "klaviyo" => "a.klaviyo.com",
        "yotpo" => "api.yotpo.com",
        "slack" => "slack.com",
        "wise" => "api.wise.com",
        "retell" => "api.retellai.com",
        "elevenlabs" => "api.elevenlabs.io",
        "mux" => "api.mux.com",
        "assemblyai" => "api.assemblyai.com",
        "fairing" => "app.fairing.co",
        "plaid" => "sandbox.plaid.com",
        "paypal" => "api-m.sandbox.paypal.com",
        "lob" => "api.lob.com",
        "better_stack" => "uptime.betterstack.com",
        "sentry" => "sentry.io",
        "linkedin" => "api.linkedin.com",
        "upwork" => "api.upwork.com",
        "x" => "api.x.com",
        "reddit" => "oauth.reddit.com",
        "calendly" => "api.calendly.com",
        "openai" => "api.openai.com",
        // Tenant-supplied base URLs: the sample is the brand's own host.
        "fiverr" | "affiliate_network" | "crm" => "api.example.com",
        "clarity" => return None,
        other => panic!("no documented host for {other}; add it here"),
    })
}

#[test]
fn every_verify_request_builds_on_the_documented_https_host() {
    use std::collections::BTreeMap;

    use secrecy::SecretString;

    use crate::verify::{self, RequestBody, VerifyValues};

    let secret = |v: &str| SecretString::from(v.to_owned());
    let registry = registry();
    for provider in registry.providers() {
        let mut config = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for field in &provider.fields {
            if field.secret {
                secrets.insert(field.key.clone(), secret("sample-secret-value"));
                continue;
            }
            let value = match field.kind {
                FieldKind::Url => "https://api.example.com/".to_owned(),
                FieldKind::Host => "acme.myshopify.com".to_owned(),
                FieldKind::Select => field.options[0].clone(),
                FieldKind::Text => "sample".to_owned(),
            };
            config.insert(field.key.clone(), value);
        }
        let env: BTreeMap<String, SecretString> = provider
            .platform_env
            .iter()
            .map(|name| (name.clone(), secret("sample-platform-value")))
            .collect();
        let token = secret("sample-access-token");
        let values = VerifyValues {
            config: &config,
            secrets: &secrets,
            access_token: provider.oauth().map(|_| &token),
            platform_env: &env,
        };
        let built = verify::build_request(provider, &values)
            .unwrap_or_else(|e| panic!("{}: {e}", provider.id));
        let Some(host) = documented_host(&provider.id) else {
            assert!(built.is_none(), "{} checks its format only", provider.id);
            continue;
        };
        let request = built.unwrap_or_else(|| panic!("{} has no verify request", provider.id));
        assert_eq!(request.url.scheme(), "https", "{}", provider.id);
        assert_eq!(
            request.url.host_str(),
            Some(host),
            "{}: {}",
            provider.id,
            request.url
        );
        let tenant_host = provider
            .fields
            .iter()
            .any(|f| matches!(f.kind, FieldKind::Url | FieldKind::Host));
        assert_eq!(request.tenant_supplied_host, tenant_host, "{}", provider.id);

        // The credential travels somewhere: a header, basic auth, the query or the body.
        let mut carried: Vec<String> = request.headers.iter().map(|(_, v)| v.clone()).collect();
        if let Some((user, password)) = &request.basic {
            carried.extend([user.clone(), password.clone()]);
        }
        carried.extend(request.url.query_pairs().map(|(_, v)| v.into_owned()));
        match &request.body {
            Some(RequestBody::Json(json)) => {
                serde_json::from_str::<serde_json::Value>(json).unwrap_or_else(|e| {
                    panic!("{}: the JSON body does not parse: {e}", provider.id)
                });
                carried.push(json.clone());
            }
            Some(RequestBody::Form(pairs)) => carried.extend(pairs.iter().map(|(_, v)| v.clone())),
            None => {}
        }
        let credential = [
            "sample-secret-value",
            "sample-access-token",
            "sample-platform-value",
        ];
        assert!(
            carried
                .iter()
                .any(|text| credential.iter().any(|c| text.contains(c))),
            "{}: the request carries no credential",
            provider.id
        );
    }
}

/// A provider whose verify pins `{api_version}` in its path, with `version` as its top-level keys.
fn versioned(version: &str) -> String {
    one_provider(&format!(
        r#"{version}
{GOOD_FIELDS}
[provider.verify]
kind = "http"
url = "https://api.acme.example/{{api_version}}/me"
headers = {{ Authorization = "Bearer {{api_key}}" }}
"#
    ))
    // The version keys are the provider's own: they go before its first sub-table.
    .replacen("auth = { type = \"api_key\" }\n", "", 1)
    .replacen(
        "flag = { default = false }\n",
        "flag = { default = false }\nauth = { type = \"api_key\" }\n",
        1,
    )
}

fn pinned(sunset: &str) -> String {
    versioned(&format!(
        "api_version = \"v7\"\n{sunset}\nversion_source = \"https://acme.example/versions\""
    ))
    .replacen("auth = { type = \"api_key\" }\n", "", 1)
    .replacen(
        "version_source = \"https://acme.example/versions\"\n",
        "version_source = \"https://acme.example/versions\"\nauth = { type = \"api_key\" }\n",
        1,
    )
}

#[test]
fn a_pinned_version_with_its_sunset_and_source_is_valid_and_filled_in() {
    let text = pinned("sunsets_on = \"2031-05-01\"");
    let registry = Registry::from_toml(&text).unwrap();
    let acme = registry.get("acme").unwrap();
    let Verify::Http(http) = &acme.verify else {
        panic!("http verify");
    };
    assert_eq!(http.url, "https://api.acme.example/v7/me");
    let pin = acme.version().unwrap();
    assert_eq!(pin.version, "v7");
    assert_eq!(pin.sunsets_on, NaiveDate::from_ymd_opt(2031, 5, 1));
    assert_eq!(pin.source, "https://acme.example/versions");
    assert_eq!(
        pin.breaks(),
        "connection tests and daily health checks stop working for every brand."
    );
}

#[test]
fn version_rules_speak_to_the_registry_author() {
    let literal = one_provider(&format!(
        "{GOOD_FIELDS}\n[provider.verify]\nkind = \"http\"\nurl = \"https://api.acme.example/v18/me\"\nheaders = {{ Authorization = \"Bearer {{api_key}}\" }}\n"
    ));
    assert!(
        problem(&literal).contains("`v18` literally"),
        "{}",
        problem(&literal)
    );
    let dated_header = one_provider(&format!(
        "{GOOD_FIELDS}\n[provider.verify]\nkind = \"http\"\nurl = \"https://api.acme.example/me\"\nheaders = {{ Authorization = \"Bearer {{api_key}}\", revision = \"2024-10-15\" }}\n"
    ));
    assert!(problem(&dated_header).contains("header `revision`"));
    let unpinned = versioned("");
    assert!(
        problem(&unpinned).contains("pins no api_version"),
        "{}",
        problem(&unpinned)
    );
    let no_date = pinned("");
    assert!(
        problem(&no_date).contains("sunset_note"),
        "{}",
        problem(&no_date)
    );
    let blank_note = pinned("sunset_note = \" \"");
    assert!(problem(&blank_note).contains("sunset_note"));
    let no_source = pinned("sunset_note = \"Acme publishes none.\"")
        .replace("version_source = \"https://acme.example/versions\"\n", "");
    assert!(
        problem(&no_source).contains("version_source"),
        "{}",
        problem(&no_source)
    );
    let repeated = pinned("sunset_note = \"Acme publishes none.\"").replace(
        "headers = { Authorization = \"Bearer {api_key}\" }",
        "headers = { Authorization = \"Bearer {api_key}\", Accept-Version = \"v7\" }",
    );
    assert!(
        problem(&repeated).contains("repeats the version v7"),
        "{}",
        problem(&repeated)
    );
    let unused = pinned("sunset_note = \"Acme publishes none.\"").replace("{api_version}/", "");
    assert!(
        problem(&unused).contains("no template uses"),
        "{}",
        problem(&unused)
    );
    let orphan_date = one_provider(&format!("{GOOD_FIELDS}{GOOD_VERIFY}")).replacen(
        "flag = { default = false }\n",
        "flag = { default = false }\nsunsets_on = \"2030-01-01\"\n",
        1,
    );
    assert!(
        problem(&orphan_date).contains("belong to an api_version"),
        "{}",
        problem(&orphan_date)
    );
}

#[test]
fn every_versioned_builtin_pins_its_version_with_a_source() {
    let registry = registry();
    for provider in registry.providers() {
        let Some(pin) = provider.version() else {
            continue;
        };
        assert!(pin.source.starts_with("https://"), "{}", provider.id);
        assert!(
            pin.sunsets_on.is_some() || pin.note.is_some_and(|n| n.contains("publish")),
            "{}: a date, or a note that the provider publishes none",
            provider.id
        );
    }
    let expected = [
        ("shopify", "2026-10"),
        ("stripe", "2026-09-30.endive"),
        ("meta_ads", "v27.0"),
        ("google_ads", "v26"),
        ("tiktok_ads", "v1.3"),
        ("klaviyo", "2026-10-15"),
        ("linkedin", "v2"),
        ("plaid", "2020-09-14"),
    ];
    for (id, version) in expected {
        let pin = registry.get(id).unwrap().version();
        assert_eq!(pin.map(|p| p.version), Some(version), "{id}");
    }
    // The version reaches the OAuth URLs too: Meta's consent and token endpoints carry it.
    let meta = registry.get("meta_ads").unwrap().oauth().unwrap();
    assert_eq!(
        meta.authorize_url,
        "https://www.facebook.com/v27.0/dialog/oauth"
    );
    assert_eq!(
        meta.token_url,
        "https://graph.facebook.com/v27.0/oauth/access_token"
    );
    let shopify = registry.get("shopify").unwrap().version().unwrap();
    assert!(
        shopify.breaks().contains("product import"),
        "{}",
        shopify.breaks()
    );
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// The version clock on the real registry, today: a pinned version past its provider's sunset
/// fails `make test`; one within 60 days is printed as a warning.
#[test]
fn version_clock_no_pinned_version_is_past_its_sunset() {
    let today = chrono::Utc::now().date_naive();
    let report = versions::clock(&registry(), today);
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    assert!(
        report.lapsed.is_empty(),
        "pinned API versions past their sunset on {today}:\n{}",
        report.lapsed.join("\n")
    );
}

#[test]
fn version_clock_fails_past_a_sunset_and_warns_within_60_days() {
    let registry = Registry::from_toml(&pinned("sunsets_on = \"2031-05-01\"")).unwrap();
    let on = |d: &str| versions::clock(&registry, day(d));
    // 61 days ahead: quiet.
    let quiet = on("2031-03-01");
    assert!(
        quiet.lapsed.is_empty() && quiet.warnings.is_empty(),
        "{quiet:?}"
    );
    // 60 days ahead: a warning that names the date and what breaks, no failure.
    let soon = on("2031-03-02");
    assert!(soon.lapsed.is_empty());
    assert_eq!(soon.warnings.len(), 1);
    assert!(
        soon.warnings[0].contains("v7 on 2031-05-01 (in 60 days)"),
        "{}",
        soon.warnings[0]
    );
    assert!(
        soon.warnings[0].contains("connection tests"),
        "{}",
        soon.warnings[0]
    );
    // The sunset day itself: requests fail from it, so the test fails.
    let lapsed = on("2031-05-01");
    assert_eq!(lapsed.lapsed.len(), 1, "{lapsed:?}");
    assert!(lapsed.warnings.is_empty());
    assert!(lapsed.lapsed[0].contains("switched off API version v7 on 2031-05-01"));
    assert_eq!(on("2032-01-01").lapsed.len(), 1);
    // A provider that publishes no date never trips the clock.
    let undated =
        Registry::from_toml(&pinned("sunset_note = \"Acme publishes no date.\"")).unwrap();
    let report = versions::clock(&undated, day("2099-01-01"));
    assert!(report.lapsed.is_empty() && report.warnings.is_empty());
}

#[test]
fn the_real_registry_trips_the_clock_on_the_day_shopify_retires_its_version() {
    let registry = registry();
    let report = versions::clock(&registry, day("2027-10-01"));
    assert!(
        report
            .lapsed
            .iter()
            .any(|l| l.starts_with("Shopify switched off API version 2026-10")),
        "{report:?}"
    );
    let report = versions::clock(&registry, day("2027-08-15"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("Shopify switches off"))
    );
    let readiness = versions::alerts(
        &registry,
        day("2027-07-10"),
        versions::READINESS_WARNING_DAYS,
    );
    assert!(readiness.iter().any(|a| a.pin.provider.id == "shopify"));
}

const GOOD_API: &str = r#"
[provider.api]
base = "https://api.acme.example"
headers = { Authorization = "Bearer {api_key}" }
"#;

#[test]
fn an_api_section_is_valid_when_its_host_is_fixed_and_it_sends_a_stored_credential() {
    let base = format!("{GOOD_FIELDS}{GOOD_VERIFY}");
    assert_eq!(
        problem(&one_provider(&format!("{base}{GOOD_API}"))),
        "valid"
    );
    let cases = [
        (
            GOOD_API.replace("https://api.acme.example", "https://"),
            "URL",
        ),
        (
            GOOD_API.replace("https://api.acme.example", "http://api.acme.example"),
            "https",
        ),
        (
            GOOD_API.replace("Bearer {api_key}", "Bearer fixed"),
            "never sends a stored credential",
        ),
        (
            GOOD_API.replace("{api_key}", "{api_token}"),
            "unknown placeholder",
        ),
        (
            GOOD_API.replace("api.acme.example", "api.acme.example/v3"),
            "names the API version `v3` literally",
        ),
        (
            GOOD_API.replace("api.acme.example", "api.acme.example/"),
            "trailing slash",
        ),
        (
            GOOD_API.replace("api.acme.example", "api.acme.example?x=1"),
            "no query",
        ),
        (
            GOOD_API.replace("https://api.acme.example", "https://{api_key}.acme.example"),
            "only as its host",
        ),
    ];
    for (api, expected) in cases {
        let found = problem(&one_provider(&format!("{base}{api}")));
        assert!(found.contains(expected), "{api}: {found}");
    }
}

#[test]
fn an_api_base_takes_its_host_from_a_host_field_only_as_the_whole_host() {
    let host_field = r#"
[[provider.fields]]
key = "shop"
label = "Shop"
kind = "host"

[[provider.fields]]
key = "note"
label = "Note"
required = false
"#;
    let base = format!("{GOOD_FIELDS}{host_field}{GOOD_VERIFY}");
    let with = |from: &str| {
        problem(&one_provider(&format!(
            "{base}{}",
            GOOD_API.replace("https://api.acme.example", from)
        )))
    };
    assert_eq!(with("https://{shop}/admin"), "valid");
    assert!(with("https://{shop}.evil.example").contains("only as its host"));
    assert!(with("https://api.acme.example/{note}").contains("only as its host"));
}

#[test]
fn a_pinned_version_is_written_as_a_placeholder_in_the_api() {
    // `pinned` gives a provider on v7 whose verify already writes {api_version}.
    let versioned_api = |base: &str, extra: &str| {
        format!(
            "{}\n[provider.api]\nbase = \"{base}\"\nheaders = {{ Authorization = \"Bearer {{api_key}}\" }}\n{extra}",
            pinned("sunsets_on = \"2099-01-01\"")
        )
    };
    let ok = versioned_api("https://api.acme.example/{api_version}", "");
    let registry = Registry::from_toml(&ok).unwrap();
    let api = registry.get("acme").unwrap().api.as_ref().unwrap();
    assert_eq!(api.base, "https://api.acme.example/v7");
    let literal = versioned_api("https://api.acme.example/v7", "");
    assert!(
        problem(&literal).contains("repeats the version"),
        "{}",
        problem(&literal)
    );
    let silent = versioned_api("https://api.acme.example", "");
    assert!(problem(&silent).contains("never writes {api_version}"));
    let excused = versioned_api(
        "https://api.acme.example",
        "unversioned = \"Each endpoint names its own version.\"",
    );
    assert_eq!(problem(&excused), "valid");
}

#[test]
fn platform_and_public_id_providers_are_not_proxied() {
    let registry = registry();
    for provider in registry.providers() {
        if provider.level == Level::Platform || provider.auth.kind() == AuthKind::PublicId {
            assert!(
                provider.api.is_none(),
                "{} must not be proxied",
                provider.id
            );
        }
    }
    let platform = one_provider(&format!("{GOOD_FIELDS}{GOOD_VERIFY}{GOOD_API}"))
        .replace("level = \"tenant\"", "level = \"platform\"");
    assert!(problem(&platform).contains("not proxied"));
}

#[test]
fn the_providers_named_for_the_proxy_have_an_api_on_their_real_host() {
    let registry = registry();
    for (id, base) in [
        ("shopify", "https://{shop}/admin/api/2026-10"),
        ("meta_ads", "https://graph.facebook.com/v27.0"),
        ("google_ads", "https://googleads.googleapis.com/v26"),
        ("klaviyo", "https://a.klaviyo.com/api"),
        ("stripe", "https://api.stripe.com"),
        ("slack", "https://slack.com/api"),
    ] {
        let api = registry.get(id).unwrap().api.as_ref().unwrap();
        assert_eq!(api.base, base, "{id}");
    }
    let stripe = registry.get("stripe").unwrap().api.as_ref().unwrap();
    assert_eq!(stripe.headers["Stripe-Version"], "2026-09-30.endive");
    let klaviyo = registry.get("klaviyo").unwrap().api.as_ref().unwrap();
    assert_eq!(klaviyo.headers["revision"], "2026-10-15");
    let ads = registry.get("google_ads").unwrap().api.as_ref().unwrap();
    assert_eq!(
        ads.headers["developer-token"],
        "{env.GOOGLE_ADS_DEVELOPER_TOKEN}"
    );
}

#[test]
fn resources_name_only_their_parents_and_the_platform_variables() {
    // `env` lists the provider's platform variables; the first resource's listing sends one.
    let acme = |env: &str, pixel: &str| {
        one_provider(&format!(
            r#"platform_env = [{env}]
{GOOD_FIELDS}
[[provider.fields]]
key = "account_id"
label = "Account"
[[provider.fields]]
key = "pixel_id"
label = "Pixel"
{GOOD_VERIFY}
[provider.api]
base = "https://api.acme.example"
headers = {{ Authorization = "Bearer {{api_key}}" }}
[[provider.resources]]
kind = "ad_account"
label = "Account"
setting = "account_id"
list = "accounts"
query = {{ secret = "{{env.ACME_APP_SECRET}}" }}
items = "/data"
id = "/id"
paging = {{ slice = 10 }}
[[provider.resources]]
{pixel}
"#
        ))
    };
    let pixel = r#"kind = "pixel"
label = "Pixel"
setting = "pixel_id"
list = "{config.account_id}/pixels"
items = "/data"
id = "/id"
paging = { param = "page", page = "/page", pages = "/pages" }
check = "{config.account_id}/pixels/{id}""#;
    let env = "\"ACME_APP_SECRET\"";
    assert_eq!(problem(&acme(env, pixel)), "valid");
    let parent =
        |named: &str| pixel.replace("{config.account_id}/pixels\"", &format!("{named}/pixels\""));
    assert!(problem(&acme(env, &parent("{config.nothing}"))).contains("another resource's"));
    assert!(
        problem(&acme(env, &parent("{config.pixel_id}"))).contains("another resource's"),
        "a resource is not its own parent"
    );
    assert!(problem(&acme("", pixel)).contains("platform variables"));
    let unpointed = pixel.replace("pages = \"/pages\"", "pages = \"pages\"");
    assert!(problem(&acme(env, &unpointed)).contains("JSON pointer"));
    let registry = Registry::from_toml(&acme(env, pixel)).unwrap();
    let pixel = registry
        .get("acme")
        .unwrap()
        .resource(ResourceKind::Pixel)
        .unwrap();
    assert_eq!(
        pixel.parent_settings().collect::<Vec<_>>(),
        ["account_id", "account_id"]
    );
}
