//! The response headers a client reads: defined once under `components/headers`, referred to
//! from every answer that carries them.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr};

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

pub(super) fn add_header_components(api: &mut utoipa::openapi::OpenApi) {
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
pub(super) fn response_headers(tenant: bool, idempotent_post: bool, operation: &mut Operation) {
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
