//! The input rule every string shares, said on the document's JSON.

/// No string a request carries may hold a control character other than tab and line breaks
/// (`crate::input` refuses them): said once here, as a pattern on every string of a request
/// body or parameter that has no format, pattern or set of values of its own.
pub(super) fn constrain_inputs(doc: &mut serde_json::Value) {
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
