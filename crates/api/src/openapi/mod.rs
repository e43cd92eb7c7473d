//! The OpenAPI 3.1 document, collected from the registered routes (paths are written once).

use actix_web::http::header::ContentType;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse};
use utoipa::openapi::Required;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::routes;

mod examples;
mod headers;
mod inputs;
mod links;

use examples::{metrics_example, wrapper_examples};
use headers::{add_header_components, response_headers};
use inputs::constrain_inputs;
use links::links;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plugboard API",
        description = "Connect, verify and watch the third-party services a brand runs on. Every tenant route lives under `/api/v1/orgs/{org_id}`; call it with a user access token or an organization API key (`Authorization: Bearer …`). Errors are `application/problem+json` with a stable `code`.",
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "organizations", description = "Tenants"),
        (name = "members", description = "Who belongs to an organization"),
        (name = "api keys", description = "Keys for partner developers"),
        (name = "providers", description = "What can be connected"),
        (name = "integrations", description = "An organization's connections"),
        (name = "onboarding", description = "The onboarding wizard's progress"),
        (name = "feature flags", description = "Integration features an organization turns on or off"),
        (name = "invitations", description = "Inviting people into an organization"),
        (name = "operations", description = "Health and readiness"),
        (name = "platform", description = "Platform readiness, for platform admins only"),
        (name = "webhooks", description = "What providers send the platform's apps: no authentication, each request signed by the provider"),
        (name = "privacy", description = "Privacy requests providers send about a brand's customers or shop"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user access token from sign-up, log-in or refresh (15 minutes).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pb_…")
                    .description(Some(
                        "An organization API key (`Authorization: Bearer pb_…`), for the routes under `/api/v1/orgs/{org_id}` of the organization it belongs to, within its scopes.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            REFRESH_COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "pb_refresh",
                "The httpOnly refresh cookie set by sign-up and log-in.",
            ))),
        );
    }
}

const BEARER: &str = "bearer";
const API_KEY: &str = "api_key";
const REFRESH_COOKIE: &str = "refresh_cookie";

/// The hand-written part: info, tags, shared schemas.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The whole document, as `plugboard openapi` prints it and `/api/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(base())
        .configure(routes::configure)
        .split_for_parts();
    finish(api)
}

/// What every operation shares, written once instead of on each route: the answers any
/// request can meet (a bad body, a missing token, a key without the scope, an unknown id, a
/// database outage), every error as `application/problem+json`, a description on every
/// answer, and which credentials each route takes.
fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in api.paths.paths.iter_mut() {
        let tenant = path.starts_with("/api/v1/orgs/{org_id}");
        let operations = [
            (&mut item.get, false),
            (&mut item.put, false),
            (&mut item.post, tenant),
            (&mut item.delete, false),
            (&mut item.patch, false),
            (&mut item.head, false),
        ];
        for (operation, idempotent_post) in operations {
            let Some(operation) = operation else {
                continue;
            };
            shared_answers(path, operation);
            if idempotent_post {
                idempotent(operation);
            }
            problems_and_descriptions(operation);
            response_headers(tenant, idempotent_post, operation);
            links(operation);
        }
    }
    add_header_components(&mut api);
    api
}

/// The POSTs of an organization's routes take `Idempotency-Key` (see `crate::idempotency`).
fn idempotent(operation: &mut Operation) {
    let header = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Any unique value (a UUID): a retry with the same key and body within 24 hours gets the first answer again (with `Idempotent-Replayed: true`) instead of doing the work twice.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(header));
    for (status, reason) in [
        (400, "`Idempotency-Key` is not 1 to 255 visible characters."),
        (
            409,
            "A request with this `Idempotency-Key` is still running.",
        ),
        (
            422,
            "This `Idempotency-Key` was used for a different request.",
        ),
    ] {
        add_answer(operation, status, reason);
    }
}

/// Documents an answer, or adds one more reason to an answer already documented.
fn add_answer(operation: &mut Operation, status: u16, reason: &str) {
    let entry = operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(Response::new("")));
    if let RefOr::T(response) = entry
        && !response.description.contains(reason)
    {
        response.description = if response.description.is_empty() {
            reason.to_owned()
        } else {
            format!("{} Or: {reason}", response.description)
        };
    }
}

fn shared_answers(path: &str, operation: &mut Operation) {
    let tenant = path.starts_with("/api/v1/orgs/{org_id}");
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    if tenant {
        operation.security = Some(vec![
            SecurityRequirement::new(BEARER, Vec::<String>::new()),
            SecurityRequirement::new(API_KEY, Vec::<String>::new()),
        ]);
    }
    let cookie = SecurityRequirement::new(REFRESH_COOKIE, Vec::<String>::new());
    match path {
        "/api/v1/auth/refresh" => operation.security = Some(vec![cookie]),
        // Logging out without a session is fine: there is nothing to end.
        "/api/v1/auth/logout" => {
            operation.security = Some(vec![cookie, SecurityRequirement::default()]);
        }
        _ => {}
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let in_path = parameters
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    let in_query = parameters
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    // Provider webhooks take the provider's own body, up to 1 MB, documented on the route.
    let has_body = operation.request_body.is_some() && !path.starts_with("/api/v1/webhooks/");
    let mut add = |status: u16, reason: &str| add_answer(operation, status, reason);
    if has_body {
        add(400, "The body is not valid JSON.");
        add(413, "The body is larger than 64 KiB.");
        add(415, "The body is not sent as `application/json`.");
        add(
            422,
            "The body does not fit: `errors` names each field and what to change.",
        );
    }
    if in_query {
        add(400, "A query parameter is unknown or not valid.");
        add(422, "A query value holds a control character.");
    }
    if secured || tenant {
        add(401, "No valid access token or API key was sent.");
    }
    if tenant {
        add(
            429,
            "Over the organization's or the caller's requests a minute: wait `Retry-After` seconds. Every answer carries `RateLimit-Policy` and `RateLimit`.",
        );
        add(
            403,
            "Your role, or the API key's scopes, do not allow this.",
        );
    }
    if in_path {
        add(
            404,
            "Nothing exists at this path for you (another organization's resources included).",
        );
    }
    if path.starts_with("/api/v1/") {
        add(
            500,
            "Something failed on Plugboard's side; the answer says nothing more.",
        );
        add(
            503,
            "A service Plugboard depends on (its database, or the provider) is unavailable; try again shortly.",
        );
    }
}

/// Every error answer is a problem document; every answer has a description.
fn problems_and_descriptions(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let code = status.parse::<u16>().unwrap_or_default();
        if response.description.is_empty() {
            response.description = actix_web::http::StatusCode::from_u16(code)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("The answer")
                .to_owned();
        }
        if code >= 400 {
            response.content = [(
                "application/problem+json".to_owned(),
                RefOr::T(Content::new(Some(RefOr::Ref(Ref::from_schema_name(
                    "Problem",
                ))))),
            )]
            .into_iter()
            .collect();
        }
    }
}

/// A key's `providers` are ids from the built-in registry that the proxy calls: listed as the
/// values the field takes.
fn proxied_providers(doc: &mut serde_json::Value) -> anyhow::Result<()> {
    let registry = domain::registry::Registry::builtin()?;
    let ids: Vec<&str> = registry
        .providers()
        .iter()
        .filter(|p| p.is_proxied())
        .map(|p| p.id.as_str())
        .collect();
    if let Some(items) = doc.pointer_mut("/components/schemas/ApiKeyIn/properties/providers/items")
    {
        *items = serde_json::json!({ "type": "string", "enum": ids });
    }
    Ok(())
}

/// The whole document as served at `/api/openapi.json`: [`document`] with the input rules
/// that are easier said on the JSON itself.
pub fn document_value() -> anyhow::Result<serde_json::Value> {
    let mut doc = serde_json::to_value(document())?;
    proxied_providers(&mut doc)?;
    constrain_inputs(&mut doc);
    wrapper_examples(&mut doc);
    metrics_example(&mut doc);
    Ok(doc)
}

/// The document served at `/api/openapi.json`, serialized once at start and shared by every
/// worker.
pub struct Served(Bytes);

impl Served {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Served(serde_json::to_vec(&document_value()?)?.into()))
    }
}

/// `GET /api/openapi.json`.
pub async fn serve(document: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document.0.clone())
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&document_value()?)?;
    text.push('\n');
    Ok(text)
}
