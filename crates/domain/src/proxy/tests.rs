use std::collections::BTreeMap;

use proptest::prelude::*;
use secrecy::SecretString;

use super::*;
use crate::registry::Registry;

fn registry() -> Registry {
    Registry::builtin().unwrap()
}

struct Fixture {
    config: BTreeMap<String, String>,
    secrets: BTreeMap<String, SecretString>,
    token: SecretString,
    env: BTreeMap<String, SecretString>,
}

impl Fixture {
    fn new(config: &[(&str, &str)], secrets: &[(&str, &str)]) -> Fixture {
        Fixture {
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            secrets: secrets
                .iter()
                .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
                .collect(),
            token: SecretString::from("EAAB-token-1234".to_owned()),
            env: [(
                "GOOGLE_ADS_DEVELOPER_TOKEN".to_owned(),
                SecretString::from("dev-token-5678".to_owned()),
            )]
            .into_iter()
            .collect(),
        }
    }

    fn values(&self) -> VerifyValues<'_> {
        VerifyValues {
            config: &self.config,
            secrets: &self.secrets,
            access_token: Some(&self.token),
            platform_env: &self.env,
        }
    }
}

#[test]
fn paths_that_climb_or_leave_are_refused_after_decoding() {
    let cases: &[(&str, Result<(), PathRefusal>)] = &[
        ("me/adaccounts", Ok(())),
        ("", Ok(())),
        ("lists/", Ok(())),
        ("customers:listAccessibleCustomers", Ok(())),
        ("products/123.json", Ok(())),
        ("a%20b", Ok(())),
        ("..", Err(PathRefusal::DotSegment)),
        ("../admin", Err(PathRefusal::DotSegment)),
        ("a/../../b", Err(PathRefusal::DotSegment)),
        ("%2e%2e/x", Err(PathRefusal::DotSegment)),
        ("%2E%2E/x", Err(PathRefusal::DotSegment)),
        (".%2e/x", Err(PathRefusal::DotSegment)),
        ("./x", Err(PathRefusal::DotSegment)),
        ("a/./b", Err(PathRefusal::DotSegment)),
        ("/evil.example/x", Err(PathRefusal::EmptySegment)),
        ("a//b", Err(PathRefusal::EmptySegment)),
        ("a%2Fb", Err(PathRefusal::EncodedSlash)),
        ("..%2fx", Err(PathRefusal::EncodedSlash)),
        ("a%5Cb", Err(PathRefusal::EncodedSlash)),
        ("%252e%252e/x", Err(PathRefusal::EncodedPercent)),
        ("a\\b", Err(PathRefusal::Backslash)),
        ("@evil.example", Err(PathRefusal::At)),
        ("x%40evil.example", Err(PathRefusal::At)),
        ("http://evil.example/", Err(PathRefusal::Scheme)),
        ("https:evil.example", Err(PathRefusal::Scheme)),
        ("HTTP%3A%2F%2Fevil", Err(PathRefusal::EncodedSlash)),
        ("javascript:alert(1)", Err(PathRefusal::Scheme)),
        ("a%00b", Err(PathRefusal::Unreadable)),
        ("a%0d%0aHost:%20x", Err(PathRefusal::Unreadable)),
        ("%ff%fe", Err(PathRefusal::Unreadable)),
    ];
    for (path, expected) in cases {
        assert_eq!(check_path(path), *expected, "{path}");
    }
}

#[test]
fn the_upstream_url_is_the_base_plus_the_path_and_query() {
    let registry = registry();
    let shopify = registry.get("shopify").unwrap();
    let fixture = Fixture::new(&[("shop", "acme.myshopify.com")], &[]);
    let up = build(shopify, &fixture.values(), "graphql.json", None).unwrap();
    assert_eq!(
        up.url.as_str(),
        "https://acme.myshopify.com/admin/api/2026-10/graphql.json"
    );
    assert_eq!(
        up.headers,
        vec![(
            "X-Shopify-Access-Token".to_owned(),
            "EAAB-token-1234".to_owned()
        )]
    );
    assert_eq!(up.injected, vec!["x-shopify-access-token".to_owned()]);
    assert!(up.tenant_supplied_host && !up.redirected);

    let meta = registry.get("meta_ads").unwrap();
    let fixture = Fixture::new(&[], &[]);
    let up = build(
        meta,
        &fixture.values(),
        "me/adaccounts",
        Some("fields=id,name&limit=25&access_token=caller-sent"),
    )
    .unwrap();
    assert_eq!(
        up.url.as_str(),
        "https://graph.facebook.com/v27.0/me/adaccounts?fields=id,name&limit=25&access_token=caller-sent"
    );
    assert!(!up.tenant_supplied_host);

    let ads = registry.get("google_ads").unwrap();
    let up = build(
        ads,
        &fixture.values(),
        "customers:listAccessibleCustomers",
        None,
    )
    .unwrap();
    assert_eq!(
        up.url.as_str(),
        "https://googleads.googleapis.com/v26/customers:listAccessibleCustomers"
    );
    assert!(
        up.headers
            .contains(&("developer-token".to_owned(), "dev-token-5678".to_owned()))
    );
}

#[test]
fn a_host_never_comes_from_the_path() {
    let registry = registry();
    let meta = registry.get("meta_ads").unwrap();
    let fixture = Fixture::new(&[], &[]);
    for path in [
        "../../evil.example",
        "%2e%2e/%2e%2e/evil.example",
        "/evil.example",
        "//evil.example/x",
        "@evil.example",
        "x@evil.example",
        "http://evil.example/",
        "\\\\evil.example",
        "a%2F..%2F..%2Fevil",
    ] {
        let built = build(meta, &fixture.values(), path, None);
        assert!(
            matches!(built, Err(ProxyError::Path(_))),
            "{path}: {:?}",
            built.map(|u| u.url.to_string())
        );
    }
}

#[test]
fn a_query_parameter_the_injection_sets_is_not_taken_from_the_caller() {
    let text = r#"
[[provider]]
id = "acme"
name = "Acme"
description = "Test provider."
category = "crm"
logo = "acme"
docs_url = "https://acme.example/docs"
onboarding = "optional"
level = "tenant"
flag = { default = false }
auth = { type = "api_key" }

[[provider.fields]]
key = "api_key"
label = "API key"
secret = true

[provider.verify]
kind = "http"
url = "https://api.acme.example/me"
query = { key = "{api_key}" }

[provider.api]
base = "https://api.acme.example"
query = { key = "{api_key}" }
"#;
    let registry = Registry::from_toml(text).unwrap();
    let acme = registry.get("acme").unwrap();
    let fixture = Fixture::new(&[], &[("api_key", "k3y-secret")]);
    let up = build(
        acme,
        &fixture.values(),
        "items",
        Some("key=mine&page=2&KEY=x"),
    )
    .unwrap();
    assert_eq!(
        up.url.as_str(),
        "https://api.acme.example/items?page=2&KEY=x&key=k3y-secret"
    );
}

#[test]
fn an_unproxied_provider_and_a_missing_value_are_said_so() {
    let registry = registry();
    let fixture = Fixture::new(&[], &[]);
    assert_eq!(
        build(
            registry.get("clarity").unwrap(),
            &fixture.values(),
            "x",
            None
        )
        .unwrap_err(),
        ProxyError::NotProxied
    );
    let shopify = registry.get("shopify").unwrap();
    assert!(matches!(
        build(shopify, &fixture.values(), "x", None),
        Err(ProxyError::Build(BuildError::Missing(_)))
    ));
}

#[test]
fn every_api_base_is_on_the_host_its_verify_request_uses() {
    let registry = registry();
    for provider in registry.providers() {
        let (Some(api), crate::registry::Verify::Http(verify)) = (&provider.api, &provider.verify)
        else {
            continue;
        };
        let host = |t: &str| {
            t.split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or(rest).to_owned())
        };
        assert_eq!(host(&api.base), host(&verify.url), "{}", provider.id);
    }
}

fn meta_rewriter() -> Rewriter {
    Rewriter::new(
        &[
            "https://graph.facebook.com/v27.0".to_owned(),
            "http://127.0.0.1:9/sandbox/meta_ads/graph.facebook.com/v27.0".to_owned(),
        ],
        "https://plugboard.example/api/v1/orgs/o1/integrations/meta_ads/proxy",
        &["access_token".to_owned()],
        &["EAAB-token-1234".to_owned()],
    )
}

#[test]
fn a_paging_link_points_back_through_the_proxy_without_the_token() {
    let rewriter = meta_rewriter();
    let cases = [
        (
            r#"{"next":"https://graph.facebook.com/v27.0/me/adaccounts?access_token=EAAB-token-1234&limit=25&after=QVFI"}"#,
            r#"{"next":"https://plugboard.example/api/v1/orgs/o1/integrations/meta_ads/proxy/me/adaccounts?limit=25&after=QVFI"}"#,
        ),
        (
            r#"{"next":"https:\/\/graph.facebook.com\/v27.0\/me\/adaccounts?limit=25&access_token=EAAB-token-1234&after=QVFI"}"#,
            r#"{"next":"https:\/\/plugboard.example\/api\/v1\/orgs\/o1\/integrations\/meta_ads\/proxy\/me\/adaccounts?limit=25&after=QVFI"}"#,
        ),
        (
            "http://127.0.0.1:9/sandbox/meta_ads/graph.facebook.com/v27.0/act_1/ads?access_token=EAAB-token-1234",
            "https://plugboard.example/api/v1/orgs/o1/integrations/meta_ads/proxy/act_1/ads",
        ),
        (
            r#"{"error":"bad token EAAB-token-1234"}"#,
            r#"{"error":"bad token [redacted]"}"#,
        ),
        (
            "https://graph.facebook.com/v27.0x/elsewhere",
            "https://graph.facebook.com/v27.0x/elsewhere",
        ),
    ];
    for (from, to) in cases {
        assert_eq!(rewriter.whole(from), to);
    }
}

fn through_chunks(rewriter: &mut Rewriter, text: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts {
        out.extend(rewriter.feed(&text[from..cut.max(from)]));
        from = cut.max(from);
    }
    out.extend(rewriter.feed(&text[from..]));
    out.extend(rewriter.finish());
    out
}

#[test]
fn a_secret_split_between_two_chunks_is_still_caught() {
    let text = br#"{"data":[],"paging":{"next":"https://graph.facebook.com/v27.0/me/adaccounts?access_token=EAAB-token-1234&after=x"},"echo":"EAAB-token-1234"}"#;
    let whole = meta_rewriter().whole(std::str::from_utf8(text).unwrap());
    for cut in 0..text.len() {
        let mut rewriter = meta_rewriter();
        let out = through_chunks(&mut rewriter, text, &[cut]);
        assert_eq!(String::from_utf8(out).unwrap(), whole, "cut at {cut}");
    }
    assert!(!whole.contains("EAAB-token-1234"));
}

proptest! {
    #[test]
    fn chunking_never_changes_the_answer(
        filler in "[a-z&?=/\\\\\": ]{0,40}",
        cuts in proptest::collection::vec(0usize..400, 0..6),
    ) {
        let text = format!(
            "{filler}https://graph.facebook.com/v27.0/x?access_token=EAAB-token-1234&a=1{filler}EAAB-token-1234{filler}https:\\/\\/graph.facebook.com\\/v27.0\\/y{filler}"
        );
        let whole = meta_rewriter().whole(&text);
        let mut rewriter = meta_rewriter();
        let out = String::from_utf8(through_chunks(&mut rewriter, text.as_bytes(), &cuts)).unwrap();
        prop_assert_eq!(&out, &whole);
        prop_assert!(!out.contains("EAAB-token-1234"));
    }
}

#[test]
fn a_listing_s_app_credentials_are_injected_like_the_credential_and_scrubbed_from_answers() {
    let registry = registry();
    let tiktok = registry.get("tiktok_ads").unwrap();
    let advertisers = tiktok
        .resource(crate::registry::ResourceKind::Advertiser)
        .unwrap();
    let mut fixture = Fixture::new(&[], &[]);
    fixture.env = [
        ("TIKTOK_APP_ID", "app-7001"),
        ("TIKTOK_APP_SECRET", "s3cret-7002"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), SecretString::from(v.to_owned())))
    .collect();
    let up = build_with(
        tiktok,
        &fixture.values(),
        "oauth2/advertiser/get/",
        Some("secret=mine&page=1"),
        &advertisers.query,
    )
    .unwrap();
    assert_eq!(
        up.url.as_str(),
        "https://business-api.tiktok.com/open_api/v1.3/oauth2/advertiser/get/?page=1&app_id=app-7001&secret=s3cret-7002"
    );
    assert!(!format!("{up:?}").contains("s3cret"));
    let link = "https://business-api.tiktok.com/open_api/v1.3/pixel/list/?page=2";
    let answer = format!(r#"{{"message": "bad secret s3cret-7002", "next": "{link}"}}"#);
    let mut scrubber = up.scrubber();
    let mut read = scrubber.feed(answer.as_bytes());
    read.extend(scrubber.finish());
    let read = String::from_utf8(read).unwrap();
    assert!(!read.contains("s3cret"), "{read}");
    assert!(
        read.contains(link),
        "a link Plugboard reads itself stays as it is: {read}"
    );
}
