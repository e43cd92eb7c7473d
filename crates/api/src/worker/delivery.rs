//! Delivering the outbox: signed webhooks, Slack incoming webhooks, messages posted through the
//! organization's Slack connection, and e-mail over SMTP. Each
//! sender claims due rows (a claim lapses if the sender dies, so a crash loses none), sends,
//! and records the attempt compare-and-set on its claim. At least once: receivers deduplicate
//! by `webhook-id`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::EventCode;
use domain::model::{Actor, EventAction};
use domain::notifications::{self as notice, Channel, DeliveryStatus, SLACK_PROVIDER};
use domain::schedule::{self, AfterAttempt, Delivery};
use domain::webhooks;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use persistence::events::{self, NewEvent};
use persistence::notifications::{self as store, AttemptRecord, Notification};
use secrecy::ExposeSecret;

use super::Worker;
use crate::services::notifications::{SLACK_WEBHOOK_URL, WEBHOOK_SECRET, open, slack_app_channel};
use crate::services::proxy::{self, Call, Purpose};

/// How long a sender holds a claimed notification: longer than one attempt can take.
const CLAIM: Duration = Duration::from_secs(120);
const BATCH: u64 = 32;

/// What one attempt found.
struct Tried {
    outcome: Delivery,
    status_code: Option<u16>,
    error: Option<String>,
}

fn failed(error: impl Into<String>) -> Tried {
    Tried {
        outcome: Delivery::Failed {
            retry_after_secs: None,
        },
        status_code: None,
        error: Some(error.into()),
    }
}

/// Delivers every notification due now; how many were attempted.
pub async fn run_once(worker: &Worker) -> anyhow::Result<usize> {
    let now = Utc::now();
    let claimed = store::claim_due(
        &worker.state.db,
        &worker.owner,
        now,
        now + chrono::Duration::from_std(CLAIM)?,
        BATCH,
    )
    .await?;
    let count = claimed.len();
    let attempts = claimed.into_iter().map(|n| attempt(worker, n));
    for result in futures_util::future::join_all(attempts).await {
        if let Err(err) = result {
            tracing::warn!(error = ?err, "recording a notification attempt failed");
        }
    }
    Ok(count)
}

async fn attempt(worker: &Worker, mut n: Notification) -> anyhow::Result<()> {
    n.payload = notice::with_base_url(n.payload, &worker.state.settings.public_url);
    let started = Instant::now();
    let attempted_at = Utc::now();
    let tried = match n.channel {
        Channel::Webhook => webhook(worker, &n).await?,
        Channel::Slack => slack(worker, &n).await?,
        Channel::Email => email(worker, &n).await,
        Channel::SlackApp => slack_app(worker, &n).await?,
    };
    let Some(tried) = tried else {
        // The channel was removed since the notification was queued.
        return finish(
            worker,
            &n,
            attempted_at,
            started,
            Tried {
                outcome: Delivery::Gone,
                status_code: None,
                error: Some(format!(
                    "The {} channel is no longer set up, so this notification was not sent.",
                    n.channel.as_str()
                )),
            },
        )
        .await;
    };
    finish(worker, &n, attempted_at, started, tried).await
}

async fn finish(
    worker: &Worker,
    n: &Notification,
    attempted_at: DateTime<Utc>,
    started: Instant,
    tried: Tried,
) -> anyhow::Result<()> {
    let number = n.attempts + 1;
    let after = schedule::after_attempt(tried.outcome, number, Utc::now(), super::jitter());
    let (status, next_attempt_at) = match after {
        AfterAttempt::Delivered => (DeliveryStatus::Delivered, attempted_at),
        AfterAttempt::Disabled => (DeliveryStatus::Disabled, attempted_at),
        AfterAttempt::Retry { at } => (DeliveryStatus::Pending, at),
        AfterAttempt::GaveUp => (DeliveryStatus::Failed, attempted_at),
    };
    let success = status == DeliveryStatus::Delivered;
    worker.metrics.delivery(n.channel, success);
    let error = tried.error.clone();
    let recorded = store::record_attempt(
        &worker.state.db,
        n.org_id,
        n.id,
        &worker.owner,
        AttemptRecord {
            success,
            status_code: tried.status_code,
            error: error.clone(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            attempted_at,
            status,
            next_attempt_at,
        },
    )
    .await?;
    if !recorded {
        tracing::info!(id = %n.id, "a notification's claim lapsed before its attempt was recorded");
        return Ok(());
    }
    if n.channel == Channel::Webhook
        && tried.outcome == Delivery::Gone
        && tried.status_code == Some(410)
    {
        let settings = store::settings(&worker.state.db, n.org_id).await?;
        if let Some(url) = settings.webhook_url {
            store::disable_webhook(
                &worker.state.db,
                n.org_id,
                &url,
                "The endpoint answered 410 Gone, so Plugboard stopped sending to it. Save the webhook URL again to turn it back on.",
            )
            .await?;
        }
    }
    if let (Some(connection_id), Some(provider)) = (n.connection_id, n.provider.as_deref()) {
        let message = match (&status, &error) {
            (DeliveryStatus::Delivered, _) => format!(
                "The {} {} notification was delivered (attempt {number}).",
                n.kind.as_str(),
                n.channel.as_str()
            ),
            (_, Some(error)) => format!(
                "The {} {} notification was not delivered (attempt {number}): {error}",
                n.kind.as_str(),
                n.channel.as_str()
            ),
            _ => format!("The {} notification was not delivered.", n.channel.as_str()),
        };
        events::record(
            &worker.state.db,
            n.org_id,
            NewEvent {
                connection_id,
                provider,
                action: EventAction::Notification,
                success,
                code: (!success).then_some(EventCode::NotificationFailed),
                message: &message,
                actor: &Actor::System,
            },
        )
        .await?;
    }
    Ok(())
}

/// What an answer's status (and `Retry-After`) makes of the attempt.
fn classified(response: &reqwest::Response) -> (u16, Delivery) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| schedule::parse_retry_after(v, Utc::now()));
    (status, schedule::classify_status(status, retry_after))
}

/// POSTs `body` to a tenant's URL through the SSRF guard.
async fn post(worker: &Worker, url: &str, body: Vec<u8>, headers: &[(&str, String)]) -> Tried {
    let Ok(url) = url::Url::parse(url) else {
        return failed("The URL is not valid.");
    };
    let http = &worker.state.http;
    if http.refuses_literal(&url, true, false) {
        return failed("The URL points at a private address, which Plugboard does not call.");
    }
    let mut request = http
        .client_for(true, false)
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    match request.send().await {
        Ok(response) => {
            let (status, outcome) = classified(&response);
            Tried {
                outcome,
                status_code: Some(status),
                error: (outcome != Delivery::Delivered)
                    .then(|| format!("The endpoint answered HTTP {status}.")),
            }
        }
        Err(err) => failed(match crate::outbound::classify(err) {
            domain::verify::TransportFailure::Timeout => "The endpoint did not answer in time.",
            // Never raised here: a delivery does not read the answer's body.
            domain::verify::TransportFailure::TooLarge => "The endpoint's answer was too large.",
            domain::verify::TransportFailure::Connect => "The endpoint could not be reached.",
            domain::verify::TransportFailure::Blocked => {
                "The URL resolves to a private address, which Plugboard does not call."
            }
            _ => "The request to the endpoint failed.",
        }),
    }
}

async fn webhook(worker: &Worker, n: &Notification) -> anyhow::Result<Option<Tried>> {
    let settings = store::settings(&worker.state.db, n.org_id).await?;
    let (Some(url), Some(sealed)) = (settings.webhook_url, settings.webhook_secret_sealed) else {
        return Ok(None);
    };
    if settings.webhook_disabled_at.is_some() {
        return Ok(None);
    }
    let Some(secret) = open(&worker.state, n.org_id, WEBHOOK_SECRET, &sealed) else {
        return Ok(Some(failed(
            "The webhook's signing secret could not be read.",
        )));
    };
    let body = serde_json::to_vec(&n.payload)?;
    let id = webhooks::message_id(n.id);
    let timestamp = Utc::now().timestamp();
    let signature = webhooks::sign(&secret, &id, timestamp, &body)?;
    let headers = [
        ("webhook-id", id),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    Ok(Some(post(worker, &url, body, &headers).await))
}

async fn slack(worker: &Worker, n: &Notification) -> anyhow::Result<Option<Tried>> {
    let settings = store::settings(&worker.state.db, n.org_id).await?;
    let Some(sealed) = settings.slack_webhook_url_sealed else {
        return Ok(None);
    };
    let Some(url) = open(&worker.state, n.org_id, SLACK_WEBHOOK_URL, &sealed) else {
        return Ok(Some(failed("The Slack webhook URL could not be read.")));
    };
    let body = serde_json::to_vec(&serde_json::json!({ "text": notice::summary(&n.payload) }))?;
    Ok(Some(post(worker, url.expose_secret(), body, &[]).await))
}

/// Posts the notice with `chat.postMessage` through the Slack connection, to the channel it
/// points at; `None` when the connection no longer may be used or points at no channel.
async fn slack_app(worker: &Worker, n: &Notification) -> anyhow::Result<Option<Tried>> {
    let state = &worker.state;
    let Some(channel) = slack_app_channel(&state.db, n.org_id).await? else {
        return Ok(None);
    };
    let body = serde_json::to_vec(&notice::slack_message(&channel, &n.payload))?;
    let call = Call {
        method: reqwest::Method::POST,
        path: "chat.postMessage".to_owned(),
        query: None,
        headers: vec![(
            "content-type".to_owned(),
            b"application/json; charset=utf-8".to_vec(),
        )],
        body: body.into(),
        proxy_base: String::new(),
        retries: 0,
        injected_query: Default::default(),
    };
    let proxied = match proxy::call_for(
        state,
        n.org_id,
        &Actor::System,
        SLACK_PROVIDER,
        call,
        Purpose::Notice,
    )
    .await
    {
        Ok(proxied) => proxied,
        Err(err) => return Ok(Some(failed(err.to_string()))),
    };
    let (status, outcome) = classified(&proxied.response);
    let answer = crate::outbound::read_body(proxied.response)
        .await
        .unwrap_or_default();
    let error = match (outcome, notice::slack_refusal(&answer)) {
        (Delivery::Delivered, None) => None,
        (Delivery::Delivered, Some(code)) => {
            return Ok(Some(Tried {
                status_code: Some(status),
                ..failed(format!("Slack did not post the message: {code}."))
            }));
        }
        _ => Some(format!("Slack answered HTTP {status}.")),
    };
    Ok(Some(Tried {
        outcome,
        status_code: Some(status),
        error,
    }))
}

async fn email(worker: &Worker, n: &Notification) -> Option<Tried> {
    let settings = match store::settings(&worker.state.db, n.org_id).await {
        Ok(settings) => settings,
        Err(err) => return Some(failed(format!("The settings could not be read: {err}"))),
    };
    if settings.email_recipients.is_empty() {
        return None;
    }
    let background = &worker.state.settings.background;
    let Some(smtp_url) = &background.smtp_url else {
        return Some(failed(
            "No SMTP server is configured (PLUGBOARD_SMTP_URL), so e-mail cannot be sent.",
        ));
    };
    Some(
        match send_mail(
            smtp_url.expose_secret(),
            &background.smtp_from,
            &settings.email_recipients,
            n,
        )
        .await
        {
            Ok(()) => Tried {
                outcome: Delivery::Delivered,
                status_code: None,
                error: None,
            },
            Err(message) => failed(message),
        },
    )
}

async fn send_mail(
    smtp_url: &str,
    from: &str,
    recipients: &[String],
    n: &Notification,
) -> Result<(), String> {
    let from: Mailbox = from
        .parse()
        .map_err(|_| "PLUGBOARD_SMTP_FROM is not an e-mail address.".to_owned())?;
    let mut message = Message::builder()
        .from(from)
        .subject(notice::subject(&n.payload))
        .message_id(Some(format!("<{}@plugboard>", webhooks::message_id(n.id))));
    for recipient in recipients {
        let to: Mailbox = recipient
            .parse()
            .map_err(|_| format!("`{recipient}` is not an e-mail address."))?;
        message = message.to(to);
    }
    let body = format!(
        "{}\n\n{}\n",
        notice::summary(&n.payload),
        serde_json::to_string_pretty(&n.payload).unwrap_or_default()
    );
    let message = message
        .body(body)
        .map_err(|e| format!("The e-mail could not be built: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
        .map_err(|_| "PLUGBOARD_SMTP_URL is not a valid smtp:// or smtps:// URL.".to_owned())?
        .timeout(Some(Duration::from_secs(10)))
        .build();
    transport.send(message).await.map(|_| ()).map_err(|e| {
        if e.is_permanent() {
            "The SMTP server refused the message.".to_owned()
        } else {
            "The SMTP server could not be reached or failed.".to_owned()
        }
    })
}
