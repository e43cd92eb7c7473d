//! Signing in with Microsoft and Google. The identity provider is either the built-in sandbox
//! or this module's own: a real HTTP server on loopback that publishes discovery and keys and
//! answers the token endpoint with whatever ID token the test signed — deliberately bad ones
//! included — and counts how often its keys are fetched.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use url::Url;

use crate::helpers::{Options, TestApp, json_body, problem, spawn_app_with};

const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const OTHER_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const CLIENT_SECRET: &str = "entra-client-secret-value";

/// An ES256 signing key with its key id.
struct TestKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl TestKey {
    fn new(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        TestKey {
            kid: kid.to_owned(),
            pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// Signs `claims`, naming `kid` in the header (another key's id, to forge).
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}

#[derive(Default)]
struct IdpState {
    url: Mutex<String>,
    /// The keys the key set publishes.
    keys: Mutex<Vec<Value>>,
    key_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    /// What the token endpoint answers for each code.
    tokens: Mutex<HashMap<String, String>>,
    token_requests: Mutex<Vec<BTreeMap<String, String>>>,
}

/// Entra on loopback (`/{tenant}/v2.0/…`) and Google (`/.well-known/…`) in one server.
struct Idp {
    url: String,
    state: Arc<IdpState>,
    key: TestKey,
}

async fn discovery(state: web::Data<Arc<IdpState>>, path: web::Path<String>) -> HttpResponse {
    state.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let url = state.url.lock().unwrap().clone();
    let tenant = path.into_inner();
    let issuer = if tenant == "organizations" {
        "{tenantid}".to_owned()
    } else {
        tenant
    };
    HttpResponse::Ok().json(json!({
        "issuer": format!("{url}/{issuer}/v2.0"),
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/keys"),
    }))
}

async fn google_discovery(state: web::Data<Arc<IdpState>>) -> HttpResponse {
    let url = state.url.lock().unwrap().clone();
    HttpResponse::Ok().json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/keys"),
    }))
}

async fn keys(state: web::Data<Arc<IdpState>>) -> HttpResponse {
    state.key_fetches.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().json(json!({ "keys": *state.keys.lock().unwrap() }))
}

async fn token(state: web::Data<Arc<IdpState>>, body: web::Bytes) -> HttpResponse {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    state.token_requests.lock().unwrap().push(form.clone());
    let client_ok = form
        .get("client_secret")
        .is_some_and(|s| s == CLIENT_SECRET || s == "google-secret");
    if !client_ok || !form.contains_key("code_verifier") {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let code = form.get("code").cloned().unwrap_or_default();
    match state.tokens.lock().unwrap().remove(&code) {
        Some(id_token) => HttpResponse::Ok().json(json!({
            "token_type": "Bearer", "expires_in": 3600, "access_token": "at", "id_token": id_token,
        })),
        None => HttpResponse::BadRequest().json(json!({"error": "invalid_grant"})),
    }
}

impl Idp {
    async fn start() -> Idp {
        let state = Arc::new(IdpState::default());
        let key = TestKey::new("key-1");
        state.keys.lock().unwrap().push(key.jwk());
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(google_discovery),
                )
                .route(
                    "/{tenant}/v2.0/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/keys", web::get().to(keys))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        let url = format!("http://127.0.0.1:{port}");
        *state.url.lock().unwrap() = url.clone();
        Idp { url, state, key }
    }

    fn key_fetches(&self) -> usize {
        self.state.key_fetches.load(Ordering::SeqCst)
    }

    /// Publishes only `key` from now on, as a provider that rotated its signing key.
    fn rotate_to(&self, key: &TestKey) {
        *self.state.keys.lock().unwrap() = vec![key.jwk()];
    }

    /// Entra's claims for an account in `tenant`.
    fn entra(&self, tenant: &str, oid: &str, email: &str, nonce: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": format!("{}/{tenant}/v2.0", self.url),
            "aud": CLIENT_ID,
            "sub": format!("pairwise-{oid}"),
            "tid": tenant,
            "oid": oid,
            "email": email,
            "name": "Ann Entra",
            "nonce": nonce,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        })
    }
}

async fn app_with(idp: &Idp, tenant: &'static str, admin_emails: Vec<String>) -> TestApp {
    spawn_app_with(Options {
        platform_env: vec![
            ("MICROSOFT_CLIENT_ID", CLIENT_ID),
            ("MICROSOFT_CLIENT_SECRET", CLIENT_SECRET),
            ("MICROSOFT_TENANT_ID", tenant),
            ("GOOGLE_SIGNIN_CLIENT_ID", "google-client"),
            ("GOOGLE_SIGNIN_CLIENT_SECRET", "google-secret"),
        ],
        admin_emails,
        sso: api::config::SsoSettings {
            microsoft_base: Some(Url::parse(&idp.url).unwrap()),
            google_base: Some(Url::parse(&idp.url).unwrap()),
        },
        ..Default::default()
    })
    .await
}

/// A browser of its own: its own cookies, no redirects followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

fn location(response: &reqwest::Response) -> Url {
    let text = response.headers()["location"].to_str().unwrap();
    Url::parse(text).unwrap_or_else(|_| {
        Url::parse("http://spa.invalid")
            .unwrap()
            .join(text)
            .unwrap()
    })
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A started sign-in: the state and nonce Plugboard sent to the provider.
struct Started {
    state: String,
    nonce: String,
    authorize: Url,
}

async fn start(app: &TestApp, browser: &reqwest::Client, provider: &str) -> Started {
    let response = browser
        .get(app.url(&format!("/api/v1/auth/sso/{provider}/start?next=/platform")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let authorize = location(&response);
    assert_eq!(param(&authorize, "code_challenge_method"), "S256");
    assert_eq!(param(&authorize, "response_type"), "code");
    assert!(param(&authorize, "scope").split(' ').any(|s| s == "openid"));
    assert!(!authorize.as_str().contains(CLIENT_SECRET));
    Started {
        state: param(&authorize, "state"),
        nonce: param(&authorize, "nonce"),
        authorize,
    }
}

/// The provider answers the browser with a code that the token endpoint trades for `id_token`.
async fn finish(
    app: &TestApp,
    browser: &reqwest::Client,
    idp: &Idp,
    provider: &str,
    state: &str,
    id_token: String,
) -> reqwest::Response {
    let code = uuid::Uuid::new_v4().simple().to_string();
    idp.state
        .tokens
        .lock()
        .unwrap()
        .insert(code.clone(), id_token);
    browser
        .get(app.url(&format!(
            "/api/v1/auth/sso/{provider}/callback?code={code}&state={}",
            urlencode(state)
        )))
        .send()
        .await
        .unwrap()
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The access token the browser's refresh cookie gives, if it holds one.
async fn refreshed(app: &TestApp, browser: &reqwest::Client) -> Option<String> {
    let response = browser
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().map(str::to_owned)
}

async fn me(app: &TestApp, token: &str) -> Value {
    json_body(app.get("/api/v1/me", token).await, 200).await
}

/// Signs in through the loopback Entra with a good token; the session's access token.
async fn sign_in(app: &TestApp, idp: &Idp, oid: &str, email: &str) -> (reqwest::Client, String) {
    let browser = browser();
    let started = start(app, &browser, "microsoft").await;
    let token = idp.key.sign(&idp.entra(TENANT, oid, email, &started.nonce));
    let response = finish(app, &browser, idp, "microsoft", &started.state, token).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response).path(), "/platform");
    let access = refreshed(app, &browser).await.expect("signed in");
    (browser, access)
}

#[tokio::test]
async fn the_sandbox_foreign_persona_cannot_take_over_the_admins_account() {
    let admin_email = format!("admin-{}@brand.example", uuid::Uuid::new_v4().simple());
    let app = spawn_app_with(Options {
        sandbox: true,
        admin_emails: vec![admin_email.clone()],
        ..Default::default()
    })
    .await;
    let admin = app.signup_as("Pat Admin", &admin_email).await;
    let listed = json_body(
        app.request(Method::GET, "/api/v1/auth/sso", None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(listed["providers"][0]["id"], "microsoft");
    assert_eq!(listed["providers"][1]["id"], "google");

    // Through the sandbox's own pages, as a browser goes.
    let persona = |who: &'static str| {
        let app = &app;
        async move {
            let browser = browser();
            let started = start(app, &browser, "microsoft").await;
            let page = browser.get(started.authorize.clone()).send().await.unwrap();
            assert_eq!(page.status(), 200);
            assert!(page.text().await.unwrap().contains(r#"value="foreign""#));
            let approved = browser
                .post(started.authorize.clone())
                .form(&[("persona", who)])
                .send()
                .await
                .unwrap();
            assert_eq!(approved.status(), 302);
            let back = browser.get(location(&approved)).send().await.unwrap();
            assert_eq!(back.status(), 303);
            (browser, location(&back))
        }
    };

    let (browser, landing) = persona("foreign").await;
    assert_eq!(landing.path(), "/login");
    assert_eq!(param(&landing, "error"), "sso_email_unverified");
    assert!(
        refreshed(&app, &browser).await.is_none(),
        "no session for the foreign persona"
    );
    assert!(
        domain::sso::SsoFailure::EmailUnverified
            .sentence()
            .contains("Sign in with your password")
    );
    // Nothing was linked to the admin's account.
    let mine = json_body(app.get("/api/v1/me/identities", &admin.token).await, 200).await;
    assert_eq!(mine["data"], json!([]));

    // The admin persona (the configured tenant, verified) reaches the admin's account.
    let (browser, landing) = persona("admin").await;
    assert_eq!(landing.path(), "/platform");
    let token = refreshed(&app, &browser).await.expect("signed in");
    let who = me(&app, &token).await;
    assert_eq!(who["user"]["id"], admin.id.as_str());
    assert_eq!(who["platform_admin"], true);

    // A new member gets an account of their own, with no password.
    let (browser, _) = persona("member").await;
    let token = refreshed(&app, &browser).await.expect("signed in");
    let who = me(&app, &token).await;
    assert_eq!(who["user"]["email"], "nora@brand.example");
    assert_eq!(who["platform_admin"], false);
    assert_eq!(who["has_password"], false);
    let refused = problem(
        app.request(
            Method::PUT,
            "/api/v1/me/password",
            Some(&token),
            Some(json!({"current_password": "", "new_password": "a new and long password"})),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "current_password");
    let login = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "nora@brand.example", "password": ""})),
        )
        .await;
    problem(login, 401).await;

    // The sandbox rotates its signing key: the next sign-in still works.
    let rotated = self::browser()
        .post(app.url("/sandbox/sso/_rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 204);
    let (browser, landing) = persona("admin").await;
    assert_eq!(landing.path(), "/platform");
    assert!(refreshed(&app, &browser).await.is_some());
}

#[tokio::test]
async fn id_tokens_failing_a_check_are_refused_and_a_state_works_once() {
    let idp = Idp::start().await;
    let app = app_with(&idp, TENANT, Vec::new()).await;
    let stranger = TestKey::new("key-1");
    let now = chrono::Utc::now().timestamp();
    type Spoil<'a> = Box<dyn Fn(&Idp, &str) -> String + 'a>;
    let cases: Vec<(&str, Spoil)> = vec![
        (
            "bad signature",
            Box::new(|idp, nonce| stranger.sign(&idp.entra(TENANT, "o1", "a@b.example", nonce))),
        ),
        (
            "another audience",
            Box::new(|idp, nonce| {
                let mut c = idp.entra(TENANT, "o1", "a@b.example", nonce);
                c["aud"] = json!("someone-elses-app");
                idp.key.sign(&c)
            }),
        ),
        (
            "another issuer",
            Box::new(|idp, nonce| {
                let mut c = idp.entra(TENANT, "o1", "a@b.example", nonce);
                c["iss"] = json!(format!("https://evil.example/{TENANT}/v2.0"));
                idp.key.sign(&c)
            }),
        ),
        (
            "another tenant",
            Box::new(|idp, nonce| {
                idp.key
                    .sign(&idp.entra(OTHER_TENANT, "o1", "a@b.example", nonce))
            }),
        ),
        (
            "issuer of another tenant",
            Box::new(|idp, nonce| {
                let mut c = idp.entra(TENANT, "o1", "a@b.example", nonce);
                c["iss"] = json!(format!("{}/{OTHER_TENANT}/v2.0", idp.url));
                idp.key.sign(&c)
            }),
        ),
        (
            "wrong nonce",
            Box::new(|idp, _| {
                idp.key
                    .sign(&idp.entra(TENANT, "o1", "a@b.example", "not-the-nonce"))
            }),
        ),
        (
            "no nonce",
            Box::new(|idp, nonce| {
                let mut c = idp.entra(TENANT, "o1", "a@b.example", nonce);
                c.as_object_mut().unwrap().remove("nonce");
                idp.key.sign(&c)
            }),
        ),
        (
            "expired",
            Box::new(move |idp, nonce| {
                let mut c = idp.entra(TENANT, "o1", "a@b.example", nonce);
                c["exp"] = json!(now - 3600);
                c["iat"] = json!(now - 7200);
                idp.key.sign(&c)
            }),
        ),
        (
            "symmetric algorithm",
            Box::new(|idp, nonce| {
                let claims = idp.entra(TENANT, "o1", "a@b.example", nonce);
                let header =
                    URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "kid": "key-1"}).to_string());
                format!(
                    "{header}.{}.AAAA",
                    URL_SAFE_NO_PAD.encode(claims.to_string())
                )
            }),
        ),
    ];
    for (case, spoil) in &cases {
        let browser = browser();
        let started = start(&app, &browser, "microsoft").await;
        let response = finish(
            &app,
            &browser,
            &idp,
            "microsoft",
            &started.state,
            spoil(&idp, &started.nonce),
        )
        .await;
        assert_eq!(response.status(), 303, "{case}");
        let landing = location(&response);
        assert_eq!(
            (landing.path(), param(&landing, "error").as_str()),
            ("/login", "sso_invalid_token"),
            "{case}"
        );
        assert!(
            refreshed(&app, &browser).await.is_none(),
            "{case}: no session"
        );
    }
    // The client proved itself with its secret and the PKCE verifier every time.
    assert!(
        idp.state
            .token_requests
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.contains_key("code_verifier"))
    );

    // A good token signs in; the same state again is refused, as is the first sign-in's
    // nonce on a new state.
    let browser = browser();
    let started = start(&app, &browser, "microsoft").await;
    let good = idp
        .key
        .sign(&idp.entra(TENANT, "o1", "a@b.example", &started.nonce));
    let response = finish(
        &app,
        &browser,
        &idp,
        "microsoft",
        &started.state,
        good.clone(),
    )
    .await;
    assert_eq!(location(&response).path(), "/platform");
    let replay = finish(
        &app,
        &browser,
        &idp,
        "microsoft",
        &started.state,
        good.clone(),
    )
    .await;
    assert_eq!(param(&location(&replay), "error"), "sso_invalid_state");
    let again = start(&app, &browser, "microsoft").await;
    let reused = finish(&app, &browser, &idp, "microsoft", &again.state, good).await;
    assert_eq!(param(&location(&reused), "error"), "sso_invalid_token");

    // A state started in another browser does not finish in this one.
    let elsewhere = start(&app, &self::browser(), "microsoft").await;
    let token = idp
        .key
        .sign(&idp.entra(TENANT, "o1", "a@b.example", &elsewhere.nonce));
    let crossed = finish(&app, &browser, &idp, "microsoft", &elsewhere.state, token).await;
    assert_eq!(param(&location(&crossed), "error"), "sso_browser_mismatch");
    // Nor does a forged one, or a landing off this site.
    let forged = finish(&app, &browser, &idp, "microsoft", "made.up", "x".into()).await;
    assert_eq!(param(&location(&forged), "error"), "sso_invalid_state");
    let off_site = browser
        .get(app.url("/api/v1/auth/sso/microsoft/start?next=//evil.example/"))
        .send()
        .await
        .unwrap();
    let off = param(&location(&off_site), "state");
    let nonce = param(&location(&off_site), "nonce");
    let token = idp
        .key
        .sign(&idp.entra(TENANT, "o1", "a@b.example", &nonce));
    assert_eq!(
        location(&finish(&app, &browser, &idp, "microsoft", &off, token).await).path(),
        "/"
    );
    // Secrets never reach the log.
    assert!(!app.logs.contains(CLIENT_SECRET));
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_once() {
    let idp = Idp::start().await;
    let app = app_with(&idp, TENANT, Vec::new()).await;
    sign_in(&app, &idp, "o-rotate", "rot@b.example").await;
    assert_eq!(idp.key_fetches(), 1);
    sign_in(&app, &idp, "o-rotate", "rot@b.example").await;
    assert_eq!(idp.key_fetches(), 1, "the key set is kept");

    let next = TestKey::new("key-2");
    idp.rotate_to(&next);
    let browser = browser();
    let started = start(&app, &browser, "microsoft").await;
    let token = next.sign(&idp.entra(TENANT, "o-rotate", "rot@b.example", &started.nonce));
    let response = finish(&app, &browser, &idp, "microsoft", &started.state, token).await;
    assert_eq!(location(&response).path(), "/platform");
    assert_eq!(idp.key_fetches(), 2, "exactly one fetch for the new key");

    // A token naming a key nobody published does not make Plugboard fetch again right away.
    let started = start(&app, &browser, "microsoft").await;
    let token = next.sign_as(
        "made-up",
        &idp.entra(TENANT, "o-rotate", "rot@b.example", &started.nonce),
    );
    let response = finish(&app, &browser, &idp, "microsoft", &started.state, token).await;
    assert_eq!(param(&location(&response), "error"), "sso_invalid_token");
    assert_eq!(idp.key_fetches(), 2);
    assert_eq!(idp.state.discovery_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_address_from_another_tenant_never_links_or_grants_admin() {
    let idp = Idp::start().await;
    let admin_email = format!("boss-{}@brand.example", uuid::Uuid::new_v4().simple());
    // A multi-tenant app: any tenant may sign in, and only xms_edov vouches for an address.
    let app = app_with(&idp, "organizations", vec![admin_email.clone()]).await;
    let admin = app.signup_as("Boss", &admin_email).await;
    let browser = browser();
    let started = start(&app, &browser, "microsoft").await;
    let token = idp
        .key
        .sign(&idp.entra(OTHER_TENANT, "o-intruder", &admin_email, &started.nonce));
    let response = finish(&app, &browser, &idp, "microsoft", &started.state, token).await;
    assert_eq!(param(&location(&response), "error"), "sso_email_unverified");
    assert!(refreshed(&app, &browser).await.is_none());

    // With xms_edov the tenant owns the address's domain: it links.
    let started = start(&app, &browser, "microsoft").await;
    let mut claims = idp.entra(OTHER_TENANT, "o-owner", &admin_email, &started.nonce);
    claims["xms_edov"] = json!(true);
    let response = finish(
        &app,
        &browser,
        &idp,
        "microsoft",
        &started.state,
        idp.key.sign(&claims),
    )
    .await;
    assert_eq!(location(&response).path(), "/platform");
    let token = refreshed(&app, &browser).await.unwrap();
    assert_eq!(me(&app, &token).await["user"]["id"], admin.id.as_str());
}

async fn start_link(
    app: &TestApp,
    browser: &reqwest::Client,
    token: &str,
    provider: &str,
) -> Started {
    let response = browser
        .post(app.url("/api/v1/me/identities"))
        .bearer_auth(token)
        .json(&json!({ "provider": provider }))
        .send()
        .await
        .unwrap();
    let body = json_body(response, 200).await;
    let authorize = Url::parse(body["authorization_url"].as_str().unwrap()).unwrap();
    Started {
        state: param(&authorize, "state"),
        nonce: param(&authorize, "nonce"),
        authorize,
    }
}

#[tokio::test]
async fn identities_link_and_unlink_but_never_the_last_way_in() {
    let idp = Idp::start().await;
    let app = app_with(&idp, TENANT, Vec::new()).await;

    // Someone who signed up with a password links Microsoft, then signs in with it.
    let ann = app.signup("ann").await;
    let browser = browser();
    let started = start_link(&app, &browser, &ann.token, "microsoft").await;
    // Any address will do, verified or not: the person proved both ends.
    let token = idp
        .key
        .sign(&idp.entra(TENANT, "o-ann", "ann@elsewhere.example", &started.nonce));
    let response = finish(&app, &browser, &idp, "microsoft", &started.state, token).await;
    let landing = location(&response);
    assert_eq!(
        (landing.path(), landing.query()),
        ("/account", Some("linked=microsoft"))
    );
    let listed = json_body(app.get("/api/v1/me/identities", &ann.token).await, 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["provider"], "microsoft");
    assert_eq!(listed["data"][0]["tenant_id"], TENANT);
    let identity = listed["data"][0]["id"].as_str().unwrap().to_owned();

    // Another user cannot link the same identity.
    let bob = app.signup("bob").await;
    let started = start_link(&app, &browser, &bob.token, "microsoft").await;
    let token = idp
        .key
        .sign(&idp.entra(TENANT, "o-ann", "ann@elsewhere.example", &started.nonce));
    let response = finish(&app, &browser, &idp, "microsoft", &started.state, token).await;
    assert_eq!(param(&location(&response), "error"), "sso_identity_taken");
    assert_eq!(location(&response).path(), "/account");

    // Ann has a password, so her only identity may go.
    let gone = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/identities/{identity}"),
            Some(&ann.token),
            None,
        )
        .await;
    assert_eq!(gone.status(), 204);

    // Someone who arrived by Microsoft has no password: their last identity stays.
    let (_, cara) = sign_in(&app, &idp, "o-cara", "cara@brand.example").await;
    let listed = json_body(app.get("/api/v1/me/identities", &cara).await, 200).await;
    let first = listed["data"][0]["id"].as_str().unwrap().to_owned();
    let refused = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/identities/{first}"),
            Some(&cara),
            None,
        )
        .await;
    assert_eq!(problem(refused, 409).await["code"], "last_sign_in_method");

    // With Google linked as well, either may go, but not both.
    let started = start_link(&app, &browser, &cara, "google").await;
    let now = chrono::Utc::now().timestamp();
    let google = json!({
        "iss": idp.url, "aud": "google-client", "sub": "1077", "email": "cara@gmail.example",
        "email_verified": true, "nonce": started.nonce, "iat": now, "exp": now + 600,
    });
    let response = finish(
        &app,
        &browser,
        &idp,
        "google",
        &started.state,
        idp.key.sign(&google),
    )
    .await;
    assert_eq!(location(&response).query(), Some("linked=google"));
    let gone = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/identities/{first}"),
            Some(&cara),
            None,
        )
        .await;
    assert_eq!(gone.status(), 204);
    let listed = json_body(app.get("/api/v1/me/identities", &cara).await, 200).await;
    assert_eq!(listed["data"][0]["provider"], "google");
    let last = listed["data"][0]["id"].as_str().unwrap().to_owned();
    let refused = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/identities/{last}"),
            Some(&cara),
            None,
        )
        .await;
    problem(refused, 409).await;
}

#[tokio::test]
async fn one_user_cannot_see_or_unlink_anothers_identity() {
    let idp = Idp::start().await;
    let app = app_with(&idp, TENANT, Vec::new()).await;
    let (_, dana) = sign_in(&app, &idp, "o-dana", "dana@brand.example").await;
    let listed = json_body(app.get("/api/v1/me/identities", &dana).await, 200).await;
    let hers = listed["data"][0]["id"].as_str().unwrap().to_owned();

    let eve = app.signup("eve").await;
    let mine = json_body(app.get("/api/v1/me/identities", &eve.token).await, 200).await;
    assert_eq!(mine["data"], json!([]));
    let attempt = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/identities/{hers}"),
            Some(&eve.token),
            None,
        )
        .await;
    problem(attempt, 404).await;
    let still = json_body(app.get("/api/v1/me/identities", &dana).await, 200).await;
    assert_eq!(still["data"].as_array().unwrap().len(), 1);
    let unknown = app
        .request(
            Method::DELETE,
            "/api/v1/me/identities/not-a-uuid",
            Some(&eve.token),
            None,
        )
        .await;
    problem(unknown, 404).await;
    let anonymous = app
        .request(Method::GET, "/api/v1/me/identities", None, None)
        .await;
    problem(anonymous, 401).await;
}

#[tokio::test]
async fn without_variables_nothing_is_offered_and_readiness_checks_the_tenant() {
    let app = spawn_app_with(Options::default()).await;
    let listed = json_body(
        app.request(Method::GET, "/api/v1/auth/sso", None, None)
            .await,
        200,
    )
    .await;
    assert_eq!(listed["providers"], json!([]));
    let start = app
        .request(Method::GET, "/api/v1/auth/sso/microsoft/start", None, None)
        .await;
    problem(start, 404).await;
    let unknown = app
        .request(Method::GET, "/api/v1/auth/sso/github/start", None, None)
        .await;
    problem(unknown, 404).await;

    // Configured and reachable: ready, with the redirect URI to register.
    let idp = Idp::start().await;
    let admin = format!("ops-{}@example.com", uuid::Uuid::new_v4().simple());
    let app = app_with(&idp, TENANT, vec![admin.clone()]).await;
    let ops = app.signup_as("Ops", &admin).await;
    let item = |body: &Value, key: &str| {
        body["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == key)
            .unwrap()
            .clone()
    };
    let body = json_body(app.get("/api/v1/platform/readiness", &ops.token).await, 200).await;
    for provider in ["microsoft", "google"] {
        let checked = item(&body, &format!("{provider}_sign_in"));
        assert_eq!(checked["status"], "ready", "{checked}");
        let callback = app.url(&format!("/api/v1/auth/sso/{provider}/callback"));
        assert!(
            checked["notes"].as_str().unwrap().contains(&callback),
            "{checked}"
        );
    }

    // The tenant's discovery gone: not ready, said in a sentence, and no crash.
    let down = spawn_app_with(Options {
        platform_env: vec![
            ("MICROSOFT_CLIENT_ID", CLIENT_ID),
            ("MICROSOFT_CLIENT_SECRET", CLIENT_SECRET),
            ("MICROSOFT_TENANT_ID", TENANT),
            ("GOOGLE_SIGNIN_CLIENT_ID", "google-client"),
            ("GOOGLE_SIGNIN_CLIENT_SECRET", "google-secret"),
        ],
        admin_emails: vec![admin.clone()],
        sso: api::config::SsoSettings {
            microsoft_base: Some(Url::parse("http://127.0.0.1:9").unwrap()),
            google_base: Some(Url::parse("http://127.0.0.1:9").unwrap()),
        },
        ..Default::default()
    })
    .await;
    let ops = down.signup_as("Ops", &admin).await;
    let body = json_body(
        down.get("/api/v1/platform/readiness", &ops.token).await,
        200,
    )
    .await;
    for key in ["microsoft_sign_in", "google_sign_in"] {
        let checked = item(&body, key);
        assert_eq!(checked["status"], "partial");
        assert!(
            checked["notes"]
                .as_str()
                .unwrap()
                .contains("Sign-in does not work yet"),
            "{checked}"
        );
    }
    assert!(
        item(&body, "microsoft_sign_in")["notes"]
            .as_str()
            .unwrap()
            .contains("Check MICROSOFT_TENANT_ID."),
    );
    // A sign-in meanwhile lands on the log-in page with a sentence's code.
    let response = browser()
        .get(down.url("/api/v1/auth/sso/microsoft/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&response), "error"),
        "sso_provider_unavailable"
    );
}

#[tokio::test]
async fn sign_ins_with_one_identity_are_throttled_like_log_ins() {
    let idp = Idp::start().await;
    let app = app_with(&idp, TENANT, Vec::new()).await;
    // The log-in allowance for one account: five at once.
    for _ in 0..5 {
        sign_in(&app, &idp, "o-eager", "eager@brand.example").await;
    }
    let browser = browser();
    let started = start(&app, &browser, "microsoft").await;
    let token = idp
        .key
        .sign(&idp.entra(TENANT, "o-eager", "eager@brand.example", &started.nonce));
    let response = finish(&app, &browser, &idp, "microsoft", &started.state, token).await;
    assert_eq!(param(&location(&response), "error"), "sso_throttled");
    assert!(refreshed(&app, &browser).await.is_none());
    // Another person is not held back by it.
    sign_in(&app, &idp, "o-calm", "calm@brand.example").await;
}
