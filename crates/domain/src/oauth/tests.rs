use serde_json::json;

use super::*;
use crate::crypto::{Purpose, PurposeKey};
use crate::registry::Registry;

fn signer() -> StateSigner {
    StateSigner::new(&PurposeKey::derive(
        &SecretString::from("server-secret".to_owned()),
        Purpose::OAuthState,
    ))
}

#[test]
fn states_are_bound_to_their_provider_and_unforgeable() {
    let signer = signer();
    let state = signer.issue("slack").unwrap();
    assert!(signer.is_genuine("slack", &state));
    assert!(
        !signer.is_genuine("shopify", &state),
        "another provider's callback refuses it"
    );
    let other = StateSigner::new(&PurposeKey::derive(
        &SecretString::from("another-secret".to_owned()),
        Purpose::OAuthState,
    ));
    assert!(!other.is_genuine("slack", &state));
    let (nonce, _) = state.split_once('.').unwrap();
    assert!(!signer.is_genuine("slack", &format!("{nonce}.AAAA")));
    assert!(!signer.is_genuine("slack", "garbage"));
    assert_ne!(signer.issue("slack").unwrap(), state, "fresh every time");
    assert_eq!(state_digest(&state).len(), 64);
}

#[test]
fn pkce_challenge_is_the_s256_of_the_verifier() {
    let pkce = Pkce::generate().unwrap();
    assert_eq!(pkce.verifier.expose_secret().len(), 43);
    let expected = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        pkce.verifier.expose_secret().as_bytes(),
    ));
    assert_eq!(pkce.challenge, expected);
}

#[test]
fn return_paths_stay_on_our_origin() {
    assert_eq!(
        safe_return_path("/settings/integrations/slack?tab=1").as_deref(),
        Some("/settings/integrations/slack?tab=1")
    );
    for bad in [
        "https://evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "evil",
        "/a\nb",
        "javascript:alert(1)",
    ] {
        assert_eq!(safe_return_path(bad), None, "{bad}");
    }
}

#[test]
fn shopify_callback_hmac_is_checked() {
    let secret = SecretString::from("shpss_secret".to_owned());
    let mut query: BTreeMap<String, String> = [
        ("code", "abc"),
        ("shop", "acme.myshopify.com"),
        ("state", "s"),
        ("timestamp", "1700000000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let hmac = shopify_hmac(&query, &secret);
    query.insert("hmac".to_owned(), hmac);
    assert!(shopify_hmac_is_valid(&query, &secret));
    query.insert("shop".to_owned(), "evil.myshopify.com".to_owned());
    assert!(!shopify_hmac_is_valid(&query, &secret));
    query.remove("hmac");
    assert!(!shopify_hmac_is_valid(&query, &secret));
}

fn oauth(id: &str) -> OAuth2 {
    Registry::builtin()
        .unwrap()
        .get(id)
        .unwrap()
        .oauth()
        .unwrap()
        .clone()
}

#[test]
fn reads_standard_and_quirky_token_answers() {
    let now = Utc::now();
    let google = read_token_answer(
        &oauth("google_ads"),
        &json!({"access_token": "ya29", "refresh_token": "1//r", "expires_in": 3599, "scope": "https://www.googleapis.com/auth/adwords", "token_type": "Bearer"}),
        now,
    )
    .unwrap();
    assert_eq!(google.access_token.expose_secret(), "ya29");
    assert_eq!(google.refresh_token.unwrap().expose_secret(), "1//r");
    assert_eq!(google.expires_at, now + Duration::seconds(3599));

    let slack = read_token_answer(
        &oauth("slack"),
        &json!({"ok": true, "access_token": "xoxb-1", "scope": "chat:write,channels:read", "team": {"id": "T1", "name": "Acme HQ"}, "authed_user": {"id": "U1"}}),
        now,
    )
    .unwrap();
    assert_eq!(slack.account_name.as_deref(), Some("Acme HQ"));
    assert_eq!(slack.scopes, ["chat:write", "channels:read"]);
    assert_eq!(
        read_token_answer(
            &oauth("slack"),
            &json!({"ok": false, "error": "invalid_code"}),
            now
        )
        .err(),
        Some(TokenError::Refused("invalid_code".into()))
    );

    let tiktok = read_token_answer(&oauth("tiktok_ads"), &json!({"code": 0, "message": "OK", "data": {"access_token": "tt", "scope": [1, 2], "advertiser_ids": ["7"]}}), now).unwrap();
    assert_eq!(tiktok.access_token.expose_secret(), "tt");
    assert!(
        read_token_answer(
            &oauth("tiktok_ads"),
            &json!({"code": 40001, "message": "auth_code expired"}),
            now
        )
        .is_err()
    );

    let stripe = read_token_answer(
        &oauth("stripe"),
        &json!({"access_token": "sk_acct", "stripe_user_id": "acct_123", "scope": "read_write"}),
        now,
    )
    .unwrap();
    assert_eq!(stripe.account_id.as_deref(), Some("acct_123"));
    assert_eq!(
        stripe.expires_at,
        now + Duration::seconds(FALLBACK_EXPIRES_IN_SECS),
        "no expires_in: the fallback"
    );

    assert_eq!(
        read_token_answer(
            &oauth("google_ads"),
            &json!({"error": "invalid_grant"}),
            now
        )
        .err(),
        Some(TokenError::Refused("invalid_grant".into()))
    );
    assert_eq!(
        read_token_answer(&oauth("google_ads"), &json!({"token_type": "Bearer"}), now).err(),
        Some(TokenError::Malformed)
    );
}
