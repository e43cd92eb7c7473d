//! The OpenAPI 3.1 document, collected from the registered routes (paths are written once).

use actix_web::App;
use utoipa::openapi::Required;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
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
fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in api.paths.paths.iter_mut() {
        let tenant = path.starts_with("/api/v1/orgs/{org_id}");
        let operations = [
            (&mut item.get, false),
            (&mut item.put, false),
            (&mut item.post, tenant),
            (&mut item.delete, false),
            (&mut item.patch, false),
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

/// The headers a client reads, each defined once under `components/headers`:
/// `(component, description, schema)`.
fn header_components() -> Vec<(&'static str, &'static str, ObjectBuilder)> {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    vec![
        (
            "Location",
            "The path of what was created (for a new member, their invitation; for a new account, `/api/v1/me`). A replayed answer (`Idempotent-Replayed`) has the body only.",
            text().format(Some(SchemaFormat::Custom("uri-reference".into()))),
        ),
        (
            "SetRefreshCookie",
            "The refresh cookie `pb_refresh` (HttpOnly, SameSite=Strict, `Path=/api/v1/auth`, 30 days): `POST /api/v1/auth/refresh` trades it for a new access token.",
            text(),
        ),
        (
            "ClearRefreshCookie",
            "Clears the refresh cookie `pb_refresh`.",
            text(),
        ),
        (
            "RetryAfter",
            "Seconds to wait before trying again.",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ),
        (
            "RateLimitPolicy",
            "The request budgets that apply (IETF draft-ietf-httpapi-ratelimit-headers), e.g. `\"org\";q=1200;w=60, \"caller\";q=600;w=60`: requests a minute for the organization and for this caller. On every answer once the caller is known.",
            text(),
        ),
        (
            "RateLimit",
            "What is left of each budget, e.g. `\"org\";r=1187;t=60, \"caller\";r=593;t=60`: `r` requests remain, all of them again in `t` seconds.",
            text(),
        ),
        (
            "IdempotentReplayed",
            "`true` when this is the kept first answer to the same `Idempotency-Key` and body, sent again instead of doing the work twice.",
            text().enum_values(Some(["true"])),
        ),
    ]
}

fn add_header_components(api: &mut utoipa::openapi::OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for (name, description, schema) in header_components() {
        components.headers.insert(
            name.to_owned(),
            RefOr::T(
                HeaderBuilder::new()
                    .schema(Some(schema))
                    .description(Some(description))
                    .build(),
            ),
        );
    }
}

/// Which answers carry which header: `Location` on a 201, the refresh cookie on the session
/// routes, `Retry-After` on 429 and 503, the rate-limit fields on an organization's routes,
/// `Idempotent-Replayed` on an idempotent POST's success.
fn response_headers(tenant: bool, idempotent_post: bool, operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    let session = matches!(id.as_str(), "signUp" | "logIn" | "refreshSession");
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let code = status.parse::<u16>().unwrap_or_default();
        let success = (200..300).contains(&code);
        let carried = [
            ("Location", "Location", code == 201),
            ("Set-Cookie", "SetRefreshCookie", session && success),
            (
                "Set-Cookie",
                "ClearRefreshCookie",
                id == "logOut" && success,
            ),
            ("Retry-After", "RetryAfter", code == 429 || code == 503),
            ("RateLimit-Policy", "RateLimitPolicy", tenant && code != 401),
            ("RateLimit", "RateLimit", tenant && code != 401),
            (
                "Idempotent-Replayed",
                "IdempotentReplayed",
                idempotent_post && success,
            ),
        ];
        for (name, component, applies) in carried {
            if applies {
                response.headers.entry(name.to_owned()).or_insert_with(|| {
                    RefOr::Ref(Ref::new(format!("#/components/headers/{component}")))
                });
            }
        }
    }
}

/// Where an answer leads: the operation `to` (also the link's name), with each parameter taken
/// from the answer (`$response.body#/id`) or from the request that made it.
struct LinkSpec {
    from: &'static str,
    status: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
}

/// The create → get flows (and a connection's history from the connection).
const LINKS: &[LinkSpec] = &[
    LinkSpec {
        from: "createOrganization",
        status: "201",
        to: "getOrganization",
        parameters: &[("org_id", "$response.body#/id")],
    },
    LinkSpec {
        from: "createOrganization",
        status: "201",
        to: "listIntegrations",
        parameters: &[("org_id", "$response.body#/id")],
    },
    LinkSpec {
        from: "createOrganization",
        status: "201",
        to: "createApiKey",
        parameters: &[("org_id", "$response.body#/id")],
    },
    LinkSpec {
        from: "createApiKey",
        status: "201",
        to: "listApiKeys",
        parameters: &[("org_id", "$request.path.org_id")],
    },
    LinkSpec {
        from: "createApiKey",
        status: "201",
        to: "revokeApiKey",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("key_id", "$response.body#/id"),
        ],
    },
    LinkSpec {
        from: "createInvitation",
        status: "201",
        to: "listInvitations",
        parameters: &[("org_id", "$request.path.org_id")],
    },
    LinkSpec {
        from: "createInvitation",
        status: "201",
        to: "revokeInvitation",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("invitation_id", "$response.body#/id"),
        ],
    },
    LinkSpec {
        from: "createInvitation",
        status: "201",
        to: "acceptInvitation",
        parameters: &[("token", "$response.body#/token")],
    },
    LinkSpec {
        from: "addMember",
        status: "201",
        to: "listInvitations",
        parameters: &[("org_id", "$request.path.org_id")],
    },
    LinkSpec {
        from: "addMember",
        status: "201",
        to: "revokeInvitation",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("invitation_id", "$response.body#/id"),
        ],
    },
    LinkSpec {
        from: "addMember",
        status: "201",
        to: "acceptInvitation",
        parameters: &[("token", "$response.body#/token")],
    },
    LinkSpec {
        from: "updateIntegration",
        status: "200",
        to: "getIntegration",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
    LinkSpec {
        from: "updateIntegration",
        status: "200",
        to: "testIntegration",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
    LinkSpec {
        from: "updateIntegration",
        status: "200",
        to: "listIntegrationEvents",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
    LinkSpec {
        from: "getIntegration",
        status: "200",
        to: "listIntegrationEvents",
        parameters: &[
            ("org_id", "$request.path.org_id"),
            ("provider", "$request.path.provider"),
        ],
    },
];

fn links(operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    for spec in LINKS.iter().filter(|s| s.from == id) {
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(spec.status) else {
            continue;
        };
        let link = spec.parameters.iter().fold(
            LinkBuilder::new().operation_id(spec.to),
            |link, (parameter, value)| link.parameter(*parameter, *value),
        );
        response
            .links
            .insert(spec.to.to_owned(), RefOr::T(link.build()));
    }
}

/// No string a request carries may hold a control character other than tab and line breaks
/// (`crate::input` refuses them): said once here, as a pattern on every string of a request
/// body or parameter that has no format, pattern or set of values of its own.
fn constrain_inputs(doc: &mut serde_json::Value) {
    let mut request_schemas = std::collections::BTreeSet::new();
    let mut frontier = Vec::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(body) = operation.get("requestBody") {
                refs_in(body, &mut frontier);
            }
        }
    }
    let schema = |name: &str| format!("/components/schemas/{name}");
    while let Some(name) = frontier.pop() {
        if let Some(found) = doc.pointer(&schema(&name))
            && request_schemas.insert(name.clone())
        {
            refs_in(found, &mut frontier);
        }
    }
    for name in &request_schemas {
        if let Some(found) = doc.pointer_mut(&schema(name)) {
            no_controls(found);
        }
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for operation in item
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                let parameters = operation
                    .get_mut("parameters")
                    .and_then(|p| p.as_array_mut());
                // Headers are HTTP's own business (an `If-None-Match` is compared, never
                // stored); the rule is for what a request carries in its path and query.
                let carried = parameters
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path" || p["in"] == "query");
                for parameter in carried {
                    if let Some(schema) = parameter.get_mut("schema") {
                        no_controls(schema);
                    }
                }
            }
        }
    }
}

/// The schema names a part of the document refers to.
fn refs_in(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            if let Some(name) = fields
                .get("$ref")
                .and_then(|r| r.as_str())
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                found.push(name.to_owned());
            }
            fields.values().for_each(|v| refs_in(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs_in(v, found)),
        _ => {}
    }
}

/// Characters `crate::input` refuses: C0 and C1 controls but tab, line feed and carriage return.
const NO_CONTROLS: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

fn no_controls(schema: &mut serde_json::Value) {
    let Some(fields) = schema.as_object_mut() else {
        return;
    };
    let is_string = match fields.get("type") {
        Some(serde_json::Value::String(t)) => t == "string",
        Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    // `password` is a hint to show dots, not a rule on the characters.
    let validating_format = fields.get("format").is_some_and(|f| f != "password");
    let constrained = validating_format
        || ["pattern", "enum", "const"]
            .iter()
            .any(|k| fields.contains_key(*k));
    if is_string && !constrained {
        fields.insert("pattern".to_owned(), NO_CONTROLS.into());
    }
    for key in ["properties", "patternProperties"] {
        if let Some(properties) = fields.get_mut(key).and_then(|p| p.as_object_mut()) {
            properties.values_mut().for_each(no_controls);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = fields.get_mut(key) {
            no_controls(inner);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(choices) = fields.get_mut(key).and_then(|c| c.as_array_mut()) {
            choices.iter_mut().for_each(no_controls);
        }
    }
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
    let has_body = operation.request_body.is_some();
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

/// The whole document as served at `/api/openapi.json`: [`document`] with the input rules
/// that are easier said on the JSON itself.
pub fn document_value() -> anyhow::Result<serde_json::Value> {
    let mut doc = serde_json::to_value(document())?;
    constrain_inputs(&mut doc);
    wrapper_examples(&mut doc);
    metrics_example(&mut doc);
    Ok(doc)
}

/// An opaque `next_cursor`, as the lists give them.
const CURSOR_EXAMPLE: &str =
    "MjAyNi0xMS0yNFQwOTozMjowNVp8YTk0ZjNiMmMtNmQxZS00YTg3LTljMDUtZTJiOGY3MWQ0YzM2";

/// The generic wrappers (`PageOut_EventOut`, `ListOut_ProviderOut`, …) get their example from
/// their item's, so each list in the document shows a page of real-looking items.
fn wrapper_examples(doc: &mut serde_json::Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    let made: Vec<(String, serde_json::Value)> = schemas
        .iter()
        .filter(|(_, schema)| schema.get("examples").is_none())
        .filter_map(|(name, _)| {
            let (paged, item) = match name.split_once('_') {
                Some(("PageOut", item)) => (true, item),
                Some(("ListOut", item)) => (false, item),
                _ => return None,
            };
            let example = schemas.get(item)?.get("examples")?.get(0)?.clone();
            let mut page = serde_json::json!({ "data": [example] });
            if paged {
                page["next_cursor"] = CURSOR_EXAMPLE.into();
            }
            Some((name.clone(), page))
        })
        .collect();
    for (name, example) in made {
        if let Some(schema) = schemas.get_mut(&name).and_then(|s| s.as_object_mut()) {
            schema.insert("examples".to_owned(), serde_json::json!([example]));
        }
    }
}

/// `/metrics` answers Prometheus text, which no schema describes: an excerpt instead.
fn metrics_example(doc: &mut serde_json::Value) {
    let content = doc
        .pointer_mut("/paths/~1metrics/get/responses/200/content")
        .and_then(|c| c.as_object_mut());
    for media in content.into_iter().flat_map(|c| c.values_mut()) {
        media["example"] = concat!(
            "# HELP plugboard_refreshes_total Token refreshes by how they ended.\n",
            "# TYPE plugboard_refreshes_total counter\n",
            "plugboard_refreshes_total{class=\"renewed\"} 42\n",
            "plugboard_refreshes_total{class=\"refused\"} 1\n",
            "# HELP plugboard_outbox_depth Notifications waiting to be delivered.\n",
            "# TYPE plugboard_outbox_depth gauge\n",
            "plugboard_outbox_depth 0\n",
        )
        .into();
    }
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&document_value()?)?;
    text.push('\n');
    Ok(text)
}
