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

mod token_requests {
    use url::Url;

    use super::super::requests::*;
    use super::*;

    fn oauth(provider: &str) -> crate::registry::OAuth2 {
        Registry::builtin()
            .unwrap()
            .get(provider)
            .unwrap()
            .oauth()
            .unwrap()
            .clone()
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    fn form(request: &TokenRequest) -> BTreeMap<String, String> {
        match &request.body {
            TokenBody::Form(form) => form.iter().cloned().collect(),
            _ => panic!("a form body"),
        }
    }

    fn token_url() -> Url {
        Url::parse("https://provider.test/token").unwrap()
    }

    #[test]
    fn a_code_grant_carries_the_redirect_and_verifier_with_the_client_as_the_registry_says() {
        let (id, key) = (secret("client"), secret("shh"));
        let client = ClientCredentials {
            id: &id,
            secret: &key,
        };
        let redirect = Url::parse("https://plugboard.test/api/v1/oauth/slack/callback").unwrap();
        let verifier = secret("verifier-123");
        for provider in ["slack", "google_ads", "calendly", "stripe"] {
            let oauth = oauth(provider);
            let grant = Grant::Code {
                code: "the-code",
                redirect_uri: &redirect,
                verifier: Some(&verifier),
            };
            let request = token_request(&oauth, token_url(), &client, grant);
            assert_eq!(request.method, Method::Post);
            let sent = form(&request);
            assert_eq!(sent["grant_type"], "authorization_code", "{provider}");
            assert_eq!(sent["code"], "the-code");
            assert_eq!(sent["redirect_uri"], redirect.as_str());
            assert_eq!(sent["code_verifier"], "verifier-123");
            match oauth.client_auth {
                crate::registry::ClientAuth::BasicAuth => {
                    assert_eq!(request.basic_auth.as_ref().unwrap().0, "client");
                    assert!(!sent.contains_key("client_secret"), "{provider}");
                }
                crate::registry::ClientAuth::RequestBody => {
                    assert!(request.basic_auth.is_none());
                    assert_eq!(sent["client_secret"], "shh", "{provider}");
                }
            }
            for (k, v) in &oauth.token_params {
                assert_eq!(&sent[k], v);
            }
            let shown = format!("{request:?}");
            assert!(
                !shown.contains("shh") && !shown.contains("verifier-123"),
                "{shown}"
            );
        }
    }

    #[test]
    fn tiktok_trades_its_auth_code_in_json_with_its_own_names() {
        let oauth = oauth("tiktok_ads");
        let (id, key) = (secret("app"), secret("shh"));
        let client = ClientCredentials {
            id: &id,
            secret: &key,
        };
        let redirect = Url::parse("https://plugboard.test/cb").unwrap();
        assert_eq!(code_param(&oauth), "auth_code");
        let request = token_request(
            &oauth,
            token_url(),
            &client,
            Grant::Code {
                code: "c",
                redirect_uri: &redirect,
                verifier: None,
            },
        );
        let TokenBody::Json(body) = &request.body else {
            panic!("TikTok takes JSON");
        };
        assert_eq!(
            body,
            &json!({"app_id": "app", "secret": "shh", "auth_code": "c"})
        );
        assert!(authorize_params(&oauth, &id).contains(&("app_id".to_owned(), "app".to_owned())));
    }

    #[test]
    fn a_refresh_grant_sends_the_refresh_token_and_the_client() {
        let oauth = oauth("calendly");
        let (id, key) = (secret("client"), secret("shh"));
        let token = secret("rt-1");
        let request = token_request(
            &oauth,
            token_url(),
            &ClientCredentials {
                id: &id,
                secret: &key,
            },
            Grant::Refresh {
                refresh_token: &token,
            },
        );
        let sent = form(&request);
        assert_eq!(sent["grant_type"], "refresh_token");
        assert_eq!(sent["refresh_token"], "rt-1");
        assert!(!sent.contains_key("code"));
    }

    #[test]
    fn google_asks_for_offline_access_and_consent_and_slack_joins_scopes_with_commas() {
        let google = oauth("google_ads");
        let params = authorize_params(&google, &secret("id"));
        assert!(params.contains(&("access_type".to_owned(), "offline".to_owned())));
        assert!(params.contains(&("prompt".to_owned(), "consent".to_owned())));
        assert_eq!(code_param(&google), "code");
        let slack = oauth("slack");
        assert!(scope_param(&slack).unwrap().contains(','));
        assert_eq!(
            authorize_params(&slack, &secret("id")).len(),
            slack.authorize_params.len(),
            "Slack adds nothing of its own to the consent URL"
        );
    }

    #[test]
    fn meta_trades_its_short_token_for_a_long_lived_one_and_nobody_else_does() {
        let (id, key) = (secret("app"), secret("shh"));
        let client = ClientCredentials {
            id: &id,
            secret: &key,
        };
        let answer = json!({"access_token": "short-token"});
        let exchange =
            long_lived_exchange(&oauth("meta_ads"), token_url(), &client, &answer).unwrap();
        assert_eq!(exchange.method, Method::Get);
        let query: BTreeMap<String, String> = exchange.url.query_pairs().into_owned().collect();
        assert_eq!(query["grant_type"], "fb_exchange_token");
        assert_eq!(query["fb_exchange_token"], "short-token");
        assert_eq!(query["client_id"], "app");
        assert!(long_lived_exchange(&oauth("slack"), token_url(), &client, &answer).is_none());
        assert!(
            long_lived_exchange(&oauth("meta_ads"), token_url(), &client, &json!({})).is_none()
        );
    }

    #[test]
    fn shopify_swaps_a_non_expiring_token_by_token_exchange_and_nobody_else_does() {
        let (id, key) = (secret("app"), secret("shh"));
        let client = ClientCredentials {
            id: &id,
            secret: &key,
        };
        let token = secret("shpat_old");
        let shopify = oauth("shopify");
        assert!(exchanges_non_expiring_tokens(&shopify));
        let request = expiring_token_exchange(&shopify, token_url(), &client, &token).unwrap();
        assert_eq!(request.method, Method::Post);
        let TokenBody::Json(body) = &request.body else {
            panic!("Shopify's token exchange takes JSON");
        };
        assert_eq!(body["grant_type"], TOKEN_EXCHANGE_GRANT);
        assert_eq!(body["subject_token"], "shpat_old");
        assert_eq!(
            body["subject_token_type"],
            "urn:shopify:params:oauth:token-type:offline-access-token"
        );
        assert_eq!(body["requested_token_type"], body["subject_token_type"]);
        assert_eq!(body["expiring"], "1");
        assert_eq!(body["client_id"], "app");
        assert!(!format!("{request:?}").contains("shpat_old"));
        for other in ["slack", "calendly", "meta_ads"] {
            assert!(!exchanges_non_expiring_tokens(&oauth(other)));
            assert!(expiring_token_exchange(&oauth(other), token_url(), &client, &token).is_none());
        }
    }
}
