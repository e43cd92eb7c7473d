//! Notifications about connections: what kinds there are, where they go, what a message says.
//! The payload is the same for every channel; Slack and e-mail render it as text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ids::{ConnectionId, OrgId};
use crate::model::{ConnectionStatus, Problem};

/// Why a notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A connection turned `expired` or `error`: an incident opens.
    Broken,
    /// It is `connected` again: the incident closes.
    Recovered,
    /// Sent from the settings page to try the channels.
    Test,
    /// A provider's webhook about a connection, handed on to the brand's own systems.
    ProviderEvent,
    /// A privacy request from a provider that the brand must answer.
    PrivacyRequest,
}

/// Where a notification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Webhook,
    /// A Slack incoming-webhook URL the brand pasted.
    Slack,
    Email,
    /// Posted with `chat.postMessage` through the organization's Slack connection, to the
    /// channel the connection points at.
    SlackApp,
}

/// Where a notification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Every retry was used.
    Failed,
    /// The endpoint was turned off (410 Gone), or the channel was removed.
    Disabled,
}

macro_rules! str_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

str_enum!(NotificationKind {
    Broken => "broken",
    Recovered => "recovered",
    Test => "test",
    ProviderEvent => "provider_event",
    PrivacyRequest => "privacy_request",
});
str_enum!(Channel {
    Webhook => "webhook",
    Slack => "slack",
    Email => "email",
    SlackApp => "slack_app",
});
str_enum!(DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
    Disabled => "disabled",
});

impl NotificationKind {
    /// The event `type` receivers switch on.
    pub fn event_type(self) -> &'static str {
        match self {
            NotificationKind::Broken => "connection.broken",
            NotificationKind::Recovered => "connection.recovered",
            NotificationKind::Test => "notification.test",
            NotificationKind::ProviderEvent => "provider.event",
            NotificationKind::PrivacyRequest => "privacy.request",
        }
    }
}

impl NotificationKind {
    /// The kinds a brand may have posted through its Slack connection: what people act on,
    /// not the provider events that are for the brand's systems.
    pub const FOR_PEOPLE: &'static [NotificationKind] = &[
        NotificationKind::Broken,
        NotificationKind::Recovered,
        NotificationKind::PrivacyRequest,
        NotificationKind::Test,
    ];
}

/// The provider whose connection can carry notices, and the setting naming its channel.
pub const SLACK_PROVIDER: &str = "slack";
pub const SLACK_CHANNEL_SETTING: &str = "channel_id";

/// What an organization has set up to receive notifications.
#[derive(Clone, Debug, Default)]
pub struct Routing {
    pub webhook: bool,
    pub slack_webhook: bool,
    pub email: bool,
    /// The kinds posted through the Slack connection; empty when it is not connected, points
    /// at no channel, or none were chosen.
    pub slack_app: Vec<NotificationKind>,
}

impl Routing {
    /// The channels a notification of this kind goes to. Provider events are for the brand's
    /// systems (the webhook only); privacy requests go to the webhook and, when chosen, the
    /// Slack channel; connection notices and tests go everywhere set up.
    pub fn channels(&self, kind: NotificationKind) -> Vec<Channel> {
        let for_people = !matches!(
            kind,
            NotificationKind::ProviderEvent | NotificationKind::PrivacyRequest
        );
        [
            (Channel::Webhook, self.webhook),
            (Channel::Slack, self.slack_webhook && for_people),
            (Channel::Email, self.email && for_people),
            (Channel::SlackApp, self.slack_app.contains(&kind)),
        ]
        .into_iter()
        .filter_map(|(channel, on)| on.then_some(channel))
        .collect()
    }
}

/// The body of Slack's `chat.postMessage` for a payload: its one line, in the chosen channel.
pub fn slack_message(channel_id: &str, payload: &Value) -> Value {
    json!({ "channel": channel_id, "text": summary(payload), "unfurl_links": false })
}

/// Slack's Web API answers HTTP 200 with `ok: false` and an error code when it refuses:
/// that code, or `None` when the message was posted.
pub fn slack_refusal(body: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if answer["ok"] == Value::Bool(true) {
        return None;
    }
    Some(
        answer["error"]
            .as_str()
            .unwrap_or("an answer that is not Slack's")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ' ')
            .take(80)
            .collect(),
    )
}

/// What a notification says about a connection.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionNotice {
    pub kind: NotificationKind,
    pub org_id: OrgId,
    pub org_name: String,
    pub connection_id: ConnectionId,
    pub provider: String,
    pub provider_name: String,
    pub old_status: ConnectionStatus,
    pub new_status: ConnectionStatus,
    /// The machine code and sentence of the failure (for `broken`).
    pub error: Option<Problem>,
    pub incident_id: uuid::Uuid,
    /// The provider's page in Plugboard's settings, where the brand reconnects.
    pub settings_url: String,
    pub occurred_at: DateTime<Utc>,
}

impl ConnectionNotice {
    /// The Standard Webhooks payload: `{type, timestamp, data}`.
    pub fn payload(&self) -> Value {
        json!({
            "type": self.kind.event_type(),
            "timestamp": self.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": {
                "org_id": self.org_id,
                "org_name": self.org_name,
                "connection_id": self.connection_id,
                "provider": self.provider,
                "provider_name": self.provider_name,
                "old_status": self.old_status.as_str(),
                "new_status": self.new_status.as_str(),
                "error": self.error.as_ref().map(|p| json!({"code": p.code, "message": p.message})),
                "incident_id": self.incident_id,
                "settings_url": self.settings_url,
            }
        })
    }
}

/// Makes the payload's `settings_url` absolute on the service's public URL.
pub fn with_base_url(mut payload: Value, base: &url::Url) -> Value {
    if let Some(path) = payload["data"]["settings_url"].as_str()
        && path.starts_with('/')
        && let Ok(absolute) = base.join(path)
    {
        payload["data"]["settings_url"] = Value::String(absolute.to_string());
    }
    payload
}

/// A test notification's payload.
pub fn test_payload(org_id: OrgId, org_name: &str, now: DateTime<Utc>) -> Value {
    json!({
        "type": NotificationKind::Test.event_type(),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {
            "org_id": org_id,
            "org_name": org_name,
            "message": "This is a test notification from Plugboard: this channel works.",
        }
    })
}

/// A provider's verified webhook handed on to the brand: `provider.event` with the topic, the
/// provider and the provider's own payload.
pub fn provider_event_payload(
    org_id: OrgId,
    connection_id: ConnectionId,
    provider: &str,
    topic: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "type": NotificationKind::ProviderEvent.event_type(),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {
            "org_id": org_id,
            "connection_id": connection_id,
            "provider": provider,
            "topic": topic,
            "payload": payload,
        }
    })
}

/// A privacy request the brand must answer by `due_at`.
#[allow(clippy::too_many_arguments)]
pub fn privacy_request_payload(
    org_id: OrgId,
    connection_id: ConnectionId,
    provider: &str,
    request_id: uuid::Uuid,
    kind: &str,
    details: Option<&Value>,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "type": NotificationKind::PrivacyRequest.event_type(),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {
            "org_id": org_id,
            "connection_id": connection_id,
            "provider": provider,
            "request_id": request_id,
            "kind": kind,
            "details": details,
            "due_at": due_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "message": format!("A {provider} privacy request ({kind}) arrived; answer it by {}.", due_at.format("%Y-%m-%d")),
        }
    })
}

/// One line for a person: what happened and what to do.
pub fn summary(payload: &Value) -> String {
    let data = &payload["data"];
    let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
    match payload["type"].as_str() {
        Some("connection.broken") => {
            let sentence = data["error"]["message"]
                .as_str()
                .unwrap_or("It needs attention.");
            format!(
                "{} for {} is {}: {} Fix it at {}",
                text("provider_name"),
                text("org_name"),
                text("new_status"),
                sentence,
                text("settings_url")
            )
        }
        Some("connection.recovered") => format!(
            "{} for {} is connected again; the incident {} is closed.",
            text("provider_name"),
            text("org_name"),
            text("incident_id")
        ),
        _ => text("message"),
    }
}

/// An e-mail subject for a payload.
pub fn subject(payload: &Value) -> String {
    let data = &payload["data"];
    let name = data["provider_name"].as_str().unwrap_or_default();
    match payload["type"].as_str() {
        Some("connection.broken") => format!("[Plugboard] {name} needs attention"),
        Some("connection.recovered") => format!("[Plugboard] {name} is connected again"),
        _ => "[Plugboard] Test notification".to_owned(),
    }
}

/// Splits and checks a list of e-mail addresses (commas, semicolons or spaces between them);
/// the first address that is not one is returned as the error.
pub fn parse_recipients(list: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for raw in list
        .iter()
        .flat_map(|entry| entry.split([',', ';', ' ', '\n']))
    {
        let address = raw.trim().to_lowercase();
        if address.is_empty() {
            continue;
        }
        let valid = address.split_once('@').is_some_and(|(local, host)| {
            !local.is_empty()
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && !address.contains(['<', '>', '"', '\r'])
        });
        if !valid || address.len() > 254 {
            return Err(raw.trim().to_owned());
        }
        if !out.contains(&address) {
            out.push(address);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProblemCode;

    fn notice(kind: NotificationKind) -> ConnectionNotice {
        ConnectionNotice {
            kind,
            org_id: OrgId(uuid::Uuid::nil()),
            org_name: "Acme".into(),
            connection_id: ConnectionId(uuid::Uuid::nil()),
            provider: "shopify".into(),
            provider_name: "Shopify".into(),
            old_status: ConnectionStatus::Connected,
            new_status: ConnectionStatus::Expired,
            error: Some(Problem {
                code: ProblemCode::RefreshRefused,
                message: "Reconnect Shopify.".into(),
            }),
            incident_id: uuid::Uuid::nil(),
            settings_url: "https://app.example/settings/integrations/shopify".into(),
            occurred_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn the_payload_names_org_provider_statuses_error_and_link() {
        let payload = notice(NotificationKind::Broken).payload();
        assert_eq!(payload["type"], "connection.broken");
        assert_eq!(payload["timestamp"], "2027-01-15T08:00:00Z");
        let data = &payload["data"];
        assert_eq!(data["org_name"], "Acme");
        assert_eq!(data["provider"], "shopify");
        assert_eq!(data["old_status"], "connected");
        assert_eq!(data["new_status"], "expired");
        assert_eq!(data["error"]["code"], "refresh_refused");
        assert!(data["settings_url"].as_str().unwrap().ends_with("/shopify"));
        let line = summary(&payload);
        assert!(
            line.contains("Shopify for Acme is expired: Reconnect Shopify."),
            "{line}"
        );
        assert_eq!(subject(&payload), "[Plugboard] Shopify needs attention");
        let relative = ConnectionNotice {
            settings_url: "/settings/integrations/shopify".into(),
            ..notice(NotificationKind::Broken)
        }
        .payload();
        let base = url::Url::parse("https://plugboard.example/app").unwrap();
        assert_eq!(
            with_base_url(relative, &base)["data"]["settings_url"],
            "https://plugboard.example/settings/integrations/shopify"
        );
        let recovered = notice(NotificationKind::Recovered).payload();
        assert!(summary(&recovered).contains("connected again"));
    }

    #[test]
    fn each_kind_goes_where_it_is_meant_to() {
        let everything = Routing {
            webhook: true,
            slack_webhook: true,
            email: true,
            slack_app: vec![NotificationKind::Broken, NotificationKind::PrivacyRequest],
        };
        use Channel::*;
        assert_eq!(
            everything.channels(NotificationKind::Broken),
            vec![Webhook, Slack, Email, SlackApp]
        );
        assert_eq!(
            everything.channels(NotificationKind::Recovered),
            vec![Webhook, Slack, Email]
        );
        assert_eq!(
            everything.channels(NotificationKind::PrivacyRequest),
            vec![Webhook, SlackApp]
        );
        assert_eq!(
            everything.channels(NotificationKind::ProviderEvent),
            vec![Webhook]
        );
        assert!(
            Routing::default()
                .channels(NotificationKind::Test)
                .is_empty()
        );
    }

    #[test]
    fn slack_says_whether_it_posted() {
        assert_eq!(slack_refusal(br#"{"ok":true,"ts":"1.2"}"#), None);
        assert_eq!(
            slack_refusal(br#"{"ok":false,"error":"channel_not_found"}"#).as_deref(),
            Some("channel_not_found")
        );
        assert!(slack_refusal(b"<html>").is_some());
        let message = slack_message(
            "C0SANDBOX03",
            &test_payload(OrgId(uuid::Uuid::nil()), "Acme", Utc::now()),
        );
        assert_eq!(message["channel"], "C0SANDBOX03");
        assert!(
            message["text"]
                .as_str()
                .unwrap()
                .contains("this channel works")
        );
    }

    #[test]
    fn enums_round_trip() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(*kind));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(*channel));
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(*status));
        }
    }

    #[test]
    fn recipients_are_split_checked_and_deduplicated() {
        let list = vec![
            "Ops@Acme.com, cto@acme.com".to_owned(),
            "ops@acme.com".to_owned(),
        ];
        assert_eq!(
            parse_recipients(&list).unwrap(),
            vec!["ops@acme.com", "cto@acme.com"]
        );
        assert_eq!(
            parse_recipients(&["not-an-address".to_owned()]).err(),
            Some("not-an-address".to_owned())
        );
        assert_eq!(
            parse_recipients(&["a@b.com\r\nBcc: x@y.com".to_owned()]).err(),
            Some("Bcc:".to_owned())
        );
    }
}
