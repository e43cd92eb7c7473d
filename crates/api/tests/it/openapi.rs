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
        [
            "integrations:read",
            "integrations:write",
            "members:read",
            "proxy:read",
            "proxy:write"
        ]
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
        // A provider's webhook is the provider's own body, in its own media type.
        if operation.get("requestBody").is_some() && !name.contains("/api/v1/webhooks/") {
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

/// An answer's documented header names (`$ref`s to `components/headers` followed by name).
fn headers_of(response: &serde_json::Value) -> Vec<String> {
    response["headers"]
        .as_object()
        .map(|h| h.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_headers_a_client_reads_are_documented() {
    let doc = document();
    for (name, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap();
        for (status, response) in operation["responses"].as_object().unwrap() {
            let headers = headers_of(response);
            let has = |h: &str| headers.iter().any(|x| x == h);
            if status == "201" {
                assert!(has("Location"), "{name} {status}: no Location");
            }
            if ["429", "503"].contains(&status.as_str()) {
                assert!(has("Retry-After"), "{name} {status}: no Retry-After");
            }
            if name.contains("/api/v1/orgs/{org_id}") && status != "401" {
                assert!(
                    has("RateLimit") && has("RateLimit-Policy"),
                    "{name} {status}: no rate-limit fields"
                );
            }
            if name.starts_with("POST /api/v1/orgs/{org_id}") && status.starts_with('2') {
                assert!(has("Idempotent-Replayed"), "{name} {status}");
            }
            let session = ["signUp", "logIn", "refreshSession", "logOut"].contains(&id);
            if session && status.starts_with('2') {
                assert!(has("Set-Cookie"), "{name} {status}: no Set-Cookie");
            }
            if ["getIntegration", "listIntegrations"].contains(&id)
                && ["200", "304"].contains(&status.as_str())
            {
                assert!(has("ETag"), "{name} {status}: no ETag");
            }
            for reference in response["headers"]
                .as_object()
                .into_iter()
                .flat_map(|h| h.values())
                .filter_map(|h| h["$ref"].as_str())
            {
                let component = reference.rsplit('/').next().unwrap();
                assert!(
                    doc["components"]["headers"][component]["schema"].is_object(),
                    "{name} {status}: {reference} is not defined"
                );
            }
        }
    }
}

#[test]
fn create_flows_link_to_what_they_made() {
    let doc = document();
    let links: std::collections::HashMap<String, serde_json::Value> = operations(&doc)
        .into_iter()
        .map(|(_, operation)| {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            let links = operation["responses"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(status, _)| status.starts_with('2'))
                .flat_map(|(_, r)| r["links"].as_object().cloned().unwrap_or_default())
                .collect();
            (id, links)
        })
        .collect();
    for (from, to, parameter, value) in [
        (
            "createOrganization",
            "getOrganization",
            "org_id",
            "$response.body#/id",
        ),
        (
            "createApiKey",
            "listApiKeys",
            "org_id",
            "$request.path.org_id",
        ),
        (
            "createApiKey",
            "revokeApiKey",
            "key_id",
            "$response.body#/id",
        ),
        (
            "createInvitation",
            "acceptInvitation",
            "token",
            "$response.body#/token",
        ),
        (
            "createInvitation",
            "revokeInvitation",
            "invitation_id",
            "$response.body#/id",
        ),
        (
            "addMember",
            "revokeInvitation",
            "invitation_id",
            "$response.body#/id",
        ),
        (
            "updateIntegration",
            "getIntegration",
            "provider",
            "$request.path.provider",
        ),
        (
            "updateIntegration",
            "listIntegrationEvents",
            "provider",
            "$request.path.provider",
        ),
    ] {
        let link = &links[from][to];
        assert_eq!(link["operationId"], to, "{from} → {to}");
        assert_eq!(link["parameters"][parameter], value, "{from} → {to}");
    }
}

/// Every request body and every success with a body shows an example (on the media type or
/// its schema); `make test-contract` checks each fits its schema (tests/contract/document.py).
#[test]
fn bodies_have_examples() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let has_example = |media: &serde_json::Value| {
        let schema = &media["schema"];
        let named = |s: &serde_json::Value| {
            s["$ref"]
                .as_str()
                .map(|r| schemas[r.rsplit('/').next().unwrap()].clone())
        };
        let mut candidates = vec![schema.clone()];
        candidates.extend(named(schema));
        for alternative in schema["oneOf"].as_array().into_iter().flatten() {
            candidates.extend(named(alternative));
        }
        media.get("example").is_some()
            || candidates
                .iter()
                .any(|s| s["examples"].as_array().is_some_and(|e| !e.is_empty()))
    };
    for (name, operation) in operations(&doc) {
        for (media_type, media) in operation["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
        {
            assert!(
                has_example(media),
                "{name} request ({media_type}): no example"
            );
        }
        for (status, response) in operation["responses"].as_object().unwrap() {
            if !status.starts_with('2') {
                continue;
            }
            for (media_type, media) in response["content"].as_object().into_iter().flatten() {
                assert!(
                    has_example(media),
                    "{name} {status} ({media_type}): no example"
                );
            }
        }
    }
}

/// Examples show secrets only where a caller writes them: answers show hints (`…WXYZ`) or a
/// key's public prefix.
#[test]
fn examples_show_no_secret_in_an_answer() {
    let doc = document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for (name, schema) in schemas {
        if name.ends_with("In") || name.ends_with("Patch") {
            continue;
        }
        let text = schema["examples"].to_string();
        for secret in ["sk-", "pb_", "pbi_", "whsec_", "eyJ"] {
            for found in text.match_indices(secret) {
                let rest = &text[found.0..];
                let shown: String = rest.chars().take_while(|c| *c != '"').collect();
                // A key's prefix (its first ten characters) is how keys are told apart.
                assert!(
                    shown.contains('…') || shown.chars().count() <= 10,
                    "{name}: the example shows a secret ({shown}); show a hint like `…WXYZ`"
                );
            }
        }
    }
}
