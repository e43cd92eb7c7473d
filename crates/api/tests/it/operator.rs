//! The operator's subcommands, run as the `plugboard` binary on the test's database: the
//! README's key rotation procedure end to end — secrets under two keys (two organizations,
//! connection secrets, notification secrets, a kept idempotent answer), `rotate-keys` in small
//! batches, `check-keys`, a server on the new key alone — and `create-admin`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use domain::crypto::{KeyRing, SecretAad};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    Options, TestApp, TestUser, json_body, spawn_app_with, start_server, test_settings,
};

const JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-to-sign";

fn open_network() -> Options {
    Options {
        allow_private_network: true,
        ..Options::default()
    }
}

/// `plugboard <args>` on the test's database with the key ring `keys`.
fn plugboard(app: &TestApp, keys: &str, args: &[&str]) -> Output {
    plugboard_with(app, keys, args, &[], "")
}

/// The same with more environment and a standard input.
fn plugboard_with(
    app: &TestApp,
    keys: &str,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("PLUGBOARD_ENCRYPTION_KEYS", keys)
        .env("PLUGBOARD_JWT_SECRET", JWT_SECRET)
        .env("PLUGBOARD_SANDBOX", "false")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the plugboard binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A server on `app`'s database with the key ring `keys`, providers pointed at `app`'s mock.
async fn server_with_keys(app: &TestApp, keys: &str) -> anyhow::Result<String> {
    let mut settings = test_settings(
        &app.database_url,
        format!("openai={}", app.provider.uri()),
        open_network(),
    );
    settings.encryption_keys = SecretString::from(keys.to_owned());
    start_server(settings).await
}

fn call(
    app: &TestApp,
    method: reqwest::Method,
    url: String,
    token: &str,
) -> reqwest::RequestBuilder {
    app.client.request(method, url).bearer_auth(token)
}

/// An organization on the server at `base` with an OpenAI key, notification secrets and an
/// API key created under an Idempotency-Key; the created key's answer.
async fn seal_everything(
    app: &TestApp,
    base: &str,
    owner: &TestUser,
    org: &str,
    api_key: &str,
) -> Value {
    let saved = call(
        app,
        reqwest::Method::PATCH,
        format!("{base}/api/v1/orgs/{org}/integrations/openai"),
        &owner.token,
    )
    .json(&json!({"credentials": {"api_key": api_key}}))
    .send()
    .await
    .unwrap();
    json_body(saved, 200).await;
    let notifications = call(app, reqwest::Method::PUT, format!("{base}/api/v1/orgs/{org}/notification-settings"), &owner.token)
        .json(&json!({"webhook_url": "http://127.0.0.1:9/hooks", "slack_webhook_url": "http://127.0.0.1:9/services/T0/B0/slack-path"}))
        .send()
        .await
        .unwrap();
    json_body(notifications, 200).await;
    let created = call(
        app,
        reqwest::Method::POST,
        format!("{base}/api/v1/orgs/{org}/api-keys"),
        &owner.token,
    )
    .header("idempotency-key", format!("create-{org}"))
    .json(&json!({"name": "Reporting", "scopes": ["integrations:read"]}))
    .send()
    .await
    .unwrap();
    json_body(created, 201).await
}

async fn mock_openai_key(app: &TestApp, api_key: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header(
            "authorization",
            format!("Bearer {api_key}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&app.provider)
        .await;
}

#[tokio::test]
async fn the_rotation_procedure_retires_the_old_key_and_every_secret_still_opens() {
    let app = spawn_app_with(open_network()).await;
    let old = app.encryption_keys.expose_secret().to_owned();
    let new = KeyRing::generate_entry("k2")
        .unwrap()
        .expose_secret()
        .to_owned();
    let (first_key, second_key) = ("sk-first-0000000000001111", "sk-second-000000000002222");
    mock_openai_key(&app, first_key).await;
    mock_openai_key(&app, second_key).await;

    // Under the old key: one organization's secrets.
    let (owner, first_org) = app.owner_with_org().await;
    let first_answer = seal_everything(&app, &app.address, &owner, &first_org, first_key).await;

    // Step 1: every server gets the new key in front of the old one; new secrets are sealed
    // with it, the old ones still open.
    let both = format!("{new},{old}");
    let base = server_with_keys(&app, &both)
        .await
        .expect("starts with both keys");
    let second_org = app.create_org(&owner, "Second Brand").await;
    let second_answer = seal_everything(&app, &base, &owner, &second_org, second_key).await;
    let kids: Vec<String> = app.column_text("connection_secrets", "key_id").await;
    assert!(
        kids.iter().any(|k| k == "test1") && kids.iter().any(|k| k == "k2"),
        "{kids:?}"
    );
    let before = plugboard(&app, &both, &["check-keys"]);
    assert!(before.status.success(), "{}", text(&before));
    assert!(
        text(&before).contains("test1 (in the ring, not active"),
        "{}",
        text(&before)
    );
    // Retiring the old key now would strand its secrets: a server refuses to start.
    let early = server_with_keys(&app, &new).await.expect_err("refused");
    assert!(early.to_string().contains("key `test1`"), "{early}");

    // Step 2: re-seal everything with the active key, three rows a batch.
    let rotated = plugboard(&app, &both, &["rotate-keys", "--batch", "3"]);
    assert!(rotated.status.success(), "{}", text(&rotated));
    assert!(
        text(&rotated).contains("connection secrets: 1 re-sealed with `k2`"),
        "{}",
        text(&rotated)
    );
    let after = plugboard(&app, &both, &["check-keys"]);
    assert!(after.status.success(), "{}", text(&after));
    assert!(!text(&after).contains("test1 ("), "{}", text(&after));
    assert!(
        text(&after).contains("safe to remove from PLUGBOARD_ENCRYPTION_KEYS: test1"),
        "{}",
        text(&after)
    );
    // Run again, it has nothing left to do.
    let again = plugboard(&app, &both, &["rotate-keys"]);
    assert!(
        text(&again).contains("connection secrets: 0 re-sealed"),
        "{}",
        text(&again)
    );

    // Step 3: the old key is retired; a server on the new key alone opens every secret.
    let base = server_with_keys(&app, &new)
        .await
        .expect("starts on the new key alone");
    for (org, api_key) in [(&first_org, first_key), (&second_org, second_key)] {
        let tested = call(
            &app,
            reqwest::Method::POST,
            format!("{base}/api/v1/orgs/{org}/integrations/openai/test"),
            &owner.token,
        )
        .send()
        .await
        .unwrap();
        let tested = json_body(tested, 200).await;
        assert_eq!(tested["status"], "connected", "{api_key}: {tested}");
    }
    // The kept answers open too: a replay gives the first answer.
    for (org, answer) in [(&first_org, &first_answer), (&second_org, &second_answer)] {
        let replayed = call(
            &app,
            reqwest::Method::POST,
            format!("{base}/api/v1/orgs/{org}/api-keys"),
            &owner.token,
        )
        .header("idempotency-key", format!("create-{org}"))
        .json(&json!({"name": "Reporting", "scopes": ["integrations:read"]}))
        .send()
        .await
        .unwrap();
        assert_eq!(&json_body(replayed, 201).await, answer);
    }
    let ring = KeyRing::parse(&SecretString::from(new.clone())).unwrap();
    // The notification secrets open with the new key alone, bound to their organization.
    for org in [&first_org, &second_org] {
        let org_id = domain::OrgId(org.parse().unwrap());
        let stored = persistence::notifications::settings(&app.db, org_id)
            .await
            .unwrap();
        for (field, ciphertext) in [
            ("webhook_secret", stored.webhook_secret_sealed.unwrap()),
            (
                "slack_webhook_url",
                stored.slack_webhook_url_sealed.unwrap(),
            ),
        ] {
            let aad = SecretAad {
                org_id,
                provider: "notifications",
                field,
            };
            ring.decrypt(&aad, &ciphertext)
                .unwrap_or_else(|err| panic!("{field}: {err}"));
        }
    }
}

#[tokio::test]
async fn a_missing_key_is_named_and_nothing_is_rewritten() {
    let app = spawn_app_with(open_network()).await;
    let api_key = "sk-missing-000000000003333";
    mock_openai_key(&app, api_key).await;
    let (owner, org) = app.owner_with_org().await;
    seal_everything(&app, &app.address, &owner, &org, api_key).await;
    let stored = app.column_text("connection_secrets", "ciphertext").await;

    // The old key was dropped before rotating: both commands say which key is missing.
    let other = KeyRing::generate_entry("k9")
        .unwrap()
        .expose_secret()
        .to_owned();
    let checked = plugboard(&app, &other, &["check-keys"]);
    assert!(!checked.status.success());
    assert!(
        text(&checked).contains("test1 (MISSING from PLUGBOARD_ENCRYPTION_KEYS"),
        "{}",
        text(&checked)
    );
    let rotated = plugboard(&app, &other, &["rotate-keys"]);
    assert!(!rotated.status.success());
    assert!(text(&rotated).contains("key `test1`"), "{}", text(&rotated));
    assert_eq!(
        app.column_text("connection_secrets", "ciphertext").await,
        stored
    );
}

#[tokio::test]
async fn a_value_a_server_rewrites_during_rotation_keeps_the_servers_value() {
    use persistence::sealed::{self, Place};
    let app = spawn_app_with(open_network()).await;
    let (first, second) = ("sk-before-00000000004444", "sk-after-000000000005555");
    mock_openai_key(&app, first).await;
    mock_openai_key(&app, second).await;
    let (owner, org) = app.owner_with_org().await;
    seal_everything(&app, &app.address, &owner, &org, first).await;

    // The rotation read the secret, then the owner saved a new key before it wrote.
    let read = sealed::not_under(&app.db, Place::ConnectionSecret, "k2", None, 10)
        .await
        .unwrap();
    assert_eq!(read.len(), 1);
    let saved = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/openai"),
            &owner.token,
            json!({"credentials": {"api_key": second}}),
        )
        .await;
    json_body(saved, 200).await;
    let written = sealed::reseal(&app.db, &read[0], "v1.k2.stale", "k2")
        .await
        .unwrap();
    assert!(!written, "the rotation must not write over the newer value");
    let tested = json_body(
        app.post(
            &format!("/api/v1/orgs/{org}/integrations/openai/test"),
            &owner.token,
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(tested["status"], "connected");
}

#[tokio::test]
async fn create_admin_makes_a_platform_admin_only_for_a_listed_address() {
    let app = spawn_app_with(Options {
        admin_emails: vec!["ops@example.com".to_owned()],
        ..Options::default()
    })
    .await;
    let keys = app.encryption_keys.expose_secret().to_owned();
    let admins = [("PLUGBOARD_ADMIN_EMAILS", "ops@example.com")];
    let password = "correct horse battery staple";

    let unlisted = plugboard_with(
        &app,
        &keys,
        &["create-admin", "--email", "eve@example.com"],
        &admins,
        password,
    );
    assert!(!unlisted.status.success());
    assert!(
        text(&unlisted).contains("not in PLUGBOARD_ADMIN_EMAILS"),
        "{}",
        text(&unlisted)
    );
    let short = plugboard_with(
        &app,
        &keys,
        &["create-admin", "--email", "ops@example.com"],
        &admins,
        "short\n",
    );
    assert!(!short.status.success());
    assert!(
        text(&short).contains("10 to 200 characters"),
        "{}",
        text(&short)
    );

    let created = plugboard_with(
        &app,
        &keys,
        &[
            "create-admin",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
        ],
        &admins,
        &format!("{password}\n"),
    );
    assert!(created.status.success(), "{}", text(&created));
    let again = plugboard_with(
        &app,
        &keys,
        &["create-admin", "--email", "ops@example.com"],
        &admins,
        "another password entirely\n",
    );
    assert!(
        again.status.success() && text(&again).contains("already has an account"),
        "{}",
        text(&again)
    );

    // The account signs in with the first password and sees the platform's readiness; an
    // organization's owner does not.
    let login = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ops@example.com", "password": password})),
        )
        .await;
    let token = json_body(login, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get("/api/v1/platform/readiness", &token).await.status(),
        200
    );
    let (owner, _) = app.owner_with_org().await;
    assert_eq!(
        app.get("/api/v1/platform/readiness", &owner.token)
            .await
            .status(),
        404
    );
    let eve = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "eve@example.com", "password": password})),
        )
        .await;
    assert_eq!(eve.status(), 401);
}
