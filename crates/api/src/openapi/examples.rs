//! Examples that are easier made on the document's JSON than on a type: the generic list
//! wrappers' (from their item's) and `/metrics`' Prometheus text.

/// An opaque `next_cursor`, as the lists give them.
const CURSOR_EXAMPLE: &str =
    "MjAyNi0xMS0yNFQwOTozMjowNVp8YTk0ZjNiMmMtNmQxZS00YTg3LTljMDUtZTJiOGY3MWQ0YzM2";

/// The generic wrappers (`PageOut_EventOut`, `ListOut_ProviderOut`, …) get their example from
/// their item's, so each list in the document shows a page of real-looking items.
pub(super) fn wrapper_examples(doc: &mut serde_json::Value) {
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
pub(super) fn metrics_example(doc: &mut serde_json::Value) {
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
