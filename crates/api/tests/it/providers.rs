//! Every provider's verify request, through the API, against wiremock: one table row per
//! provider, one test per behaviour. API-key, basic and public-id providers connect by PATCH;
//! OAuth providers get a sealed token (as the OAuth callback stores it) and are tested;
//! platform-level providers are checked through the platform readiness API.

use std::collections::BTreeSet;

use domain::registry::Registry;
use reqwest::Response;
use serde_json::{Map, Value, json};
use wiremock::matchers::{
    any, basic_auth, body_json, body_string, header, method, path, query_param,
};
use wiremock::{Mock, MockBuilder, ResponseTemplate};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};

macro_rules! token {
    () => {
        "oauth-access-token-0123456789"
    };
}
const TOKEN: &str = token!();
const BEARER_TOKEN: &[(&str, &str)] = &[("authorization", concat!("Bearer ", token!()))];
const ADMIN: &str = "platform-ops@plugboard.test";
const PLATFORM_ENV: &[(&str, &str)] = &[
    ("GOOGLE_ADS_DEVELOPER_TOKEN", "ads-developer-token-0001"),
    ("TIKTOK_APP_ID", "tiktok-app-7001"),
    ("TIKTOK_APP_SECRET", "tiktok-secret-7002"),
    ("SENTRY_DSN", "https://public@sentry.example/1"),
    ("SENTRY_AUTH_TOKEN", "sentry-auth-token-0003"),
    ("BETTER_STACK_API_KEY", "betterstack-token-0004"),
    ("BETTER_STACK_WEBHOOK_SECRET", "betterstack-webhook-0005"),
];

pub(crate) type Pairs = &'static [(&'static str, &'static str)];

/// How a provider's credentials reach its verify request.
pub(crate) enum Connect {
    /// `PATCH …/integrations/{id}` with credentials and settings.
    Patch { credentials: Pairs, config: Pairs },
    /// A sealed access token and settings, then `POST …/integrations/{id}/test`.
    OAuth { config: Pairs },
    /// The platform's own variables, through `POST /api/v1/platform/readiness/{id}/test`.
    Platform,
}

enum Body {
    Empty,
    Json(&'static str),
    Form(&'static str),
}

/// What the provider must receive.
struct Expected {
    method: &'static str,
    path: &'static str,
    headers: Pairs,
    query: Pairs,
    basic: Option<(&'static str, &'static str)>,
    body: Body,
}

const fn get(path: &'static str) -> Expected {
    Expected {
        method: "GET",
        path,
        headers: &[],
        query: &[],
        basic: None,
        body: Body::Empty,
    }
}

const fn post(path: &'static str) -> Expected {
    Expected {
        method: "POST",
        ..get(path)
    }
}

pub(crate) struct Case {
    pub(crate) id: &'static str,
    pub(crate) connect: Connect,
    /// `None` for a provider checked by format only: no request at all.
    expected: Option<Expected>,
    /// The provider's 2xx answer.
    answer: &'static str,
    account_name: Option<&'static str>,
    account_id: Option<&'static str>,
}

const fn oauth(config: Pairs) -> Connect {
    Connect::OAuth { config }
}

const fn patch(credentials: Pairs, config: Pairs) -> Connect {
    Connect::Patch {
        credentials,
        config,
    }
}

pub(crate) const CASES: &[Case] = &[
    Case {
        id: "shopify",
        connect: oauth(&[("shop", "acme-store.myshopify.com")]),
        // GraphQL Admin on the pinned quarterly version; the shop's name comes from the answer.
        expected: Some(Expected {
            headers: &[
                ("x-shopify-access-token", TOKEN),
                ("content-type", "application/json"),
            ],
            body: Body::Json(r#"{"query": "{ shop { name id } }"}"#),
            ..post("/admin/api/2026-10/graphql.json")
        }),
        answer: r#"{"data": {"shop": {"name": "Acme Store", "id": "gid://shopify/Shop/548380009"}}}"#,
        account_name: Some("Acme Store"),
        account_id: Some("gid://shopify/Shop/548380009"),
    },
    Case {
        id: "stripe",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: &[
                ("authorization", concat!("Bearer ", token!())),
                ("stripe-version", "2026-09-30.endive"),
            ],
            ..get("/v1/account")
        }),
        answer: r#"{"id": "acct_1Acme", "business_profile": {"name": "Acme Payments"}}"#,
        account_name: Some("Acme Payments"),
        account_id: Some("acct_1Acme"),
    },
    Case {
        id: "resend",
        connect: patch(&[("api_key", "re_test_12345678")], &[]),
        expected: Some(Expected {
            headers: &[("authorization", "Bearer re_test_12345678")],
            ..get("/domains")
        }),
        answer: r#"{"data": [{"id": "d_1", "name": "mail.acme.example"}]}"#,
        account_name: Some("mail.acme.example"),
        account_id: Some("d_1"),
    },
    Case {
        id: "meta_ads",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            query: &[("fields", "id,name")],
            ..get("/v27.0/me")
        }),
        answer: r#"{"id": "10001", "name": "Acme Ads"}"#,
        account_name: Some("Acme Ads"),
        account_id: Some("10001"),
    },
    Case {
        id: "google_ads",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: &[
                ("authorization", concat!("Bearer ", token!())),
                ("developer-token", "ads-developer-token-0001"),
            ],
            ..get("/v26/customers:listAccessibleCustomers")
        }),
        answer: r#"{"resourceNames": ["customers/1234567890"]}"#,
        account_name: None,
        account_id: Some("customers/1234567890"),
    },
    Case {
        id: "tiktok_ads",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: &[("access-token", TOKEN)],
            query: &[
                ("app_id", "tiktok-app-7001"),
                ("secret", "tiktok-secret-7002"),
            ],
            ..get("/open_api/v1.3/oauth2/advertiser/get/")
        }),
        answer: r#"{"code": 0, "message": "OK", "data": {"list": [{"advertiser_id": "7012345678901234567", "advertiser_name": "Acme TikTok"}]}}"#,
        account_name: Some("Acme TikTok"),
        account_id: Some("7012345678901234567"),
    },
    Case {
        id: "ga4",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            query: &[("pageSize", "1")],
            ..get("/v1beta/accountSummaries")
        }),
        answer: r#"{"accountSummaries": [{"account": "accounts/100", "displayName": "Acme Analytics"}]}"#,
        account_name: Some("Acme Analytics"),
        account_id: Some("accounts/100"),
    },
    Case {
        id: "search_console",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            ..get("/webmasters/v3/sites")
        }),
        answer: r#"{"siteEntry": [{"siteUrl": "sc-domain:acme.example", "permissionLevel": "siteOwner"}]}"#,
        account_name: None,
        account_id: Some("sc-domain:acme.example"),
    },
    Case {
        id: "youtube",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            query: &[("part", "snippet"), ("mine", "true")],
            ..get("/youtube/v3/channels")
        }),
        answer: r#"{"items": [{"id": "UCacme", "snippet": {"title": "Acme TV"}}]}"#,
        account_name: Some("Acme TV"),
        account_id: Some("UCacme"),
    },
    Case {
        id: "klaviyo",
        connect: patch(&[("api_key", "pk_abcdefghij0123456789")], &[]),
        expected: Some(Expected {
            headers: &[
                ("authorization", "Klaviyo-API-Key pk_abcdefghij0123456789"),
                ("revision", "2026-10-15"),
                ("accept", "application/vnd.api+json"),
            ],
            ..get("/api/accounts/")
        }),
        answer: r#"{"data": [{"id": "AbC123", "attributes": {"contact_information": {"organization_name": "Acme Brand"}}}]}"#,
        account_name: Some("Acme Brand"),
        account_id: Some("AbC123"),
    },
    Case {
        id: "yotpo",
        connect: patch(
            &[("api_key", "Qcca8nS3nhS2WbeN9bnITltBF67ZaHpSlba3Ckdd")],
            &[("store_id", "i23elSptdIyrsWX1wDwkgWjEFGtjQit0AgXdCLLz")],
        ),
        expected: Some(Expected {
            headers: &[("content-type", "application/json")],
            body: Body::Json(r#"{"secret": "Qcca8nS3nhS2WbeN9bnITltBF67ZaHpSlba3Ckdd"}"#),
            ..post("/core/v3/stores/i23elSptdIyrsWX1wDwkgWjEFGtjQit0AgXdCLLz/access_tokens")
        }),
        answer: r#"{"access_token": "yotpo-issued-token"}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "slack",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            ..post("/api/auth.test")
        }),
        answer: r#"{"ok": true, "team": "Acme Workspace", "team_id": "T0ACME"}"#,
        account_name: Some("Acme Workspace"),
        account_id: Some("T0ACME"),
    },
    Case {
        id: "wise",
        connect: patch(&[("api_key", "1a2b3c4d-0000-4000-8000-123456789abc")], &[]),
        expected: Some(Expected {
            headers: &[(
                "authorization",
                "Bearer 1a2b3c4d-0000-4000-8000-123456789abc",
            )],
            ..get("/v2/profiles")
        }),
        answer: r#"[{"id": 123456, "fullName": "Acme Ltd"}]"#,
        account_name: Some("Acme Ltd"),
        account_id: Some("123456"),
    },
    Case {
        id: "retell",
        connect: patch(&[("api_key", "key_0123456789abcdef")], &[]),
        expected: Some(Expected {
            headers: &[("authorization", "Bearer key_0123456789abcdef")],
            query: &[("limit", "1")],
            ..get("/list-chat-agents")
        }),
        answer: "[]",
        account_name: None,
        account_id: None,
    },
    Case {
        id: "elevenlabs",
        connect: patch(&[("api_key", "sk_0123456789abcdef0123456789abcdef")], &[]),
        expected: Some(Expected {
            headers: &[("xi-api-key", "sk_0123456789abcdef0123456789abcdef")],
            ..get("/v1/user")
        }),
        answer: r#"{"user_id": "u_acme", "first_name": "Ada"}"#,
        account_name: Some("Ada"),
        account_id: Some("u_acme"),
    },
    Case {
        id: "mux",
        connect: patch(
            &[("token_secret", "muxSecret0123456789abcdef")],
            &[("token_id", "44c819de-4add-4c9f-b2e9-384a0a71bede")],
        ),
        expected: Some(Expected {
            basic: Some((
                "44c819de-4add-4c9f-b2e9-384a0a71bede",
                "muxSecret0123456789abcdef",
            )),
            query: &[("limit", "1")],
            ..get("/video/v1/assets")
        }),
        answer: r#"{"data": []}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "assemblyai",
        connect: patch(&[("api_key", "0123456789abcdef0123456789abcdef")], &[]),
        expected: Some(Expected {
            headers: &[("authorization", "0123456789abcdef0123456789abcdef")],
            query: &[("limit", "1")],
            ..get("/v2/transcript")
        }),
        answer: r#"{"transcripts": []}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "google_drive",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            query: &[("fields", "user")],
            ..get("/drive/v3/about")
        }),
        answer: r#"{"user": {"displayName": "Ada Acme", "emailAddress": "ada@acme.example"}}"#,
        account_name: Some("Ada Acme"),
        account_id: Some("ada@acme.example"),
    },
    Case {
        id: "google_calendar",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            query: &[("maxResults", "1")],
            ..get("/calendar/v3/users/me/calendarList")
        }),
        answer: r#"{"items": [{"id": "team@acme.example", "summary": "Acme Team"}]}"#,
        account_name: Some("Acme Team"),
        account_id: Some("team@acme.example"),
    },
    Case {
        id: "fairing",
        connect: patch(&[("api_key", "fairing_key_0123456")], &[]),
        expected: Some(Expected {
            headers: &[("authorization", "fairing_key_0123456")],
            ..get("/api/questions")
        }),
        answer: r#"{"data": []}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "plaid",
        connect: patch(
            &[("api_key", "0123456789abcdef0123456789abcd")],
            &[
                ("client_id", "0123456789abcdef01234567"),
                ("environment", "sandbox"),
            ],
        ),
        expected: Some(Expected {
            headers: &[
                ("content-type", "application/json"),
                ("plaid-version", "2020-09-14"),
            ],
            body: Body::Json(
                r#"{"client_id": "0123456789abcdef01234567", "secret": "0123456789abcdef0123456789abcd", "count": 1, "offset": 0, "country_codes": ["US"]}"#,
            ),
            ..post("/institutions/get")
        }),
        answer: r#"{"institutions": [], "request_id": "req_1"}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "paypal",
        connect: patch(
            &[("client_secret", "PayPalSecret_0123456789")],
            &[
                ("client_id", "PayPalClient_0123456789"),
                ("api_host", "api-m.sandbox.paypal.com"),
            ],
        ),
        expected: Some(Expected {
            basic: Some(("PayPalClient_0123456789", "PayPalSecret_0123456789")),
            headers: &[("content-type", "application/x-www-form-urlencoded")],
            body: Body::Form("grant_type=client_credentials"),
            ..post("/v1/oauth2/token")
        }),
        answer: r#"{"app_id": "APP-80W284485P519543T", "access_token": "paypal-issued"}"#,
        account_name: None,
        account_id: Some("APP-80W284485P519543T"),
    },
    Case {
        id: "lob",
        connect: patch(&[("api_key", "test_0123456789abcdefghij")], &[]),
        expected: Some(Expected {
            basic: Some(("test_0123456789abcdefghij", "")),
            query: &[("limit", "1")],
            ..get("/v1/addresses")
        }),
        answer: r#"{"data": []}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "clarity",
        connect: patch(&[], &[("project_id", "abcde12345")]),
        expected: None,
        answer: "",
        account_name: None,
        account_id: Some("abcde12345"),
    },
    Case {
        id: "better_stack",
        connect: Connect::Platform,
        expected: Some(Expected {
            headers: &[("authorization", "Bearer betterstack-token-0004")],
            ..get("/api/v2/monitors")
        }),
        answer: r#"{"data": []}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "sentry",
        connect: Connect::Platform,
        expected: Some(Expected {
            headers: &[("authorization", "Bearer sentry-auth-token-0003")],
            ..get("/api/0/organizations/")
        }),
        answer: r#"[{"name": "Acme Platform", "slug": "acme-platform"}]"#,
        account_name: Some("Acme Platform"),
        account_id: Some("acme-platform"),
    },
    Case {
        id: "linkedin",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            ..get("/v2/userinfo")
        }),
        answer: r#"{"sub": "li-782bbtaQ", "name": "Ada Acme"}"#,
        account_name: Some("Ada Acme"),
        account_id: Some("li-782bbtaQ"),
    },
    Case {
        id: "upwork",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: &[
                ("authorization", concat!("Bearer ", token!())),
                ("content-type", "application/json"),
            ],
            body: Body::Json(r#"{"query": "query { user { id name } }"}"#),
            ..post("/graphql")
        }),
        answer: r#"{"data": {"user": {"id": "upw-1", "name": "Ada Acme"}}}"#,
        account_name: Some("Ada Acme"),
        account_id: Some("upw-1"),
    },
    Case {
        id: "fiverr",
        connect: patch(
            &[("api_key", "fiverr-token-0123456789")],
            &[("api_url", "https://api.fiverr-partner.example/v1/account")],
        ),
        expected: Some(Expected {
            headers: &[("authorization", "Bearer fiverr-token-0123456789")],
            ..get("/v1/account")
        }),
        answer: r#"{"status": "ok"}"#,
        account_name: None,
        account_id: None,
    },
    Case {
        id: "x",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            ..get("/2/users/me")
        }),
        answer: r#"{"data": {"id": "2244994945", "username": "acme"}}"#,
        account_name: Some("acme"),
        account_id: Some("2244994945"),
    },
    Case {
        id: "reddit",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: &[
                ("authorization", concat!("Bearer ", token!())),
                (
                    "user-agent",
                    "web:plugboard:v1 (integrations control center)",
                ),
            ],
            ..get("/api/v1/me")
        }),
        answer: r#"{"id": "t2_acme", "name": "acme_brand"}"#,
        account_name: Some("acme_brand"),
        account_id: Some("t2_acme"),
    },
    Case {
        id: "calendly",
        connect: oauth(&[]),
        expected: Some(Expected {
            headers: BEARER_TOKEN,
            ..get("/users/me")
        }),
        answer: r#"{"resource": {"name": "Ada Acme", "uri": "https://api.calendly.com/users/AAAA"}}"#,
        account_name: Some("Ada Acme"),
        account_id: Some("https://api.calendly.com/users/AAAA"),
    },
    Case {
        id: "openai",
        // The saved organization goes along as OpenAI-Organization.
        connect: patch(
            &[("api_key", "sk-test-0123456789abcdef")],
            &[("organization", "org-acme12345")],
        ),
        expected: Some(Expected {
            headers: &[
                ("authorization", "Bearer sk-test-0123456789abcdef"),
                ("openai-organization", "org-acme12345"),
            ],
            ..get("/v1/models")
        }),
        answer: r#"{"data": [{"id": "gpt-4o", "owned_by": "acme-org"}]}"#,
        account_name: None,
        account_id: Some("acme-org"),
    },
    Case {
        id: "affiliate_network",
        connect: patch(
            &[("api_key", "aff-key-0123456789")],
            &[
                ("base_url", "https://api.network.example/v1"),
                ("network_id", "acme-42"),
            ],
        ),
        expected: Some(Expected {
            headers: &[
                ("authorization", "Bearer aff-key-0123456789"),
                ("accept", "application/json"),
            ],
            ..get("/v1/networks/acme-42")
        }),
        answer: r#"{"id": "acme-42", "name": "Acme Affiliates"}"#,
        account_name: Some("Acme Affiliates"),
        account_id: Some("acme-42"),
    },
    Case {
        id: "crm",
        connect: patch(
            &[("api_key", "crm-key-0123456789")],
            &[("base_url", "https://api.crm.example/v2")],
        ),
        expected: Some(Expected {
            headers: &[
                ("authorization", "Bearer crm-key-0123456789"),
                ("accept", "application/json"),
            ],
            ..get("/v2/me")
        }),
        answer: r#"{"id": "crm-user-9", "name": "Ada at Acme CRM"}"#,
        account_name: Some("Ada at Acme CRM"),
        account_id: Some("crm-user-9"),
    },
];

/// The provider's name, as messages quote it.
fn name_of(id: &str) -> String {
    Registry::builtin().unwrap().get(id).unwrap().name.clone()
}

fn object(pairs: Pairs) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

/// A mock that only answers the exact request the provider expects.
fn exact(expected: &Expected) -> MockBuilder {
    let mut mock = Mock::given(method(expected.method)).and(path(expected.path));
    for (name, value) in expected.headers {
        mock = mock.and(header(*name, *value));
    }
    for (name, value) in expected.query {
        mock = mock.and(query_param(*name, *value));
    }
    if let Some((user, password)) = expected.basic {
        mock = mock.and(basic_auth(user, password));
    }
    match expected.body {
        Body::Empty => mock,
        Body::Json(text) => mock.and(body_json(serde_json::from_str::<Value>(text).unwrap())),
        Body::Form(text) => mock.and(body_string(text)),
    }
}

struct World {
    app: TestApp,
    org: String,
    owner: String,
    admin: String,
}

async fn world() -> World {
    let app = spawn_app_with(Options {
        platform_env: PLATFORM_ENV.to_vec(),
        admin_emails: vec![ADMIN.to_owned()],
        ..Default::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    let admin = app.signup_as("ops", ADMIN).await;
    World {
        app,
        org,
        owner: owner.token,
        admin: admin.token,
    }
}

impl World {
    fn integration(&self, id: &str) -> String {
        format!("/api/v1/orgs/{}/integrations/{id}", self.org)
    }

    /// Makes the app run the provider's verify request the way this provider connects.
    async fn verify(&self, case: &Case) -> Response {
        match case.connect {
            Connect::Patch {
                credentials,
                config,
            } => {
                let body = json!({"credentials": object(credentials), "config": object(config)});
                self.app
                    .patch(&self.integration(case.id), &self.owner, body)
                    .await
            }
            Connect::OAuth { config } => {
                self.app
                    .seed_oauth_connection(&self.org, case.id, TOKEN, config)
                    .await;
                let test = format!("{}/test", self.integration(case.id));
                self.app.post(&test, &self.owner, json!({})).await
            }
            Connect::Platform => {
                let test = format!("/api/v1/platform/readiness/{}/test", case.id);
                self.app.post(&test, &self.admin, json!({})).await
            }
        }
    }

    /// What the app now shows about the connection.
    async fn integration_now(&self, id: &str) -> Value {
        json_body(self.app.get(&self.integration(id), &self.owner).await, 200).await
    }
}

#[test]
fn the_table_has_one_row_per_provider() {
    let registry = Registry::builtin().unwrap();
    let listed: BTreeSet<&str> = registry.providers().iter().map(|p| p.id.as_str()).collect();
    let rows: Vec<&str> = CASES.iter().map(|c| c.id).collect();
    let unique: BTreeSet<&str> = rows.iter().copied().collect();
    assert_eq!(unique.len(), rows.len(), "a provider has two rows");
    assert_eq!(unique, listed);
    for case in CASES {
        let provider = registry.get(case.id).unwrap();
        let kind_matches = match case.connect {
            Connect::Platform => provider.level == domain::registry::Level::Platform,
            Connect::OAuth { .. } => provider.oauth().is_some(),
            Connect::Patch { .. } => {
                provider.oauth().is_none() && provider.level == domain::registry::Level::Tenant
            }
        };
        assert!(kind_matches, "{}: wrong way of connecting", case.id);
    }
}

#[tokio::test]
async fn each_provider_sends_its_verify_request_and_reads_the_account() {
    let world = world().await;
    let registry = Registry::builtin().unwrap();
    for case in CASES {
        world.app.provider.reset().await;
        if let Some(expected) = &case.expected {
            let answer: Value = serde_json::from_str(case.answer).unwrap();
            exact(expected)
                .respond_with(ResponseTemplate::new(200).set_body_json(answer))
                .expect(1)
                .named(case.id)
                .mount(&world.app.provider)
                .await;
        }
        let response = world.verify(case).await;
        // First: a request that did not match is reported with what was received.
        world.app.provider.verify().await;
        if case.expected.is_none() {
            let received = world.app.provider.received_requests().await.unwrap();
            assert!(received.is_empty(), "{}: no request expected", case.id);
        }
        let body = json_body(response, 200).await;
        let shown = match case.connect {
            Connect::Patch { .. } => {
                assert_eq!(body["status"], "connected", "{}: {body}", case.id);
                world.integration_now(case.id).await
            }
            Connect::OAuth { .. } => {
                assert_eq!(body["ok"], true, "{}: {body}", case.id);
                assert_eq!(body["status"], "connected", "{}", case.id);
                world.integration_now(case.id).await
            }
            Connect::Platform => {
                assert_eq!(body["ok"], true, "{}: {body}", case.id);
                body
            }
        };
        assert_eq!(
            shown["account_name"],
            json!(case.account_name),
            "{}",
            case.id
        );
        assert_eq!(shown["account_id"], json!(case.account_id), "{}", case.id);
        if !matches!(case.connect, Connect::Platform) {
            assert_eq!(shown["status"], "connected", "{}", case.id);
            // Connected; one that must be pointed at something still says so.
            let needs_choice = registry
                .get(case.id)
                .is_some_and(|p| p.resources.iter().any(|r| r.required));
            if needs_choice {
                assert_eq!(
                    shown["last_error"]["code"], "selection_required",
                    "{}",
                    case.id
                );
            } else {
                assert!(shown["last_error"].is_null(), "{}", case.id);
            }
        }
    }
}

#[tokio::test]
async fn a_401_or_403_from_each_provider_is_refused_with_what_to_do() {
    let world = world().await;
    for case in CASES.iter().filter(|c| c.expected.is_some()) {
        let name = name_of(case.id);
        for status in [401, 403] {
            world.app.provider.reset().await;
            Mock::given(any())
                .respond_with(
                    ResponseTemplate::new(status)
                        .set_body_json(json!({"message": "The token is not valid."})),
                )
                .mount(&world.app.provider)
                .await;
            let response = world.verify(case).await;
            let context = format!("{} on HTTP {status}", case.id);
            let quoted = format!("(HTTP {status}: The token is not valid.)");
            match case.connect {
                Connect::Patch { .. } => {
                    let body = problem(response, 422).await;
                    assert_eq!(body["code"], "credentials_rejected", "{context}");
                    let detail = body["detail"].as_str().unwrap();
                    for part in [
                        name.as_str(),
                        &quoted,
                        "save them again",
                        "Nothing was saved.",
                    ] {
                        assert!(detail.contains(part), "{context}: {detail}");
                    }
                    let now = world.integration_now(case.id).await;
                    assert_eq!(now["status"], "not_connected", "{context}");
                    let credentials = now["credentials"].as_object().unwrap();
                    assert!(
                        credentials.values().all(|c| c["configured"] == false),
                        "{context}: {now}"
                    );
                }
                Connect::OAuth { .. } => {
                    let body = json_body(response, 200).await;
                    assert_eq!(body["ok"], false, "{context}");
                    assert_eq!(body["status"], "expired", "{context}");
                    assert_eq!(body["code"], "credentials_rejected", "{context}");
                    let message = body["message"].as_str().unwrap();
                    let reconnect = format!("Reconnect {name} to grant access again.");
                    assert!(
                        message.contains(&quoted) && message.contains(&reconnect),
                        "{context}: {message}"
                    );
                    let now = world.integration_now(case.id).await;
                    assert_eq!(now["status"], "expired", "{context}");
                    assert_eq!(now["last_error"]["message"], message, "{context}");
                }
                Connect::Platform => {
                    let body = json_body(response, 200).await;
                    assert_eq!(body["ok"], false, "{context}");
                    assert_eq!(body["code"], "credentials_rejected", "{context}");
                    let message = body["message"].as_str().unwrap();
                    let variables = Registry::builtin()
                        .unwrap()
                        .get(case.id)
                        .unwrap()
                        .platform_env
                        .join(", ");
                    assert!(
                        message.contains(&quoted) && message.contains(&variables),
                        "{context}: {message}"
                    );
                }
            }
        }
    }
    // Refused credentials left nothing behind: the only connections are the seeded OAuth ones.
    let stored: BTreeSet<String> = world
        .app
        .column_text("connections", "provider")
        .await
        .into_iter()
        .collect();
    let seeded: BTreeSet<String> = CASES
        .iter()
        .filter(|c| matches!(c.connect, Connect::OAuth { .. }))
        .map(|c| c.id.to_owned())
        .collect();
    assert_eq!(stored, seeded);
}

#[tokio::test]
async fn another_organization_cannot_test_a_seeded_connection() {
    let world = world().await;
    world
        .app
        .seed_oauth_connection(&world.org, "stripe", TOKEN, &[])
        .await;
    let (stranger, other_org) = world.app.owner_with_org().await;
    // The stranger's own organization has no Stripe connection to test…
    let own = problem(
        world
            .app
            .post(
                &format!("/api/v1/orgs/{other_org}/integrations/stripe/test"),
                &stranger.token,
                json!({}),
            )
            .await,
        409,
    )
    .await;
    assert_eq!(own["code"], "not_connected");
    // …and the first organization's does not exist for them.
    problem(
        world
            .app
            .post(
                &format!("{}/test", world.integration("stripe")),
                &stranger.token,
                json!({}),
            )
            .await,
        404,
    )
    .await;
    assert!(
        world
            .app
            .provider
            .received_requests()
            .await
            .unwrap()
            .is_empty()
    );
}

/// The public catalog shows the API version each provider is called on and its sunset.
#[tokio::test]
async fn the_catalog_shows_each_providers_api_version_and_sunset() {
    let world = world().await;
    let catalog = json_body(world.app.get("/api/v1/providers", &world.owner).await, 200).await;
    let find = |id: &str| {
        catalog["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };
    let shopify = find("shopify");
    assert_eq!(shopify["api_version"], "2026-10");
    assert_eq!(shopify["sunsets_on"], "2027-10-01");
    assert_eq!(
        shopify["version_source"],
        "https://shopify.dev/docs/api/usage/versioning"
    );
    let meta = find("meta_ads");
    assert_eq!(meta["api_version"], "v27.0");
    assert!(meta["sunsets_on"].is_null());
    assert!(meta["sunset_note"].as_str().unwrap().contains("TBD"));
    let slack = find("slack");
    assert!(slack["api_version"].is_null() && slack["version_source"].is_null());
    let region = &find("sentry")["fields"][0];
    assert_eq!(region["key"], "region");
    assert_eq!(region["default"], "sentry.io");
    assert_eq!(region["options"], json!(["sentry.io", "de.sentry.io"]));
}
