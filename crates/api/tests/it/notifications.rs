//! Notification settings, the outbox and its delivery: signed webhooks, a receiver that is
//! down for a while, 410 Gone, Slack, e-mail to a real SMTP server, and tenancy.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};

fn with_worker() -> Options {
    Options {
        allow_private_network: true,
        configure: |s| {
            s.background.enabled = true;
            s.background.delivery_interval = Duration::from_millis(200);
        },
        ..Options::default()
    }
}

fn settings_path(org: &str) -> String {
    format!("/api/v1/orgs/{org}/notification-settings")
}

async fn put_settings(app: &TestApp, token: &str, org: &str, body: Value) -> reqwest::Response {
    app.request(
        reqwest::Method::PUT,
        &settings_path(org),
        Some(token),
        Some(body),
    )
    .await
}

/// Waits until the organization's notifications satisfy `done`, and returns them.
async fn notifications_until(
    app: &TestApp,
    token: &str,
    org: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..150 {
        let page = json_body(
            app.get(&format!("/api/v1/orgs/{org}/notifications"), token)
                .await,
            200,
        )
        .await;
        let data = page["data"].as_array().unwrap().clone();
        if done(&data) {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the notifications never got there");
}

fn verify(secret: &str, request: &Request) -> bool {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    domain::webhooks::verify(
        &SecretString::from(secret.to_owned()),
        &header("webhook-id"),
        header("webhook-timestamp").parse().unwrap(),
        &request.body,
        &header("webhook-signature"),
        chrono::Utc::now().timestamp(),
    )
}

#[tokio::test]
async fn a_new_webhook_url_gets_its_secret_once_and_settings_never_show_secrets() {
    let app = spawn_app_with(Options {
        allow_private_network: true,
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    let empty = json_body(app.get(&settings_path(&org), &owner.token).await, 200).await;
    assert_eq!(empty["webhook_url"], Value::Null);
    assert_eq!(empty["webhook_secret_configured"], false);

    let saved = json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook_url": "http://127.0.0.1:9/hooks", "slack_webhook_url": "http://127.0.0.1:9/services/T0/B0/sekrit-slack-path"}),
        )
        .await,
        200,
    )
    .await;
    let secret = saved["webhook_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(saved["slack_webhook_configured"], true);

    // Saving the same URL keeps the secret and does not show it again; reading never does.
    let again = json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook_url": "http://127.0.0.1:9/hooks"}),
        )
        .await,
        200,
    )
    .await;
    assert!(again.get("webhook_secret").is_none(), "{again}");
    assert_eq!(
        again["slack_webhook_configured"], true,
        "an absent field is kept"
    );
    let read = app
        .get(&settings_path(&org), &owner.token)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !read.contains(&secret) && !read.contains("sekrit-slack-path"),
        "{read}"
    );
    // Nothing is stored in the clear either.
    let stored = app
        .column_text("notification_settings", "webhook_secret")
        .await;
    assert!(stored.iter().all(|s| !s.contains(&secret[6..])));
    let slack = app
        .column_text("notification_settings", "slack_webhook_url")
        .await;
    assert!(slack.iter().all(|s| !s.contains("sekrit")));

    // A new URL gets a new secret; null removes a channel.
    let moved = json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook_url": "http://127.0.0.1:9/other", "slack_webhook_url": null}),
        )
        .await,
        200,
    )
    .await;
    assert_ne!(moved["webhook_secret"].as_str().unwrap(), secret);
    assert_eq!(moved["slack_webhook_configured"], false);
    assert!(!app.logs.contains(&secret[6..]));
}

#[tokio::test]
async fn bad_settings_are_422_naming_the_field_and_private_addresses_are_refused() {
    let app = spawn_app_with(Options::default()).await;
    let (owner, org) = app.owner_with_org().await;
    for (body, field) in [
        (json!({"webhook_url": "not a url"}), "webhook_url"),
        (
            json!({"webhook_url": "http://example.com/hook"}),
            "webhook_url",
        ),
        (
            json!({"webhook_url": "https://127.0.0.1/hook"}),
            "webhook_url",
        ),
        (json!({"webhook_url": "https://[::1]/hook"}), "webhook_url"),
        (
            json!({"webhook_url": "https://169.254.169.254/latest"}),
            "webhook_url",
        ),
        (
            json!({"slack_webhook_url": "https://10.0.0.1/services/x"}),
            "slack_webhook_url",
        ),
        (
            json!({"email_recipients": ["ops@acme.com", "nobody"]}),
            "email_recipients",
        ),
        // No SMTP server is configured here.
        (
            json!({"email_recipients": ["ops@acme.com"]}),
            "email_recipients",
        ),
    ] {
        let body = problem(
            put_settings(&app, &owner.token, &org, body.clone()).await,
            422,
        )
        .await;
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let unknown = problem(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook": "https://example.com"}),
        )
        .await,
        422,
    )
    .await;
    assert!(
        unknown["detail"].as_str().unwrap().contains("webhook"),
        "{unknown}"
    );
    // Nothing was saved.
    let read = json_body(app.get(&settings_path(&org), &owner.token).await, 200).await;
    assert_eq!(read["webhook_url"], Value::Null);
    // A test with no channel says what to do.
    let none = problem(
        app.post(
            &format!("{}/test", settings_path(&org)),
            &owner.token,
            json!({}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(none["code"], "no_channel");
    assert!(none["detail"].as_str().unwrap().contains("webhook URL"));
}

#[tokio::test]
async fn members_read_admins_change_and_other_tenants_see_nothing() {
    let app = spawn_app_with(Options::default()).await;
    let (owner, org) = app.owner_with_org().await;
    let member = app.add_member(&owner, &org, "member").await;
    json_body(app.get(&settings_path(&org), &member.token).await, 200).await;
    problem(
        put_settings(&app, &member.token, &org, json!({"webhook_url": null})).await,
        403,
    )
    .await;
    let (stranger, other_org) = app.owner_with_org().await;
    problem(app.get(&settings_path(&org), &stranger.token).await, 404).await;
    problem(
        put_settings(&app, &stranger.token, &org, json!({"webhook_url": null})).await,
        404,
    )
    .await;
    problem(
        app.get(
            &format!("/api/v1/orgs/{org}/notifications"),
            &stranger.token,
        )
        .await,
        404,
    )
    .await;
    problem(
        app.post(
            &format!("{}/test", settings_path(&org)),
            &stranger.token,
            json!({}),
        )
        .await,
        404,
    )
    .await;
    let own = json_body(
        app.get(
            &format!("/api/v1/orgs/{other_org}/notifications"),
            &stranger.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(own["data"], json!([]));
}

#[tokio::test]
async fn a_test_webhook_arrives_signed_with_the_orgs_secret_and_is_listed_with_its_attempt() {
    let app = spawn_app_with(with_worker()).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let (owner, org) = app.owner_with_org().await;
    let (other_owner, other_org) = app.owner_with_org().await;
    let saved = json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook_url": format!("{}/hooks", receiver.uri())}),
        )
        .await,
        200,
    )
    .await;
    let secret = saved["webhook_secret"].as_str().unwrap().to_owned();
    let queued = json_body(
        app.post(
            &format!("{}/test", settings_path(&org)),
            &owner.token,
            json!({}),
        )
        .await,
        202,
    )
    .await;
    assert_eq!(queued["queued"], 1);
    let listed = notifications_until(&app, &owner.token, &org, |n| {
        n.first().is_some_and(|n| n["status"] == "delivered")
    })
    .await;
    assert_eq!(listed.len(), 1);
    let n = &listed[0];
    assert_eq!(n["kind"], "test");
    assert_eq!(n["channel"], "webhook");
    assert_eq!(n["attempts"], 1);
    assert_eq!(n["history"][0]["status_code"], 204);
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert!(verify(&secret, &received[0]));
    assert_eq!(
        received[0].headers["webhook-id"].to_str().unwrap(),
        n["webhook_id"].as_str().unwrap()
    );
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(body["type"], "notification.test");
    assert_eq!(body["data"]["org_id"], org);
    // The other organization has none.
    let theirs = json_body(
        app.get(
            &format!("/api/v1/orgs/{other_org}/notifications"),
            &other_owner.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(theirs["data"], json!([]));
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_each_notice_once_when_it_is_back() {
    let app = spawn_app_with(with_worker()).await;
    let receiver = MockServer::start().await;
    // Down for the first attempt, then up.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (owner, org) = app.owner_with_org().await;
    let saved = json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook_url": receiver.uri()}),
        )
        .await,
        200,
    )
    .await;
    let secret = saved["webhook_secret"].as_str().unwrap().to_owned();
    app.post(
        &format!("{}/test", settings_path(&org)),
        &owner.token,
        json!({}),
    )
    .await;
    let listed = notifications_until(&app, &owner.token, &org, |n| {
        n.first().is_some_and(|n| n["status"] == "delivered")
    })
    .await;
    let n = &listed[0];
    assert_eq!(n["attempts"], 2);
    assert_eq!(n["history"][0]["success"], false);
    assert_eq!(n["history"][0]["status_code"], 503);
    assert_eq!(n["history"][1]["success"], true);
    let at = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(n["history"][i]["attempted_at"].as_str().unwrap())
            .unwrap()
    };
    assert!(
        at(1) - at(0) >= chrono::Duration::seconds(5),
        "the schedule's 5 s step"
    );
    let received = receiver.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    // The same message both times: one webhook-id, each signature valid.
    assert_eq!(
        received[0].headers["webhook-id"],
        received[1].headers["webhook-id"]
    );
    assert!(received.iter().all(|r| verify(&secret, r)));
    // Nothing more arrives later.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_410_turns_the_endpoint_off_and_says_so_until_the_url_is_saved_again() {
    let app = spawn_app_with(with_worker()).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&receiver)
        .await;
    let (owner, org) = app.owner_with_org().await;
    put_settings(
        &app,
        &owner.token,
        &org,
        json!({"webhook_url": receiver.uri()}),
    )
    .await;
    app.post(
        &format!("{}/test", settings_path(&org)),
        &owner.token,
        json!({}),
    )
    .await;
    let listed = notifications_until(&app, &owner.token, &org, |n| {
        n.first().is_some_and(|n| n["status"] == "disabled")
    })
    .await;
    assert_eq!(listed[0]["attempts"], 1);
    let read = json_body(app.get(&settings_path(&org), &owner.token).await, 200).await;
    let reason = read["webhook_disabled"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("410") && reason.contains("Save the webhook URL again"),
        "{reason}"
    );
    // Off: a test has nowhere to go.
    problem(
        app.post(
            &format!("{}/test", settings_path(&org)),
            &owner.token,
            json!({}),
        )
        .await,
        409,
    )
    .await;
    // Saved again: on.
    let back = json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook_url": receiver.uri()}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(back["webhook_disabled"], Value::Null);
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn slack_gets_a_sentence_and_a_429_retry_after_is_honoured() {
    let app = spawn_app_with(with_worker()).await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let (owner, org) = app.owner_with_org().await;
    put_settings(
        &app,
        &owner.token,
        &org,
        json!({"slack_webhook_url": format!("{}/services/T1/B1/x", slack.uri())}),
    )
    .await;
    app.post(
        &format!("{}/test", settings_path(&org)),
        &owner.token,
        json!({}),
    )
    .await;
    let listed = notifications_until(&app, &owner.token, &org, |n| {
        n.first().is_some_and(|n| n["status"] == "delivered")
    })
    .await;
    assert_eq!(listed[0]["channel"], "slack");
    assert_eq!(listed[0]["history"][0]["status_code"], 429);
    let received = slack.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&received.last().unwrap().body).unwrap();
    assert!(
        body["text"].as_str().unwrap().contains("test notification"),
        "{body}"
    );
}

/// A real SMTP server (PyPI's aiosmtpd) writing what it receives into a maildir, run by the
/// Python that PLUGBOARD_TEST_PYTHON names (make's virtual environment, which has it), else by
/// python3.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = std::env::temp_dir().join(format!("plugboard-mail-{}", uuid::Uuid::new_v4()));
        let python = std::env::var("PLUGBOARD_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .unwrap_or_else(|e| panic!("{python} does not start: {e}"));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpServer {
                    child,
                    port,
                    maildir,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "aiosmtpd did not start with {python} (make installs it into .venv, from tests/requirements.txt)"
        );
    }

    fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

#[tokio::test]
async fn e_mail_reaches_a_real_smtp_server() {
    let smtp = SmtpServer::start().await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    // The settings hook is a plain function: it reads the URL from here.
    static SMTP_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SMTP_URL.set(url).unwrap();
    let app = spawn_app_with(Options {
        configure: |s| {
            s.background.enabled = true;
            s.background.delivery_interval = Duration::from_millis(200);
            s.background.smtp_url = SMTP_URL.get().cloned().map(SecretString::from);
        },
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"email_recipients": ["Ops@Acme.example.com"]}),
        )
        .await,
        200,
    )
    .await;
    app.post(
        &format!("{}/test", settings_path(&org)),
        &owner.token,
        json!({}),
    )
    .await;
    let listed = notifications_until(&app, &owner.token, &org, |n| {
        n.first().is_some_and(|n| n["status"] != "pending")
    })
    .await;
    assert_eq!(listed[0]["status"], "delivered", "{}", listed[0]);
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("ops@acme.example.com"), "{}", mail[0]);
    assert!(
        mail[0].contains("Subject: [Plugboard] Test notification"),
        "{}",
        mail[0]
    );
}

#[tokio::test]
async fn metrics_show_the_outbox_and_the_workers_figures() {
    let app = spawn_app_with(with_worker()).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (owner, org) = app.owner_with_org().await;
    put_settings(
        &app,
        &owner.token,
        &org,
        json!({"webhook_url": receiver.uri()}),
    )
    .await;
    app.post(
        &format!("{}/test", settings_path(&org)),
        &owner.token,
        json!({}),
    )
    .await;
    notifications_until(&app, &owner.token, &org, |n| {
        n.first().is_some_and(|n| n["status"] == "delivered")
    })
    .await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for line in [
        "plugboard_notifications_sent_total{channel=\"webhook\"} 1",
        "plugboard_notifications{status=\"delivered\"} 1",
        "plugboard_outbox_depth 0",
        "plugboard_outbox_oldest_age_seconds 0",
        "plugboard_refreshes_total{class=\"refused\"} 0",
        "plugboard_health_checks_total{result=\"ok\"} 0",
        "plugboard_lease_claims_total 0",
        "plugboard_leases_live 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
}

/// Start-up also proves the key ring opens the sealed notification secrets.
#[tokio::test]
async fn start_up_checks_the_key_ring_against_notification_secrets() {
    use domain::crypto::KeyRing;
    use secrecy::ExposeSecret;

    let app = spawn_app_with(Options {
        allow_private_network: true,
        ..Options::default()
    })
    .await;
    let (owner, org) = app.owner_with_org().await;
    json_body(
        put_settings(
            &app,
            &owner.token,
            &org,
            json!({"webhook_url": "http://127.0.0.1:9/h"}),
        )
        .await,
        200,
    )
    .await;
    let mut settings =
        crate::helpers::test_settings(&app.database_url, String::new(), Options::default());
    settings.encryption_keys = SecretString::from(
        KeyRing::generate_entry("test1")
            .unwrap()
            .expose_secret()
            .to_owned(),
    );
    let impostor = api::startup::prepare(&settings).await.expect_err("refused");
    assert!(
        impostor.to_string().contains("not the key that sealed"),
        "{impostor}"
    );
}
