/// The committed `openapi/openapi.json` is what the code generates; regenerate it with
/// `make openapi` after changing the API.
#[test]
fn the_committed_openapi_document_is_current() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/openapi.json"
    ))
    .expect("openapi/openapi.json exists; run `make openapi`");
    let generated = api::openapi::document_json().unwrap();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    );
}

fn document() -> serde_json::Value {
    serde_json::from_str(&api::openapi::document_json().unwrap()).unwrap()
}

/// The enum a schema (or a schema's property) names, as strings.
fn enum_of(doc: &serde_json::Value, schema: &str) -> Vec<String> {
    let values = doc["components"]["schemas"][schema]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{schema} is an enum in the document"));
    values
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Follows a property to its schema's name (`$ref`, possibly inside `oneOf` with null).
fn ref_of(property: &serde_json::Value) -> String {
    let reference = property["$ref"].as_str().map(str::to_owned).or_else(|| {
        property["oneOf"].as_array().and_then(|alts| {
            alts.iter()
                .find_map(|a| a["$ref"].as_str().map(str::to_owned))
        })
    });
    reference
        .unwrap_or_else(|| panic!("{property} refers to a schema"))
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn closed_sets_are_enums_in_the_document() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let status = ref_of(&schemas["IntegrationOut"]["properties"]["status"]);
    assert_eq!(
        enum_of(&doc, &status),
        ["not_connected", "connected", "expired", "error", "disabled"]
    );
    for (schema, property, expected) in [
        ("IntegrationOut", "auth_type", "AuthType"),
        ("IntegrationOut", "category", "Category"),
        ("IntegrationOut", "onboarding", "OnboardingClass"),
        ("EventOut", "action", "EventAction"),
        ("EventOut", "actor_type", "ActorType"),
        ("MemberOut", "role", "Role"),
        ("OnboardingStepOut", "id", "StepId"),
        ("OnboardingStepOut", "status", "StepStatus"),
        ("ProviderOut", "level", "Level"),
        ("Problem", "code", "ErrorCode"),
    ] {
        assert_eq!(
            ref_of(&schemas[schema]["properties"][property]),
            expected,
            "{schema}.{property}"
        );
        assert!(!enum_of(&doc, expected).is_empty());
    }
    let codes = enum_of(&doc, "ErrorCode");
    for code in [
        "validation_failed",
        "conflict",
        "not_found",
        "credentials_rejected",
    ] {
        assert!(codes.iter().any(|c| c == code), "ErrorCode lists {code}");
    }
    let scopes = &schemas["ApiKeyOut"]["properties"]["scopes"]["items"];
    assert_eq!(
        enum_of(&doc, &ref_of(scopes)),
        ["integrations:read", "integrations:write"]
    );
}
