//! The OpenAPI 3.1 document, collected from the registered routes (paths are written once).

use actix_web::App;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::routes;

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
pub fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in api.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            finish_operation(path, operation);
        }
    }
    api
}

fn finish_operation(path: &str, operation: &mut Operation) {
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
    let responses = &mut operation.responses.responses;
    let mut add = |status: u16, description: &str| {
        responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    };
    if operation.request_body.is_some() {
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
    }
    if secured || tenant {
        add(401, "No valid access token or API key was sent.");
    }
    if tenant {
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
    for (status, response) in responses.iter_mut() {
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

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> anyhow::Result<String> {
    let mut text = document().to_pretty_json()?;
    text.push('\n');
    Ok(text)
}
