use super::*;
use serde_json::json;

const NOW: i64 = 1_790_000_000;

fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

fn headers(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

fn check(
    scheme: Scheme,
    key: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    callback: Option<&str>,
    now: i64,
) -> Result<Verified, Refusal> {
    verify(
        scheme,
        &secret(key),
        &Request {
            headers,
            body,
            callback,
        },
        now,
    )
}

fn flipped(body: &[u8]) -> Vec<u8> {
    let mut copy = body.to_vec();
    copy[2] ^= 0x01;
    copy
}

fn shopify_headers(body: &[u8], key: &str) -> BTreeMap<String, String> {
    let mut all = sign(Scheme::ShopifyHmac, &secret(key), body, NOW);
    all.push(("X-Shopify-Topic".into(), "app/uninstalled".into()));
    all.push(("X-Shopify-Shop-Domain".into(), "acme.myshopify.com".into()));
    all.push(("X-Shopify-Webhook-Id".into(), "b54557e4-1".into()));
    headers(&all)
}

#[test]
fn shopify_accepts_its_signature_and_names_shop_topic_and_id() {
    let body = br#"{"id":1,"myshopify_domain":"acme.myshopify.com"}"#;
    let h = shopify_headers(body, "shpss_secret");
    let Ok(Verified::Delivery(d)) = check(Scheme::ShopifyHmac, "shpss_secret", &h, body, None, NOW)
    else {
        panic!("refused");
    };
    assert_eq!(d.delivery_id, "b54557e4-1");
    assert_eq!(d.topic, "app/uninstalled");
    assert_eq!(d.account.as_deref(), Some("acme.myshopify.com"));
    assert_eq!(
        effect(Scheme::ShopifyHmac, &d),
        Effect::Revoked(Revocation::Uninstalled)
    );
}

#[test]
fn shopify_matches_a_known_vector() {
    // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), base64.
    let body = b"The quick brown fox jumps over the lazy dog";
    let signed = sign(Scheme::ShopifyHmac, &secret("key"), body, NOW);
    assert_eq!(signed[0].1, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
}

#[test]
fn shopify_refuses_flipped_byte_wrong_secret_missing_header() {
    let body = br#"{"id":1}"#;
    let h = shopify_headers(body, "right");
    assert_eq!(
        check(Scheme::ShopifyHmac, "right", &h, &flipped(body), None, NOW),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(Scheme::ShopifyHmac, "wrong", &h, body, None, NOW),
        Err(Refusal::BadSignature)
    );
    let mut missing = h.clone();
    missing.remove("x-shopify-hmac-sha256");
    assert_eq!(
        check(Scheme::ShopifyHmac, "right", &missing, body, None, NOW),
        Err(Refusal::Missing("x-shopify-hmac-sha256"))
    );
    let mut no_id = h.clone();
    no_id.remove("x-shopify-webhook-id");
    assert_eq!(
        check(Scheme::ShopifyHmac, "right", &no_id, body, None, NOW),
        Err(Refusal::Missing("x-shopify-webhook-id"))
    );
    // The hex of the OAuth callback is not the webhook's base64.
    let mut hexed = h.clone();
    hexed.insert("x-shopify-hmac-sha256".into(), "ab".repeat(32));
    assert!(check(Scheme::ShopifyHmac, "right", &hexed, body, None, NOW).is_err());
}

#[test]
fn shopify_refuses_a_body_that_names_another_shop() {
    let body = br#"{"shop_domain":"other.myshopify.com","shop_id":1}"#;
    let h = shopify_headers(body, "k");
    assert!(matches!(
        check(Scheme::ShopifyHmac, "k", &h, body, None, NOW),
        Err(Refusal::Unreadable(_))
    ));
}

fn slack_body() -> Vec<u8> {
    json!({
        "type": "event_callback",
        "team_id": "T0001",
        "event_id": "Ev0001",
        "event": {"type": "tokens_revoked", "tokens": {"bot": ["U1"]}}
    })
    .to_string()
    .into_bytes()
}

#[test]
fn slack_accepts_its_signature_within_five_minutes() {
    let body = slack_body();
    let h = headers(&sign(Scheme::SlackV0, &secret("s"), &body, NOW - 299));
    let Ok(Verified::Delivery(d)) = check(Scheme::SlackV0, "s", &h, &body, None, NOW) else {
        panic!("refused");
    };
    assert_eq!(d.delivery_id, "Ev0001");
    assert_eq!(d.account.as_deref(), Some("T0001"));
    assert_eq!(
        effect(Scheme::SlackV0, &d),
        Effect::Revoked(Revocation::TokensRevoked)
    );
}

#[test]
fn slack_refuses_old_flipped_wrong_secret_missing_and_other_versions() {
    let body = slack_body();
    let old = headers(&sign(Scheme::SlackV0, &secret("s"), &body, NOW - 6 * 60));
    assert_eq!(
        check(Scheme::SlackV0, "s", &old, &body, None, NOW),
        Err(Refusal::Stale)
    );
    let h = headers(&sign(Scheme::SlackV0, &secret("s"), &body, NOW));
    assert_eq!(
        check(Scheme::SlackV0, "s", &h, &flipped(&body), None, NOW),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(Scheme::SlackV0, "t", &h, &body, None, NOW),
        Err(Refusal::BadSignature)
    );
    let mut no_ts = h.clone();
    no_ts.remove("x-slack-request-timestamp");
    assert_eq!(
        check(Scheme::SlackV0, "s", &no_ts, &body, None, NOW),
        Err(Refusal::Missing("x-slack-request-timestamp"))
    );
    // A forged timestamp breaks the signature.
    let mut moved = h.clone();
    moved.insert("x-slack-request-timestamp".into(), (NOW + 1).to_string());
    assert_eq!(
        check(Scheme::SlackV0, "s", &moved, &body, None, NOW),
        Err(Refusal::BadSignature)
    );
    let mut v1 = h.clone();
    let sig = v1["x-slack-signature"].replace("v0=", "v1=");
    v1.insert("x-slack-signature".into(), sig);
    assert_eq!(
        check(Scheme::SlackV0, "s", &v1, &body, None, NOW),
        Err(Refusal::WrongAlgorithm)
    );
}

#[test]
fn slack_url_verification_answers_the_challenge() {
    let body = json!({"type": "url_verification", "challenge": "3eZbrw1a", "token": "x"})
        .to_string()
        .into_bytes();
    let h = headers(&sign(Scheme::SlackV0, &secret("s"), &body, NOW));
    assert_eq!(
        check(Scheme::SlackV0, "s", &h, &body, None, NOW),
        Ok(Verified::Challenge("3eZbrw1a".into()))
    );
}

#[test]
fn slack_user_tokens_revoked_alone_is_forwarded() {
    let d = Delivery {
        delivery_id: "Ev".into(),
        topic: "tokens_revoked".into(),
        account: Some("T1".into()),
        payload: json!({"event": {"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}}}),
    };
    assert_eq!(effect(Scheme::SlackV0, &d), Effect::Forward);
}

fn meta_form(key: &str, payload: &Value) -> Vec<u8> {
    format!(
        "signed_request={}",
        meta_signed_request(&secret(key), payload)
    )
    .into_bytes()
}

#[test]
fn meta_accepts_its_signed_request() {
    let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": NOW, "user_id": "10219"});
    let body = meta_form("app", &payload);
    let none = BTreeMap::new();
    let Ok(Verified::Delivery(d)) = check(
        Scheme::MetaSignedRequest,
        "app",
        &none,
        &body,
        Some("data-deletion"),
        NOW,
    ) else {
        panic!("refused");
    };
    assert_eq!(d.account.as_deref(), Some("10219"));
    assert_eq!(d.topic, "data-deletion");
    assert_eq!(effect(Scheme::MetaSignedRequest, &d), Effect::Erase);
    // The same signed request is the same delivery.
    let Ok(Verified::Delivery(again)) = check(
        Scheme::MetaSignedRequest,
        "app",
        &none,
        &body,
        Some("data-deletion"),
        NOW,
    ) else {
        panic!("refused");
    };
    assert_eq!(again.delivery_id, d.delivery_id);
}

#[test]
fn meta_refuses_other_algorithm_wrong_secret_flipped_and_missing() {
    let none = BTreeMap::new();
    let other = meta_form("app", &json!({"algorithm": "HMAC-SHA1", "user_id": "1"}));
    assert_eq!(
        check(
            Scheme::MetaSignedRequest,
            "app",
            &none,
            &other,
            Some("deauthorize"),
            NOW
        ),
        Err(Refusal::WrongAlgorithm)
    );
    let good = meta_form("app", &json!({"algorithm": "HMAC-SHA256", "user_id": "1"}));
    assert_eq!(
        check(
            Scheme::MetaSignedRequest,
            "nope",
            &none,
            &good,
            Some("deauthorize"),
            NOW
        ),
        Err(Refusal::BadSignature)
    );
    let mut changed = good.clone();
    let last = changed.len() - 3;
    changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        check(
            Scheme::MetaSignedRequest,
            "app",
            &none,
            &changed,
            Some("deauthorize"),
            NOW
        ),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(
            Scheme::MetaSignedRequest,
            "app",
            &none,
            b"other=1",
            Some("deauthorize"),
            NOW
        ),
        Err(Refusal::Missing("signed_request"))
    );
    assert_eq!(
        check(
            Scheme::MetaSignedRequest,
            "app",
            &none,
            &good,
            Some("elsewhere"),
            NOW
        ),
        Err(Refusal::UnknownCallback)
    );
}

fn stripe_body() -> Vec<u8> {
    json!({"id": "evt_1", "type": "account.application.deauthorized", "account": "acct_9"})
        .to_string()
        .into_bytes()
}

#[test]
fn stripe_accepts_any_matching_v1_within_tolerance() {
    let body = stripe_body();
    let signed = sign(
        Scheme::StripeSignature,
        &secret("whsec_x"),
        &body,
        NOW - 300,
    );
    let value = format!("{},v1={},v0=abc", signed[0].1, "00".repeat(32));
    let h = headers(&[("Stripe-Signature".into(), value)]);
    let Ok(Verified::Delivery(d)) = check(Scheme::StripeSignature, "whsec_x", &h, &body, None, NOW)
    else {
        panic!("refused");
    };
    assert_eq!(d.delivery_id, "evt_1");
    assert_eq!(d.account.as_deref(), Some("acct_9"));
    assert_eq!(
        effect(Scheme::StripeSignature, &d),
        Effect::Revoked(Revocation::Deauthorized)
    );
}

#[test]
fn stripe_refuses_past_tolerance_flipped_wrong_secret_missing_and_v0_only() {
    let body = stripe_body();
    let old = headers(&sign(
        Scheme::StripeSignature,
        &secret("k"),
        &body,
        NOW - 301,
    ));
    assert_eq!(
        check(Scheme::StripeSignature, "k", &old, &body, None, NOW),
        Err(Refusal::Stale)
    );
    let h = headers(&sign(Scheme::StripeSignature, &secret("k"), &body, NOW));
    assert_eq!(
        check(Scheme::StripeSignature, "k", &h, &flipped(&body), None, NOW),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(Scheme::StripeSignature, "j", &h, &body, None, NOW),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        check(
            Scheme::StripeSignature,
            "k",
            &BTreeMap::new(),
            &body,
            None,
            NOW
        ),
        Err(Refusal::Missing("stripe-signature"))
    );
    let v0 = headers(&[(
        "Stripe-Signature".into(),
        h["stripe-signature"].replace("v1=", "v0="),
    )]);
    assert_eq!(
        check(Scheme::StripeSignature, "k", &v0, &body, None, NOW),
        Err(Refusal::WrongAlgorithm)
    );
}

#[test]
fn effects_by_topic() {
    let d = |topic: &str| Delivery {
        delivery_id: "1".into(),
        topic: topic.into(),
        account: None,
        payload: json!({}),
    };
    let cases = [
        (
            Scheme::ShopifyHmac,
            "customers/data_request",
            Effect::Privacy(PrivacyKind::CustomerDataRequest),
        ),
        (
            Scheme::ShopifyHmac,
            "customers/redact",
            Effect::Privacy(PrivacyKind::CustomerRedact),
        ),
        (
            Scheme::ShopifyHmac,
            "shop/redact",
            Effect::Privacy(PrivacyKind::ShopRedact),
        ),
        (Scheme::ShopifyHmac, "orders/create", Effect::Forward),
        (
            Scheme::SlackV0,
            "app_uninstalled",
            Effect::Revoked(Revocation::Uninstalled),
        ),
        (Scheme::SlackV0, "message", Effect::Forward),
        (
            Scheme::MetaSignedRequest,
            "deauthorize",
            Effect::Revoked(Revocation::Deauthorized),
        ),
        (Scheme::StripeSignature, "payout.paid", Effect::Forward),
    ];
    for (scheme, topic, expected) in cases {
        assert_eq!(effect(scheme, &d(topic)), expected, "{topic}");
    }
    assert!(Effect::Privacy(PrivacyKind::ShopRedact).erases());
    assert!(!Effect::Privacy(PrivacyKind::CustomerRedact).erases());
}

#[test]
fn revoked_sentences_name_what_happened() {
    let shop = revoked_problem(
        "Shopify",
        Revocation::Uninstalled,
        "acme.myshopify.com",
        Some("Acme"),
    );
    assert_eq!(
        shop.message,
        "The Plugboard app was uninstalled from acme.myshopify.com; reconnect to install it again."
    );
    assert_eq!(shop.code, crate::problem::ProblemCode::AppUninstalled);
    let slack = revoked_problem("Slack", Revocation::Uninstalled, "T1", Some("Acme HQ"));
    assert!(
        slack.message.contains("workspace Acme HQ"),
        "{}",
        slack.message
    );
    let stripe = revoked_problem("Stripe Connect", Revocation::Deauthorized, "acct_1", None);
    assert!(
        stripe.message.starts_with("acct_1 removed"),
        "{}",
        stripe.message
    );
}

#[test]
fn privacy_kinds_round_trip_and_fall_due_in_thirty_days() {
    for kind in PrivacyKind::ALL {
        assert_eq!(PrivacyKind::parse(kind.as_str()), Some(kind));
    }
    let at = DateTime::from_timestamp(NOW, 0).unwrap();
    assert_eq!((PrivacyKind::due(at) - at).num_days(), 30);
}

#[test]
fn the_registry_gives_each_scheme_to_one_provider_with_its_secret() {
    let registry = crate::registry::Registry::builtin().unwrap();
    for scheme in Scheme::ALL {
        let with: Vec<_> = registry
            .providers()
            .iter()
            .filter(|p| p.inbound.as_ref().is_some_and(|i| i.scheme == scheme))
            .collect();
        assert_eq!(with.len(), 1, "{}", scheme.as_str());
    }
    let shopify = registry.get("shopify").unwrap().inbound.as_ref().unwrap();
    assert_eq!(shopify.secret_env, "SHOPIFY_API_SECRET");
    assert_eq!(shopify.match_field.as_deref(), Some("shop"));
}
