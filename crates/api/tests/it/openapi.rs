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
