use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use domain::crypto::KeyRing;
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{Options, TestApp, json_body, spawn_app, test_settings};

async fn connect_openai(app: &TestApp, token: &str, org: &str, key: &str) {
    let saved = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/openai"),
            token,
            json!({"credentials": {"api_key": key}}),
        )
        .await;
    json_body(saved, 200).await;
}

/// Every text value stored where a secret could end up, to search for plaintext.
async fn database_text(app: &TestApp) -> String {
    let columns = [
        ("connection_secrets", "ciphertext"),
        ("connection_secrets", "last4"),
        ("connections", "config"),
        ("connections", "account_name"),
        ("connections", "account_id"),
        ("connections", "last_error_message"),
        ("connection_events", "message"),
        ("connection_events", "code"),
    ];
    let mut all = String::new();
    for (table, column) in columns {
        let values = app.column_text(table, column).await;
        all.push_str(&values.join("\n"));
    }
    all
}

#[tokio::test]
async fn a_saved_key_appears_in_no_response_log_or_column() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let key = format!("sk-test-{}", uuid::Uuid::new_v4().simple());
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        // A provider that quotes the key back in its answer must not leak it either.
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"owned_by": key}]})),
        )
        .mount(&app.provider)
        .await;
    let logged_before = app.logs.len();
    connect_openai(&app, &owner.token, &org, &key).await;

    let base = format!("/api/v1/orgs/{org}/integrations");
    let mut bodies = Vec::new();
    for path in [
        base.clone(),
        format!("{base}/openai"),
        format!("{base}/openai/events"),
    ] {
        bodies.push(app.get(&path, &owner.token).await.text().await.unwrap());
    }
    bodies.push(
        app.post(&format!("{base}/openai/test"), &owner.token, json!({}))
            .await
            .text()
            .await
            .unwrap(),
    );
    for body in &bodies {
        assert!(!body.contains(&key), "a response contains the key: {body}");
    }
    assert!(
        bodies[1].contains(&key[key.len() - 4..]),
        "the last four are shown"
    );

    assert!(app.logs.len() > logged_before, "the requests were logged");
    assert!(!app.logs.contains(&key), "a log line contains the key");
    let stored = database_text(&app).await;
    assert!(
        !stored.contains(&key),
        "the database holds the key in plaintext"
    );
    assert!(
        stored.contains("v1.test1."),
        "the ciphertext carries its key id"
    );
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_org_does_not_open_there() {
    let app = spawn_app().await;
    app.answer("GET", "/v1/models", 200, json!({"data": []}))
        .await;
    let (owner_a, org_a) = app.owner_with_org().await;
    let (owner_b, org_b) = app.owner_with_org().await;
    connect_openai(&app, &owner_a.token, &org_a, "sk-test-orgakey000000000001").await;
    connect_openai(&app, &owner_b.token, &org_b, "sk-test-orgbkey000000000002").await;

    // Someone with database access copies A's sealed key over B's.
    let org_a_id: uuid::Uuid = org_a.parse().unwrap();
    let org_b_id: uuid::Uuid = org_b.parse().unwrap();
    let rows = app
        .raw_rows("SELECT org_id, ciphertext FROM connection_secrets")
        .await;
    let sealed: String = rows
        .iter()
        .find(|row| row.try_get::<uuid::Uuid>("", "org_id").unwrap() == org_a_id)
        .map(|row| row.try_get("", "ciphertext").unwrap())
        .unwrap();
    app.execute_with(
        "UPDATE connection_secrets SET ciphertext = $1 WHERE org_id = $2",
        vec![sealed.into(), org_b_id.into()],
    )
    .await;

    let test = json_body(
        app.post(
            &format!("/api/v1/orgs/{org_b}/integrations/openai/test"),
            &owner_b.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(test["ok"], false);
    assert_eq!(test["code"], "credentials_unreadable");
    let b = json_body(
        app.get(
            &format!("/api/v1/orgs/{org_b}/integrations/openai"),
            &owner_b.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(b["status"], "error");
    assert!(
        b["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("Enter them again")
    );

    // A is untouched and still works.
    let a = json_body(
        app.post(
            &format!("/api/v1/orgs/{org_a}/integrations/openai/test"),
            &owner_a.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(a["ok"], true);
    // Only A's test reached the provider with A's key; B's unreadable key was never sent.
    let sent: Vec<String> = app
        .provider
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(sent.iter().filter(|h| h.contains("orgakey")).count(), 2);
    assert_eq!(sent.iter().filter(|h| h.contains("orgbkey")).count(), 1);
}

/// Start-up refuses a key ring that cannot open what is stored, and says which key is wrong.
#[tokio::test]
async fn start_up_checks_the_key_ring_against_stored_secrets() {
    let app = spawn_app().await;
    app.answer("GET", "/v1/models", 200, json!({"data": []}))
        .await;
    let (owner, org) = app.owner_with_org().await;
    connect_openai(&app, &owner.token, &org, "sk-test-rotationcheck00001").await;
    let with_keys = |keys: String| {
        let mut settings = test_settings(&app.database_url, String::new(), Options::default());
        settings.encryption_keys = SecretString::from(keys);
        settings
    };
    let fresh = |kid: &str| {
        KeyRing::generate_entry(kid)
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    let original = app.encryption_keys.expose_secret().to_owned();

    let missing = api::startup::prepare(&with_keys(fresh("other")))
        .await
        .expect_err("refused");
    assert!(missing.to_string().contains("key `test1`"), "{missing}");
    let impostor = api::startup::prepare(&with_keys(fresh("test1")))
        .await
        .expect_err("refused");
    assert!(
        impostor.to_string().contains("not the key that sealed"),
        "{impostor}"
    );
    // A new active key in front of the original one: start-up succeeds.
    api::startup::prepare(&with_keys(format!("{},{original}", fresh("k2"))))
        .await
        .expect("starts");
}
