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
        ["integrations:read", "integrations:write", "members:read"]
    );
    // What a new key asks for is the same enum, at least one.
    let asked = &schemas["ApiKeyIn"]["properties"]["scopes"];
    assert_eq!(asked["minItems"], 1);
    assert_eq!(ref_of(&asked["items"]), ref_of(scopes));
}

/// Every operation of the document, as `(method path, operation)`.
fn operations(doc: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                found.push((
                    format!("{} {path}", method.to_uppercase()),
                    operation.clone(),
                ));
            }
        }
    }
    found
}

#[test]
fn every_operation_is_named_once_and_documents_what_the_server_answers() {
    let doc = document();
    let operations = operations(&doc);
    let mut ids = std::collections::HashSet::new();
    for (name, operation) in &operations {
        let id = operation["operationId"].as_str().unwrap();
        assert!(
            ids.insert(id.to_owned()),
            "{name}: operationId {id} is used twice"
        );
        let responses = operation["responses"].as_object().unwrap();
        for (status, response) in responses {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{name} {status}: no description"
            );
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().unwrap();
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/problem+json"],
                    "{name} {status}"
                );
            }
        }
        // Credentials are required unless one of the choices is none (`{}`).
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty() && s.iter().all(|r| !r.as_object().unwrap().is_empty()));
        if secured {
            assert!(responses.contains_key("401"), "{name}: no 401");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "415", "422"] {
                assert!(responses.contains_key(status), "{name}: no {status}");
            }
        }
        if name.contains("/api/v1/orgs/{org_id}") {
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            assert_eq!(schemes, ["bearer", "api_key"], "{name}");
            for status in ["403", "404"] {
                assert!(responses.contains_key(status), "{name}: no {status}");
            }
        }
    }
    assert!(operations.len() >= 40);
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["refresh_cookie"]["in"], "cookie");
    assert_eq!(schemes["refresh_cookie"]["name"], "pb_refresh");
}
