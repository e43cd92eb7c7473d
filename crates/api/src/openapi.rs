//! The OpenAPI 3.1 document, collected from the registered routes (paths are written once).

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A user access token, or an organization API key (`pb_…`).",
                    ))
                    .build(),
            ),
        );
    }
}

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
    api
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> anyhow::Result<String> {
    let mut text = document().to_pretty_json()?;
    text.push('\n');
    Ok(text)
}
