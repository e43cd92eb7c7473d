//! The sandbox plays the two identity providers people sign in with — Microsoft Entra and
//! Google — under `/sandbox/sso/…`: discovery documents, a key set, an authorize page with a
//! button per persona, and a token endpoint answering ES256-signed ID tokens. The signing key is
//! made at start; `POST /sandbox/sso/_rotate` replaces it, as a provider rotating its keys does.
//!
//! Personas: `member` (the configured tenant, `nora@brand.example`, verified), `admin` (the
//! configured tenant, the first platform admin's address, verified) and `foreign` (another
//! tenant naming the admin's address in `email`, unverified: the "nOAuth" attempt).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::{Sandbox, page, query_of};

/// The tenant the sandbox's Entra plays when `MICROSOFT_TENANT_ID` is not set.
pub const HOME_TENANT: &str = "5a9d9e5c-1b7e-4c33-9d51-5a4d6e0c7b21";
/// The tenant the `foreign` persona comes from.
pub const FOREIGN_TENANT: &str = "c0ffee00-0bad-4bad-8bad-00000000f0e1";
/// The `member` persona's address.
pub const MEMBER_EMAIL: &str = "nora@brand.example";

const CODE_LIFETIME: Duration = Duration::from_secs(120);

/// The identity providers the sandbox plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Idp {
    Microsoft,
    Google,
}

impl Idp {
    fn parse(text: &str) -> Option<Idp> {
        match text {
            "microsoft" => Some(Idp::Microsoft),
            "google" => Some(Idp::Google),
            _ => None,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Idp::Microsoft => "microsoft",
            Idp::Google => "google",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Idp::Microsoft => "Microsoft",
            Idp::Google => "Google",
        }
    }

    fn client_env(self) -> (&'static str, &'static str) {
        match self {
            Idp::Microsoft => ("MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"),
            Idp::Google => ("GOOGLE_SIGNIN_CLIENT_ID", "GOOGLE_SIGNIN_CLIENT_SECRET"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Persona {
    Member,
    Admin,
    Foreign,
}

impl Persona {
    const ALL: [(Persona, &'static str, &'static str); 3] = [
        (
            Persona::Member,
            "member",
            "Nora (member of the brand's tenant)",
        ),
        (Persona::Admin, "admin", "The platform admin (same tenant)"),
        (
            Persona::Foreign,
            "foreign",
            "Someone in another tenant using the admin's address (unverified)",
        ),
    ];

    fn parse(text: &str) -> Option<Persona> {
        Persona::ALL
            .iter()
            .find(|(_, id, _)| *id == text)
            .map(|(p, _, _)| *p)
    }
}

/// A signing key: ES256 (P-256), which OpenID Connect allows and `ring` makes at run time.
struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl SigningKey {
    fn generate() -> Option<SigningKey> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).ok()?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .ok()?;
        let mut id = [0u8; 12];
        rng.fill(&mut id).ok()?;
        Some(SigningKey {
            kid: format!("sandbox-{}", URL_SAFE_NO_PAD.encode(id)),
            pair,
        })
    }

    fn jwk(&self) -> Value {
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = self.pair.public_key().as_ref();
        let (x, y) = point
            .get(1..)
            .unwrap_or_default()
            .split_at(32.min(point.len().saturating_sub(1)));
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        })
    }

    fn sign(&self, claims: &Value) -> Option<String> {
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": self.kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .ok()?;
        Some(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// An approved authorization waiting for its code to be redeemed.
struct Pending {
    idp: Idp,
    persona: Persona,
    tenant: String,
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: String,
    issued: Instant,
}

/// The identity providers' keys and codes.
pub struct Idps {
    key: Mutex<Option<SigningKey>>,
    codes: Mutex<HashMap<String, Pending>>,
}

impl Idps {
    pub fn new() -> Idps {
        Idps {
            key: Mutex::new(SigningKey::generate()),
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the signing key: tokens from now on name a key id Plugboard has not seen.
    pub fn rotate(&self) {
        *self.key.lock().unwrap_or_else(PoisonError::into_inner) = SigningKey::generate();
    }
}

impl Default for Idps {
    fn default() -> Self {
        Idps::new()
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/sandbox/sso/microsoft/{tenant}/v2.0/.well-known/openid-configuration",
        web::get().to(microsoft_discovery),
    )
    .route(
        "/sandbox/sso/google/.well-known/openid-configuration",
        web::get().to(google_discovery),
    )
    .route("/sandbox/sso/_rotate", web::post().to(rotate))
    .route("/sandbox/sso/{idp}/keys", web::get().to(keys))
    .route(
        "/sandbox/sso/{idp}/{tenant}/authorize",
        web::get().to(authorize),
    )
    .route(
        "/sandbox/sso/{idp}/{tenant}/authorize",
        web::post().to(authorize),
    )
    .route("/sandbox/sso/{idp}/{tenant}/token", web::post().to(token));
}

fn base(sandbox: &Sandbox) -> String {
    let mut url = sandbox.config.public_url.clone();
    url.set_path("/sandbox/sso");
    url.set_query(None);
    url.to_string().trim_end_matches('/').to_owned()
}

/// The tenant the sandbox's Entra treats as the brand's own.
fn home_tenant(sandbox: &Sandbox) -> String {
    sandbox
        .env("MICROSOFT_TENANT_ID")
        .map(|t| t.expose_secret().to_owned())
        .filter(|t| domain::sso::is_specific_tenant(t))
        .unwrap_or_else(|| HOME_TENANT.to_owned())
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

async fn microsoft_discovery(sandbox: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    let tenant = path.into_inner();
    let base = base(&sandbox);
    // Played as a multi-tenant app registration: people of other tenants can sign in too (the
    // `foreign` persona), so the issuer carries Entra's `{tenantid}` placeholder.
    let issuer_tenant = "{tenantid}";
    HttpResponse::Ok().json(json!({
        "issuer": format!("{base}/microsoft/{issuer_tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/microsoft/{tenant}/authorize"),
        "token_endpoint": format!("{base}/microsoft/{tenant}/token"),
        "jwks_uri": format!("{base}/microsoft/keys"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "profile", "email"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn google_discovery(sandbox: web::Data<Sandbox>) -> HttpResponse {
    let base = base(&sandbox);
    HttpResponse::Ok().json(json!({
        "issuer": format!("{base}/google"),
        "authorization_endpoint": format!("{base}/google/-/authorize"),
        "token_endpoint": format!("{base}/google/-/token"),
        "jwks_uri": format!("{base}/google/keys"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "email", "profile"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn keys(sandbox: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    if Idp::parse(&path).is_none() {
        return HttpResponse::NotFound().finish();
    }
    let key = sandbox
        .idps
        .key
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let keys: Vec<Value> = key.iter().map(SigningKey::jwk).collect();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

async fn rotate(sandbox: web::Data<Sandbox>) -> HttpResponse {
    sandbox.idps.rotate();
    tracing::info!("sandbox identity providers rotated their signing key");
    HttpResponse::NoContent().finish()
}

/// The authorize request's checks, as the provider makes them before showing anything.
fn check_authorize(
    sandbox: &Sandbox,
    idp: Idp,
    query: &BTreeMap<String, String>,
) -> Result<(String, String), String> {
    let (client_env, _) = idp.client_env();
    let expected = sandbox
        .env(client_env)
        .ok_or_else(|| format!("{client_env} is not set, so no app can sign people in."))?;
    let client_id = query
        .get("client_id")
        .ok_or("The request names no client_id.")?;
    if client_id != expected.expose_secret() {
        return Err(format!("client_id is not the app's; check {client_env}."));
    }
    let mut registered = sandbox.config.public_url.clone();
    registered.set_path(&format!("/api/v1/auth/sso/{}/callback", idp.id()));
    registered.set_query(None);
    let redirect_uri = query
        .get("redirect_uri")
        .ok_or("The request names no redirect_uri.")?;
    if *redirect_uri != registered.as_str() {
        return Err(format!(
            "redirect_uri {redirect_uri} is not registered for this app; it must be {registered}."
        ));
    }
    if query.get("response_type").map(String::as_str) != Some("code") {
        return Err("response_type must be code.".into());
    }
    if !query
        .get("scope")
        .is_some_and(|s| s.split(' ').any(|s| s == "openid"))
    {
        return Err("scope must include openid.".into());
    }
    if query.get("state").is_none_or(String::is_empty) {
        return Err("The request carries no state.".into());
    }
    if query.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return Err("A PKCE code_challenge with method S256 is required.".into());
    }
    let challenge = query
        .get("code_challenge")
        .ok_or("The request carries no code_challenge.")?;
    Ok((client_id.clone(), challenge.clone()))
}

async fn authorize(
    sandbox: web::Data<Sandbox>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (idp, tenant) = path.into_inner();
    let Some(idp) = Idp::parse(&idp) else {
        return HttpResponse::NotFound().finish();
    };
    let query = query_of(&request);
    let (client_id, challenge) = match check_authorize(&sandbox, idp, &query) {
        Ok(checked) => checked,
        Err(problem) => return no_store(page::sign_in_refused(idp.name(), &problem)),
    };
    if request.method() == actix_web::http::Method::GET {
        let action = request
            .uri()
            .path_and_query()
            .map_or_else(|| request.path().to_owned(), |pq| pq.as_str().to_owned());
        let personas: Vec<(&str, &str)> = Persona::ALL
            .iter()
            .map(|(_, id, label)| (*id, *label))
            .collect();
        return no_store(page::sign_in(idp.name(), &action, &personas));
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let redirect_uri = query.get("redirect_uri").cloned().unwrap_or_default();
    let state = query.get("state").cloned().unwrap_or_default();
    let mut back = match url::Url::parse(&redirect_uri) {
        Ok(url) => url,
        Err(_) => {
            return no_store(page::sign_in_refused(
                idp.name(),
                "redirect_uri is not a URL.",
            ));
        }
    };
    let Some(persona) = form.get("persona").and_then(|p| Persona::parse(p)) else {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user cancelled the sign-in.")
            .append_pair("state", &state);
        return found(back.as_str());
    };
    let mut code = [0u8; 24];
    if SystemRandom::new().fill(&mut code).is_err() {
        return HttpResponse::InternalServerError().finish();
    }
    let code = URL_SAFE_NO_PAD.encode(code);
    let tenant = match (idp, persona) {
        (Idp::Microsoft, Persona::Foreign) => FOREIGN_TENANT.to_owned(),
        (Idp::Microsoft, _) if domain::sso::is_specific_tenant(&tenant) => tenant,
        (Idp::Microsoft, _) => home_tenant(&sandbox),
        (Idp::Google, _) => String::new(),
    };
    let mut codes = sandbox
        .idps
        .codes
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    codes.retain(|_, p| p.issued.elapsed() < CODE_LIFETIME);
    codes.insert(
        code.clone(),
        Pending {
            idp,
            persona,
            tenant,
            client_id,
            redirect_uri,
            nonce: query.get("nonce").cloned(),
            code_challenge: challenge,
            issued: Instant::now(),
        },
    );
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    found(back.as_str())
}

fn found(location: &str) -> HttpResponse {
    no_store(
        HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish(),
    )
}

fn token_error(error: &str, description: &str) -> HttpResponse {
    let status = if error == "invalid_client" { 401 } else { 400 };
    no_store(
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
            .json(json!({ "error": error, "error_description": description })),
    )
}

async fn token(
    sandbox: web::Data<Sandbox>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let Some(idp) = Idp::parse(&path.0) else {
        return HttpResponse::NotFound().finish();
    };
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let (id_env, secret_env) = idp.client_env();
    let matches = |name: &str, given: Option<&String>| {
        sandbox
            .env(name)
            .zip(given)
            .is_some_and(|(expected, given)| expected.expose_secret() == given)
    };
    if !matches(id_env, form.get("client_id")) || !matches(secret_env, form.get("client_secret")) {
        return token_error(
            "invalid_client",
            "The client id or secret is not the app's.",
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error("unsupported_grant_type", "Use authorization_code.");
    }
    // Single use: the code is gone whatever happens next.
    let pending = form.get("code").and_then(|code| {
        sandbox
            .idps
            .codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(code)
    });
    let Some(pending) = pending.filter(|p| p.idp == idp && p.issued.elapsed() < CODE_LIFETIME)
    else {
        return token_error(
            "invalid_grant",
            "The code is invalid, expired or already used.",
        );
    };
    if form.get("redirect_uri") != Some(&pending.redirect_uri)
        || form.get("client_id") != Some(&pending.client_id)
    {
        return token_error(
            "invalid_grant",
            "redirect_uri differs from the authorization request's.",
        );
    }
    let verifier = form
        .get("code_verifier")
        .map(String::as_str)
        .unwrap_or_default();
    let computed = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    if computed != pending.code_challenge {
        return token_error(
            "invalid_grant",
            "code_verifier does not match the code_challenge.",
        );
    }
    let claims = id_claims(&sandbox, &pending);
    let signed = sandbox
        .idps
        .key
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|key| key.sign(&claims));
    let Some(id_token) = signed else {
        return HttpResponse::InternalServerError().finish();
    };
    no_store(HttpResponse::Ok().json(json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "openid email profile",
        "access_token": format!("sandbox-{}-access", idp.id()),
        "id_token": id_token,
    })))
}

fn id_claims(sandbox: &Sandbox, pending: &Pending) -> Value {
    let admin = sandbox
        .config
        .admin_emails
        .first()
        .cloned()
        .unwrap_or_else(|| "admin@brand.example".to_owned());
    let (email, name, object) = match pending.persona {
        Persona::Member => (
            MEMBER_EMAIL.to_owned(),
            "Nora Member",
            "00000000-0000-4000-8000-00000000a001",
        ),
        Persona::Admin => (admin, "Pat Admin", "00000000-0000-4000-8000-00000000a002"),
        Persona::Foreign => (
            admin,
            "Mallory Foreign",
            "00000000-0000-4000-8000-00000000f003",
        ),
    };
    let now = Utc::now().timestamp();
    let base = base(sandbox);
    let mut claims = json!({
        "aud": pending.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "email": email,
        "name": name,
    });
    if let Some(nonce) = &pending.nonce {
        claims["nonce"] = json!(nonce);
    }
    match pending.idp {
        Idp::Microsoft => {
            claims["iss"] = json!(format!("{base}/microsoft/{}/v2.0", pending.tenant));
            claims["tid"] = json!(pending.tenant);
            claims["oid"] = json!(object);
            // Pairwise per app, as Entra's `sub` is.
            claims["sub"] = json!(format!("sandbox-{object}"));
            claims["preferred_username"] = json!(email);
            claims["ver"] = json!("2.0");
        }
        Idp::Google => {
            claims["iss"] = json!(format!("{base}/google"));
            claims["sub"] = json!(format!(
                "1{}",
                object.replace('-', "").trim_start_matches('0')
            ));
            claims["email_verified"] = json!(pending.persona != Persona::Foreign);
        }
    }
    claims
}
