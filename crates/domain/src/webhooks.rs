//! Standard Webhooks (standardwebhooks.com): the signing secret `whsec_<base64 key>` and the
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, where the signature is
//! `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

pub const SECRET_PREFIX: &str = "whsec_";
/// Receivers should refuse messages older (or newer) than this.
pub const TOLERANCE_SECS: i64 = 5 * 60;
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("a webhook secret reads `whsec_` followed by base64")]
    MalformedSecret,
    #[error("the system random source failed")]
    Random,
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> Result<SecretString, WebhookError> {
    let mut key = [0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| WebhookError::Random)?;
    Ok(SecretString::from(format!(
        "{SECRET_PREFIX}{}",
        STANDARD.encode(key)
    )))
}

fn key_of(secret: &SecretString) -> Result<hmac::Key, WebhookError> {
    let encoded = secret
        .expose_secret()
        .strip_prefix(SECRET_PREFIX)
        .ok_or(WebhookError::MalformedSecret)?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| WebhookError::MalformedSecret)?;
    if bytes.is_empty() {
        return Err(WebhookError::MalformedSecret);
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// The `webhook-signature` header value for one message.
pub fn sign(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    let tag = hmac::sign(&key_of(secret)?, &signed_content(id, timestamp, body));
    Ok(format!("v1,{}", STANDARD.encode(tag.as_ref())))
}

/// What a receiver does: true when one of the header's space-separated `v1,` signatures
/// matches (in constant time) and the timestamp is within the tolerance of `now`.
pub fn verify(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    now: i64,
) -> bool {
    // `abs_diff`: a timestamp at either end of i64 must not overflow (or, wrapped, pass).
    if now.abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return false;
    }
    let Ok(key) = key_of(secret) else {
        return false;
    };
    let content = signed_content(id, timestamp, body);
    header.split_whitespace().any(|candidate| {
        candidate
            .strip_prefix("v1,")
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .is_some_and(|tag| hmac::verify(&key, &content, &tag).is_ok())
    })
}

/// The `webhook-id` of an outbox row.
pub fn message_id(id: uuid::Uuid) -> String {
    format!("msg_{}", id.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let s = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(&s, id, 1614265330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(&s, id, 1614265330, body, &signature, 1614265330));
    }

    #[test]
    fn a_changed_body_id_time_or_secret_fails() {
        let s = generate_secret().unwrap();
        let header = sign(&s, "msg_1", 1000, b"{}").unwrap();
        assert!(verify(&s, "msg_1", 1000, b"{}", &header, 1010));
        assert!(!verify(&s, "msg_1", 1000, b"{ }", &header, 1010));
        assert!(!verify(&s, "msg_2", 1000, b"{}", &header, 1010));
        assert!(!verify(&s, "msg_1", 1001, b"{}", &header, 1010));
        assert!(!verify(
            &generate_secret().unwrap(),
            "msg_1",
            1000,
            b"{}",
            &header,
            1010
        ));
        // Too old for the receiver's tolerance.
        assert!(!verify(
            &s,
            "msg_1",
            1000,
            b"{}",
            &header,
            1000 + TOLERANCE_SECS + 1
        ));
        // One valid signature among several is enough (secret rotation).
        let both = format!("v1,AAAA {header}");
        assert!(verify(&s, "msg_1", 1000, b"{}", &both, 1000));
    }

    #[test]
    fn secrets_have_the_prefix_and_bad_ones_are_refused() {
        let s = generate_secret().unwrap();
        assert!(s.expose_secret().starts_with("whsec_"));
        assert_eq!(
            sign(&secret("nope"), "m", 1, b"").err(),
            Some(WebhookError::MalformedSecret)
        );
        assert_eq!(
            sign(&secret("whsec_!!"), "m", 1, b"").err(),
            Some(WebhookError::MalformedSecret)
        );
        assert_eq!(
            message_id(uuid::Uuid::nil()),
            format!("msg_{}", "0".repeat(32))
        );
    }
}
