//! Webhooks the providers send to the platform's own apps: how each one is signed, what a
//! verified delivery names (its id for deduplication, its topic, the account it is about), and
//! what it does to the connections it matches. Pure functions: the API reads the raw body and
//! the headers, and nothing is parsed before its signature holds.
//!
//! - Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app secret, raw body)).
//! - Slack Events: `X-Slack-Signature` = `v0=` + hex(HMAC-SHA256(signing secret,
//!   `v0:{X-Slack-Request-Timestamp}:{body}`)), within five minutes.
//! - Meta: form field `signed_request` = base64url(signature) `.` base64url(payload), the
//!   signature HMAC-SHA256 of the payload segment with the app secret, `algorithm` HMAC-SHA256.
//! - Stripe: `Stripe-Signature: t=…,v1=…` (several `v1` allowed), hex(HMAC-SHA256(endpoint
//!   secret, `{t}.{body}`)), within 300 seconds.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use ring::{digest, hmac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::model::Problem;
use crate::problem::ProblemCode;

/// The most a delivery's body may weigh; past it the answer is 413 and nothing is read.
pub const MAX_BODY: usize = 1024 * 1024;
/// How far a Slack request's timestamp may be from now.
pub const SLACK_TOLERANCE_SECS: i64 = 5 * 60;
/// How far a Stripe signature's `t` may be from now (Stripe's libraries' default).
pub const STRIPE_TOLERANCE_SECS: i64 = 300;
/// How long a shop has to answer a Shopify privacy request.
pub const PRIVACY_DUE_DAYS: i64 = 30;

/// How a provider signs what it sends; registry data (`[provider.inbound] scheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    ShopifyHmac,
    SlackV0,
    MetaSignedRequest,
    StripeSignature,
}

impl Scheme {
    pub const ALL: [Scheme; 4] = [
        Scheme::ShopifyHmac,
        Scheme::SlackV0,
        Scheme::MetaSignedRequest,
        Scheme::StripeSignature,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::ShopifyHmac => "shopify_hmac",
            Scheme::SlackV0 => "slack_v0",
            Scheme::MetaSignedRequest => "meta_signed_request",
            Scheme::StripeSignature => "stripe_signature",
        }
    }

    /// The callbacks a provider calls at their own paths (`/webhooks/{provider}/{callback}`);
    /// empty for a provider with one URL.
    pub fn callbacks(self) -> &'static [MetaCallback] {
        match self {
            Scheme::MetaSignedRequest => &[MetaCallback::Deauthorize, MetaCallback::DataDeletion],
            _ => &[],
        }
    }
}

/// Meta's two callbacks, each registered at its own URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaCallback {
    Deauthorize,
    DataDeletion,
}

impl MetaCallback {
    pub fn as_str(self) -> &'static str {
        match self {
            MetaCallback::Deauthorize => "deauthorize",
            MetaCallback::DataDeletion => "data-deletion",
        }
    }

    pub fn parse(s: &str) -> Option<MetaCallback> {
        [MetaCallback::Deauthorize, MetaCallback::DataDeletion]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// One delivery as it arrived.
pub struct Request<'a> {
    /// Header values by lower-case name.
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// The callback path segment, for a provider with several URLs (Meta).
    pub callback: Option<&'a str>,
}

/// Why a delivery was refused. Every one is a 401 except `Unreadable` (signed, yet not what
/// the provider sends: 400) and `UnknownCallback` (404).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the `{0}` header or field is missing")]
    Missing(&'static str),
    #[error("the signature does not match")]
    BadSignature,
    #[error("the signature's timestamp is too far from now")]
    Stale,
    #[error("the signature uses another algorithm")]
    WrongAlgorithm,
    #[error("the signed body is not what the provider sends: {0}")]
    Unreadable(&'static str),
    #[error("no such callback")]
    UnknownCallback,
}

impl Refusal {
    /// A refusal about the signature (counted as refused); the others are malformed calls.
    pub fn is_signature(self) -> bool {
        !matches!(self, Refusal::Unreadable(_) | Refusal::UnknownCallback)
    }
}

/// A verified delivery, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// What deduplicates it: the provider's delivery or event id (a digest of the signed
    /// request for Meta, which sends none).
    pub delivery_id: String,
    pub topic: String,
    /// The account it is about: a shop domain, a Slack team id, a Meta app-scoped user id, a
    /// Stripe account id. `None` for a delivery about no account.
    pub account: Option<String>,
    pub payload: Value,
}

/// What a verified request is.
#[derive(Clone, Debug, PartialEq)]
pub enum Verified {
    Delivery(Delivery),
    /// Slack's `url_verification`: answered with its challenge, nothing recorded.
    Challenge(String),
}

/// Verifies a request with the scheme's secret and answers what it carries. `now` in seconds
/// since the epoch.
pub fn verify(
    scheme: Scheme,
    secret: &SecretString,
    request: &Request<'_>,
    now: i64,
) -> Result<Verified, Refusal> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
    match scheme {
        Scheme::ShopifyHmac => shopify(&key, request).map(Verified::Delivery),
        Scheme::SlackV0 => slack(&key, request, now),
        Scheme::MetaSignedRequest => meta(&key, request).map(Verified::Delivery),
        Scheme::StripeSignature => stripe(&key, request, now).map(Verified::Delivery),
    }
}

fn header<'r>(request: &'r Request<'_>, name: &'static str) -> Result<&'r str, Refusal> {
    request
        .headers
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or(Refusal::Missing(name))
}

fn json(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|_| Refusal::Unreadable("the body is not JSON"))
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A hex SHA-256, for ids of deliveries that carry none.
fn digest_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn shopify(key: &hmac::Key, request: &Request<'_>) -> Result<Delivery, Refusal> {
    let signature = header(request, "x-shopify-hmac-sha256")?;
    let tag = STANDARD
        .decode(signature)
        .map_err(|_| Refusal::BadSignature)?;
    hmac::verify(key, request.body, &tag).map_err(|_| Refusal::BadSignature)?;
    let topic = header(request, "x-shopify-topic")?.to_owned();
    let shop = header(request, "x-shopify-shop-domain")?.to_ascii_lowercase();
    let delivery_id = header(request, "x-shopify-webhook-id")?.to_owned();
    let payload = json(request.body)?;
    // Shopify signs the body only: where the body names the shop too, it must be the shop
    // the header names, so a signed body cannot be pointed at another shop.
    let named = text(&payload, "/shop_domain").or_else(|| text(&payload, "/myshopify_domain"));
    if named.is_some_and(|named| !named.eq_ignore_ascii_case(&shop)) {
        return Err(Refusal::Unreadable(
            "the body names another shop than the header",
        ));
    }
    Ok(Delivery {
        delivery_id,
        topic,
        account: Some(shop),
        payload,
    })
}

fn within(timestamp: i64, now: i64, tolerance: i64) -> bool {
    // `abs_diff`: a timestamp at either end of i64 must not overflow (or, wrapped, pass).
    now.abs_diff(timestamp) <= tolerance.unsigned_abs()
}

fn slack(key: &hmac::Key, request: &Request<'_>, now: i64) -> Result<Verified, Refusal> {
    let signature = header(request, "x-slack-signature")?;
    let timestamp = header(request, "x-slack-request-timestamp")?;
    let hex_tag = signature
        .strip_prefix("v0=")
        .ok_or(Refusal::WrongAlgorithm)?;
    let tag = hex::decode(hex_tag).map_err(|_| Refusal::BadSignature)?;
    let mut base = format!("v0:{timestamp}:").into_bytes();
    base.extend_from_slice(request.body);
    hmac::verify(key, &base, &tag).map_err(|_| Refusal::BadSignature)?;
    // Checked after the signature, which covers it: a forged time fails above.
    let ts: i64 = timestamp.parse().map_err(|_| Refusal::Stale)?;
    if !within(ts, now, SLACK_TOLERANCE_SECS) {
        return Err(Refusal::Stale);
    }
    let payload = json(request.body)?;
    match payload["type"].as_str() {
        Some("url_verification") => {
            let challenge = text(&payload, "/challenge")
                .ok_or(Refusal::Unreadable("url_verification without a challenge"))?;
            Ok(Verified::Challenge(challenge))
        }
        Some("event_callback") => Ok(Verified::Delivery(Delivery {
            delivery_id: text(&payload, "/event_id")
                .ok_or(Refusal::Unreadable("an event without event_id"))?,
            topic: text(&payload, "/event/type")
                .ok_or(Refusal::Unreadable("an event without a type"))?,
            account: text(&payload, "/team_id"),
            payload,
        })),
        Some(other) => Ok(Verified::Delivery(Delivery {
            delivery_id: format!("sha256:{}", digest_hex(&base)),
            topic: other.to_owned(),
            account: text(&payload, "/team_id"),
            payload,
        })),
        None => Err(Refusal::Unreadable("a body without a type")),
    }
}

fn meta(key: &hmac::Key, request: &Request<'_>) -> Result<Delivery, Refusal> {
    let callback = request
        .callback
        .and_then(MetaCallback::parse)
        .ok_or(Refusal::UnknownCallback)?;
    let signed = url::form_urlencoded::parse(request.body)
        .find(|(name, _)| name == "signed_request")
        .map(|(_, value)| value.into_owned())
        .filter(|v| !v.is_empty())
        .ok_or(Refusal::Missing("signed_request"))?;
    let (signature, encoded) = signed.split_once('.').ok_or(Refusal::BadSignature)?;
    // Meta writes base64url without padding; some senders pad: both are read.
    let tag = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| Refusal::BadSignature)?;
    hmac::verify(key, encoded.as_bytes(), &tag).map_err(|_| Refusal::BadSignature)?;
    let raw = URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| Refusal::Unreadable("the payload is not base64url"))?;
    let payload = json(&raw)?;
    // The algorithm is inside what was signed: another one is refused even when the HMAC
    // happens to hold.
    if !payload["algorithm"]
        .as_str()
        .is_some_and(|a| a.eq_ignore_ascii_case("HMAC-SHA256"))
    {
        return Err(Refusal::WrongAlgorithm);
    }
    let user = text(&payload, "/user_id").ok_or(Refusal::Unreadable("no user_id"))?;
    Ok(Delivery {
        // The same signed request sent again is the same delivery.
        delivery_id: format!(
            "{}:{}",
            callback.as_str(),
            &digest_hex(signed.as_bytes())[..40]
        ),
        topic: callback.as_str().to_owned(),
        account: Some(user),
        payload,
    })
}

fn stripe(key: &hmac::Key, request: &Request<'_>, now: i64) -> Result<Delivery, Refusal> {
    let header = header(request, "stripe-signature")?;
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut other_scheme = false;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => v1.push(sig),
            Some(_) => other_scheme = true,
            None => {}
        }
    }
    let timestamp = timestamp.ok_or(Refusal::Missing("stripe-signature t"))?;
    if v1.is_empty() {
        // Only v0 (Stripe's test scheme) or unknown schemes: not HMAC-SHA256.
        return Err(if other_scheme {
            Refusal::WrongAlgorithm
        } else {
            Refusal::Missing("stripe-signature v1")
        });
    }
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(request.body);
    let holds = v1
        .iter()
        .any(|sig| hex::decode(sig).is_ok_and(|tag| hmac::verify(key, &signed, &tag).is_ok()));
    if !holds {
        return Err(Refusal::BadSignature);
    }
    if !within(timestamp, now, STRIPE_TOLERANCE_SECS) {
        return Err(Refusal::Stale);
    }
    let payload = json(request.body)?;
    Ok(Delivery {
        delivery_id: text(&payload, "/id").ok_or(Refusal::Unreadable("an event without id"))?,
        topic: text(&payload, "/type").ok_or(Refusal::Unreadable("an event without type"))?,
        // A Connect event names the connected account; a platform event names none.
        account: text(&payload, "/account"),
        payload,
    })
}

/// Signs a body as the provider would: the header (name, value) pairs or, for Meta, the form
/// body. The sandbox and the tests send with it.
pub fn sign(scheme: Scheme, secret: &SecretString, body: &[u8], now: i64) -> Vec<(String, String)> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
    match scheme {
        Scheme::ShopifyHmac => vec![(
            "X-Shopify-Hmac-Sha256".to_owned(),
            STANDARD.encode(hmac::sign(&key, body).as_ref()),
        )],
        Scheme::SlackV0 => {
            let mut base = format!("v0:{now}:").into_bytes();
            base.extend_from_slice(body);
            vec![
                ("X-Slack-Request-Timestamp".to_owned(), now.to_string()),
                (
                    "X-Slack-Signature".to_owned(),
                    format!("v0={}", hex::encode(hmac::sign(&key, &base).as_ref())),
                ),
            ]
        }
        Scheme::StripeSignature => {
            let mut signed = format!("{now}.").into_bytes();
            signed.extend_from_slice(body);
            vec![(
                "Stripe-Signature".to_owned(),
                format!(
                    "t={now},v1={}",
                    hex::encode(hmac::sign(&key, &signed).as_ref())
                ),
            )]
        }
        // Meta signs inside the body: see `meta_signed_request`.
        Scheme::MetaSignedRequest => Vec::new(),
    }
}

/// A Meta `signed_request` for a payload, as Meta writes it.
pub fn meta_signed_request(secret: &SecretString, payload: &Value) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
    let encoded = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tag = hmac::sign(&key, encoded.as_bytes());
    format!("{}.{encoded}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Why a provider says its grant is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The app was uninstalled (Shopify, Slack).
    Uninstalled,
    /// The bot's tokens were revoked (Slack).
    TokensRevoked,
    /// The person or account removed the app's access (Meta, Stripe).
    Deauthorized,
}

/// A privacy request a provider sends for the shop's customers or the shop itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrivacyKind {
    /// A customer asked for the data held about them.
    CustomerDataRequest,
    /// A customer asked to be erased.
    CustomerRedact,
    /// The shop asked for everything about it to be erased (done by Plugboard itself).
    ShopRedact,
}

impl PrivacyKind {
    pub const ALL: [PrivacyKind; 3] = [
        PrivacyKind::CustomerDataRequest,
        PrivacyKind::CustomerRedact,
        PrivacyKind::ShopRedact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PrivacyKind::CustomerDataRequest => "customer_data_request",
            PrivacyKind::CustomerRedact => "customer_redact",
            PrivacyKind::ShopRedact => "shop_redact",
        }
    }

    pub fn parse(s: &str) -> Option<PrivacyKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The day the answer is due, counted from when the request came.
    pub fn due(received: DateTime<Utc>) -> DateTime<Utc> {
        received + Duration::days(PRIVACY_DUE_DAYS)
    }
}

/// What a verified delivery does to the connections it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The grant is gone: the connections expire and their tokens are forgotten.
    Revoked(Revocation),
    /// A privacy request for the brand to answer (and, for a shop, erased at once).
    Privacy(PrivacyKind),
    /// Everything held for the account is erased (Meta's data deletion).
    Erase,
    /// Handed to the organization's webhook as a `provider.event`.
    Forward,
}

impl Effect {
    /// Whether it erases what is held for the account.
    pub fn erases(self) -> bool {
        matches!(
            self,
            Effect::Erase | Effect::Privacy(PrivacyKind::ShopRedact)
        )
    }
}

/// The effect of a verified delivery, by scheme and topic.
pub fn effect(scheme: Scheme, delivery: &Delivery) -> Effect {
    let topic = delivery.topic.as_str();
    match (scheme, topic) {
        (Scheme::ShopifyHmac, "app/uninstalled") => Effect::Revoked(Revocation::Uninstalled),
        (Scheme::ShopifyHmac, "customers/data_request") => {
            Effect::Privacy(PrivacyKind::CustomerDataRequest)
        }
        (Scheme::ShopifyHmac, "customers/redact") => Effect::Privacy(PrivacyKind::CustomerRedact),
        (Scheme::ShopifyHmac, "shop/redact") => Effect::Privacy(PrivacyKind::ShopRedact),
        (Scheme::SlackV0, "app_uninstalled") => Effect::Revoked(Revocation::Uninstalled),
        // Only the bot's tokens are Plugboard's grant; a person's own token says nothing.
        (Scheme::SlackV0, "tokens_revoked")
            if delivery.payload["event"]["tokens"]["bot"]
                .as_array()
                .is_some_and(|bots| !bots.is_empty()) =>
        {
            Effect::Revoked(Revocation::TokensRevoked)
        }
        (Scheme::MetaSignedRequest, "deauthorize") => Effect::Revoked(Revocation::Deauthorized),
        (Scheme::MetaSignedRequest, "data-deletion") => Effect::Erase,
        (Scheme::StripeSignature, "account.application.deauthorized") => {
            Effect::Revoked(Revocation::Deauthorized)
        }
        _ => Effect::Forward,
    }
}

/// The sentence a revoked connection shows: what happened and what to do. `account` is the id
/// the delivery named; `account_name` the name the connection holds, when it has one.
pub fn revoked_problem(
    provider_name: &str,
    revocation: Revocation,
    account: &str,
    account_name: Option<&str>,
) -> Problem {
    let named = account_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(account);
    let (code, message) = match revocation {
        Revocation::Uninstalled => (
            ProblemCode::AppUninstalled,
            if account.ends_with(".myshopify.com") {
                format!(
                    "The Plugboard app was uninstalled from {account}; reconnect to install it again."
                )
            } else {
                format!(
                    "The Plugboard app was removed from the {provider_name} workspace {named}; reconnect {provider_name} to add it again."
                )
            },
        ),
        Revocation::TokensRevoked => (
            ProblemCode::AccessRevoked,
            format!(
                "{provider_name} revoked Plugboard's bot token in the workspace {named}; reconnect {provider_name} to restore it."
            ),
        ),
        Revocation::Deauthorized => (
            ProblemCode::AccessRevoked,
            format!(
                "{named} removed Plugboard's access in {provider_name}; reconnect {provider_name} to restore it."
            ),
        ),
    };
    Problem { code, message }
}

#[cfg(test)]
mod tests;
