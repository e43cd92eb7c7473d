//! The webhooks a provider sends its app, played from the control page: an uninstalled shop, a
//! removed Slack app, a deauthorized Meta or Stripe account, each privacy request. Each is
//! signed exactly as the provider signs it, with the platform's secret (or its sandbox
//! stand-in), and sent to Plugboard's own webhook URL, so what follows is what a real delivery
//! brings.

use chrono::Utc;
use domain::inbound::{self, Scheme};
use domain::registry::Provider;
use serde_json::{Value, json};

use crate::Sandbox;

/// One thing the control page can send: provider, topic, what the button says.
pub struct Event {
    pub provider: &'static str,
    pub topic: &'static str,
    pub label: &'static str,
}

pub const EVENTS: [Event; 9] = [
    Event {
        provider: "shopify",
        topic: "app/uninstalled",
        label: "Shopify: uninstall the app from the shop",
    },
    Event {
        provider: "shopify",
        topic: "customers/data_request",
        label: "Shopify: a customer asks for their data",
    },
    Event {
        provider: "shopify",
        topic: "customers/redact",
        label: "Shopify: a customer asks to be erased",
    },
    Event {
        provider: "shopify",
        topic: "shop/redact",
        label: "Shopify: erase the shop (48 hours after an uninstall)",
    },
    Event {
        provider: "slack",
        topic: "app_uninstalled",
        label: "Slack: remove the app from the workspace",
    },
    Event {
        provider: "slack",
        topic: "tokens_revoked",
        label: "Slack: revoke the bot token",
    },
    Event {
        provider: "meta_ads",
        topic: "deauthorize",
        label: "Meta: the person removes the app",
    },
    Event {
        provider: "meta_ads",
        topic: "data-deletion",
        label: "Meta: the person asks for their data to be deleted",
    },
    Event {
        provider: "stripe",
        topic: "account.application.deauthorized",
        label: "Stripe: the account disconnects the platform",
    },
];

/// The account the sandbox's own verify answers name, so a sandbox connection matches.
pub fn default_account(provider: &str) -> String {
    match provider {
        "shopify" => "your-store.myshopify.com".to_owned(),
        other => format!("sandbox-{other}-001"),
    }
}

/// A request ready to send: where, the headers, the body.
pub struct Signed {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn unique() -> String {
    format!("{:x}", Utc::now().timestamp_nanos_opt().unwrap_or_default())
}

/// Builds and signs one event for `account` as the provider would.
pub fn build(
    sandbox: &Sandbox,
    provider: &Provider,
    topic: &str,
    account: &str,
) -> Result<Signed, String> {
    let inbound = provider
        .inbound
        .as_ref()
        .ok_or_else(|| format!("{} sends no webhooks.", provider.name))?;
    let secret = sandbox
        .env(&inbound.secret_env)
        .ok_or_else(|| format!("{} is not set.", inbound.secret_env))?;
    let now = Utc::now().timestamp();
    let json_type = ("Content-Type".to_owned(), "application/json".to_owned());
    let base = format!("/api/v1/webhooks/{}", provider.id);
    let signed = match inbound.scheme {
        Scheme::ShopifyHmac => {
            let body = shopify_body(topic, account).to_string().into_bytes();
            let mut headers = inbound::sign(inbound.scheme, secret, &body, now);
            headers.extend([
                json_type,
                ("X-Shopify-Topic".to_owned(), topic.to_owned()),
                ("X-Shopify-Shop-Domain".to_owned(), account.to_owned()),
                (
                    "X-Shopify-Webhook-Id".to_owned(),
                    format!("sandbox-{}", unique()),
                ),
                ("X-Shopify-Triggered-At".to_owned(), Utc::now().to_rfc3339()),
            ]);
            Signed {
                path: base,
                headers,
                body,
            }
        }
        Scheme::SlackV0 => {
            let mut event = json!({"type": topic});
            if topic == "tokens_revoked" {
                event["tokens"] = json!({"bot": ["USANDBOXBOT"]});
            }
            let body = json!({
                "token": "sandbox",
                "team_id": account,
                "api_app_id": "ASANDBOX",
                "event": event,
                "type": "event_callback",
                "event_id": format!("Ev{}", unique()),
                "event_time": now,
            })
            .to_string()
            .into_bytes();
            let mut headers = inbound::sign(inbound.scheme, secret, &body, now);
            headers.push(json_type);
            Signed {
                path: base,
                headers,
                body,
            }
        }
        Scheme::MetaSignedRequest => {
            let payload = json!({
                "algorithm": "HMAC-SHA256",
                "expires": 0,
                "issued_at": now,
                "user_id": account,
            });
            let signed = inbound::meta_signed_request(secret, &payload);
            Signed {
                path: format!("{base}/{topic}"),
                headers: vec![(
                    "Content-Type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                )],
                body: format!("signed_request={signed}").into_bytes(),
            }
        }
        Scheme::StripeSignature => {
            let body = json!({
                "id": format!("evt_sandbox{}", unique()),
                "object": "event",
                "type": topic,
                "account": account,
                "created": now,
                "livemode": false,
                "data": {"object": {"id": "ca_sandbox", "object": "application", "name": "Plugboard"}},
            })
            .to_string()
            .into_bytes();
            let mut headers = inbound::sign(inbound.scheme, secret, &body, now);
            headers.push(json_type);
            Signed {
                path: base,
                headers,
                body,
            }
        }
    };
    Ok(signed)
}

/// What Shopify sends for each topic (its documented example payloads, for the sandbox shop).
fn shopify_body(topic: &str, shop: &str) -> Value {
    let customer = json!({"id": 191167, "email": "john@example.com", "phone": "555-625-1199"});
    match topic {
        "customers/data_request" => json!({
            "shop_id": 954889,
            "shop_domain": shop,
            "orders_requested": [299938, 280263, 220458],
            "customer": customer,
            "data_request": {"id": 9999},
        }),
        "customers/redact" => json!({
            "shop_id": 954889,
            "shop_domain": shop,
            "customer": customer,
            "orders_to_redact": [299938, 280263, 220458],
        }),
        "shop/redact" => json!({"shop_id": 954889, "shop_domain": shop}),
        _ => json!({"id": 954889, "name": shop, "domain": shop, "myshopify_domain": shop}),
    }
}

/// Sends a signed event to Plugboard; the status and body it answered.
pub async fn send(sandbox: &Sandbox, signed: Signed) -> Result<(u16, String), String> {
    let mut url = sandbox.config.public_url.clone();
    url.set_path(&signed.path);
    url.set_query(None);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.post(url).body(signed.body);
    for (name, value) in signed.headers {
        request = request.header(name, value);
    }
    let answer = request
        .send()
        .await
        .map_err(|e| format!("Plugboard could not be reached: {e}"))?;
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap_or_default();
    Ok((status, body))
}
