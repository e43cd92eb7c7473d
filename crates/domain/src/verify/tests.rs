use std::collections::BTreeMap;

use secrecy::SecretString;

use super::*;
use crate::registry::Registry;

fn registry() -> Registry {
    Registry::builtin().unwrap()
}

fn secrets(pairs: &[(&str, &str)]) -> BTreeMap<String, SecretString> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
        .collect()
}

fn request(
    provider: &Provider,
    config: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, SecretString>,
    token: Option<&SecretString>,
) -> VerifyRequest {
    let env = BTreeMap::from([(
        "GOOGLE_ADS_DEVELOPER_TOKEN".to_owned(),
        SecretString::from("dev-token".to_owned()),
    )]);
    build_request(
        provider,
        &VerifyValues {
            config,
            secrets,
            access_token: token,
            platform_env: &env,
        },
    )
    .unwrap()
    .unwrap()
}

#[test]
fn builds_an_api_key_request() {
    let registry = registry();
    let openai = registry.get("openai").unwrap();
    let req = request(
        openai,
        &BTreeMap::new(),
        &secrets(&[("api_key", "sk-test-abcdefghijklmnop")]),
        None,
    );
    assert_eq!(req.url.as_str(), "https://api.openai.com/v1/models");
    assert_eq!(
        req.headers,
        vec![(
            "Authorization".to_owned(),
            "Bearer sk-test-abcdefghijklmnop".to_owned()
        )]
    );
    assert!(!req.tenant_supplied_host);
    let shown = format!("{req:?}");
    assert!(!shown.contains("sk-test"), "{shown}");
}

#[test]
fn builds_an_oauth_request_on_the_tenants_host() {
    let registry = registry();
    let shopify = registry.get("shopify").unwrap();
    let config = BTreeMap::from([("shop".to_owned(), "acme.myshopify.com".to_owned())]);
    let token = SecretString::from("shpat_secret".to_owned());
    let req = request(shopify, &config, &BTreeMap::new(), Some(&token));
    assert_eq!(
        req.url.as_str(),
        "https://acme.myshopify.com/admin/api/2026-10/graphql.json"
    );
    assert!(matches!(&req.body, Some(RequestBody::Json(b)) if b.contains("shop { name id }")));
    assert!(req.tenant_supplied_host);
    assert_eq!(req.headers[0].1, "shpat_secret");
}

#[test]
fn platform_variables_fill_env_placeholders() {
    let registry = registry();
    let ads = registry.get("google_ads").unwrap();
    let token = SecretString::from("ya29.token".to_owned());
    let req = request(ads, &BTreeMap::new(), &BTreeMap::new(), Some(&token));
    assert!(
        req.headers
            .contains(&("developer-token".to_owned(), "dev-token".to_owned()))
    );
}

#[test]
fn a_missing_credential_is_named_by_its_label() {
    let registry = registry();
    let openai = registry.get("openai").unwrap();
    let empty = BTreeMap::new();
    let env = BTreeMap::new();
    let err = build_request(
        openai,
        &VerifyValues {
            config: &empty,
            secrets: &BTreeMap::new(),
            access_token: None,
            platform_env: &env,
        },
    )
    .unwrap_err();
    assert_eq!(err, BuildError::Missing("API key".into()));
}

#[test]
fn reads_the_account_from_the_answer() {
    let registry = registry();
    let klaviyo = registry.get("klaviyo").unwrap();
    let req = request(
        klaviyo,
        &BTreeMap::new(),
        &secrets(&[("api_key", "pk_abcdefghijklmnopqrstuvwxyz")]),
        None,
    );
    let body = br#"{"data":[{"id":"AbC123","attributes":{"contact_information":{"organization_name":"Acme Brand"}}}]}"#;
    match interpret(klaviyo, &req, 200, body) {
        VerifyOutcome::Verified {
            account_name,
            account_id,
            message,
        } => {
            assert_eq!(account_name.as_deref(), Some("Acme Brand"));
            assert_eq!(account_id.as_deref(), Some("AbC123"));
            assert_eq!(message, "Connected to Klaviyo as Acme Brand.");
        }
        other => panic!("{other:?}"),
    }
}

fn failure(outcome: VerifyOutcome) -> VerifyFailure {
    match outcome {
        VerifyOutcome::Failed(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn a_401_is_rejected_with_the_providers_words_and_no_secret() {
    let registry = registry();
    let openai = registry.get("openai").unwrap();
    let key = "sk-test-abcdefghijklmnop";
    let req = request(
        openai,
        &BTreeMap::new(),
        &secrets(&[("api_key", key)]),
        None,
    );
    let body = format!(r#"{{"error":{{"message":"Incorrect API key provided: {key}"}}}}"#);
    let f = failure(interpret(openai, &req, 401, body.as_bytes()));
    assert_eq!(f.kind, FailureKind::Rejected);
    assert_eq!(f.code, ProblemCode::CredentialsRejected);
    assert!(
        f.message.contains("Incorrect API key provided: [redacted]"),
        "{}",
        f.message
    );
    assert!(!f.message.contains(key));
}

#[test]
fn outages_are_not_the_brands_fault() {
    let registry = registry();
    let openai = registry.get("openai").unwrap();
    let req = request(
        openai,
        &BTreeMap::new(),
        &secrets(&[("api_key", "sk-test-abcdefghijklmnop")]),
        None,
    );
    assert_eq!(
        failure(interpret(openai, &req, 503, b"")).kind,
        FailureKind::Unavailable
    );
    assert_eq!(
        failure(interpret(openai, &req, 429, b"")).code,
        ProblemCode::ProviderRateLimited
    );
    let timeout = failure(transport_failure(openai, TransportFailure::Timeout, 10));
    assert_eq!(timeout.code, ProblemCode::ProviderTimeout);
    assert!(timeout.message.contains("10 seconds"));
}

#[test]
fn slack_needs_ok_true_even_on_200() {
    let registry = registry();
    let slack = registry.get("slack").unwrap();
    let token = SecretString::from("xoxb-token".to_owned());
    let req = request(slack, &BTreeMap::new(), &BTreeMap::new(), Some(&token));
    let f = failure(interpret(
        slack,
        &req,
        200,
        br#"{"ok":false,"error":"invalid_auth"}"#,
    ));
    assert_eq!(f.code, ProblemCode::CredentialsRejected);
    assert!(f.message.contains("invalid_auth"));
    let ok = interpret(
        slack,
        &req,
        200,
        br#"{"ok":true,"team":"Acme","team_id":"T1"}"#,
    );
    assert!(matches!(ok, VerifyOutcome::Verified { account_name: Some(ref n), .. } if n == "Acme"));
}

#[test]
fn redirected_requests_keep_path_and_are_trusted() {
    let registry = registry()
        .with_base_urls("openai=http://127.0.0.1:4010")
        .unwrap();
    let openai = registry.get("openai").unwrap();
    let req = request(
        openai,
        &BTreeMap::new(),
        &secrets(&[("api_key", "sk-test-abcdefghijklmnop")]),
        None,
    );
    assert_eq!(req.url.as_str(), "http://127.0.0.1:4010/v1/models");
    assert!(req.redirected);
}

#[test]
fn openai_sends_the_organization_only_when_one_is_saved() {
    let registry = registry();
    let openai = registry.get("openai").unwrap();
    let key = secrets(&[("api_key", "sk-test-abcdefghijklmnop")]);
    let with_org = BTreeMap::from([("organization".to_owned(), "org-acme1234".to_owned())]);
    let req = request(openai, &with_org, &key, None);
    assert!(
        req.headers
            .contains(&("OpenAI-Organization".to_owned(), "org-acme1234".to_owned())),
        "{:?}",
        req.headers
    );
    let req = request(openai, &BTreeMap::new(), &key, None);
    assert!(
        req.headers
            .iter()
            .all(|(name, _)| name != "OpenAI-Organization")
    );
    assert_eq!(req.headers.len(), 1);
}

#[test]
fn sentrys_region_picks_the_host_and_defaults_to_the_us() {
    let registry = registry();
    let sentry = registry.get("sentry").unwrap();
    let env = BTreeMap::from([(
        "SENTRY_AUTH_TOKEN".to_owned(),
        SecretString::from("sntrys_token".to_owned()),
    )]);
    let build = |config: &BTreeMap<String, String>| {
        build_request(
            sentry,
            &VerifyValues {
                config,
                secrets: &BTreeMap::new(),
                access_token: None,
                platform_env: &env,
            },
        )
        .unwrap()
        .unwrap()
    };
    assert_eq!(
        build(&BTreeMap::new()).url.as_str(),
        "https://sentry.io/api/0/organizations/"
    );
    let eu = BTreeMap::from([("region".to_owned(), "de.sentry.io".to_owned())]);
    assert_eq!(
        build(&eu).url.as_str(),
        "https://de.sentry.io/api/0/organizations/"
    );
    assert!(
        sentry
            .field("region")
            .unwrap()
            .check("evil.example")
            .is_err()
    );
}

#[test]
fn a_graphql_answer_without_data_is_a_refusal() {
    let registry = registry();
    let shopify = registry.get("shopify").unwrap();
    let config = BTreeMap::from([("shop".to_owned(), "acme.myshopify.com".to_owned())]);
    let token = SecretString::from("shpat_secret".to_owned());
    let req = request(shopify, &config, &BTreeMap::new(), Some(&token));
    let good = br#"{"data":{"shop":{"name":"Acme Store","id":"gid://shopify/Shop/1"}}}"#;
    match interpret(shopify, &req, 200, good) {
        VerifyOutcome::Verified {
            account_name,
            account_id,
            ..
        } => {
            assert_eq!(account_name.as_deref(), Some("Acme Store"));
            assert_eq!(account_id.as_deref(), Some("gid://shopify/Shop/1"));
        }
        other => panic!("{other:?}"),
    }
    let refused = br#"{"data":null,"errors":[{"message":"Access denied for shop field."}]}"#;
    match interpret(shopify, &req, 200, refused) {
        VerifyOutcome::Failed(f) => {
            assert_eq!(f.code, ProblemCode::CredentialsRejected);
            assert!(
                f.message.contains("Access denied for shop field."),
                "{}",
                f.message
            );
        }
        other => panic!("{other:?}"),
    }
}
