//! Cursor pages: a long history walked page by page while new events arrive has no duplicate
//! and no gap; filters; bad `limit` and `cursor` values; keys paged too; another
//! organization's history stays out of reach.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_body, problem, spawn_app};

/// Adds `count` events to the organization's only LinkedIn connection, three to an instant
/// (ties in `created_at` are where a careless cursor skips or repeats rows), every fifth a
/// failed refresh.
async fn add_events(app: &TestApp, org: &str, count: usize, from: chrono::DateTime<chrono::Utc>) {
    let org_id: uuid::Uuid = org.parse().unwrap();
    let connection: uuid::Uuid = app
        .raw_rows("SELECT id, org_id FROM connections WHERE provider = 'linkedin'")
        .await
        .iter()
        .find(|r| r.try_get::<uuid::Uuid>("", "org_id").unwrap() == org_id)
        .unwrap()
        .try_get("", "id")
        .unwrap();
    for n in 0..count {
        let failed = n % 5 == 0;
        app.execute_with(
            "INSERT INTO connection_events (id, org_id, connection_id, provider, action, success, code, message, actor_kind, actor_id, created_at) \
             VALUES ($1, $2, $3, 'linkedin', $4, $5, NULL, $6, 'system', NULL, $7)",
            vec![
                uuid::Uuid::new_v4().into(),
                org_id.into(),
                connection.into(),
                (if failed { "refresh" } else { "test" }).into(),
                (!failed).into(),
                format!("Event {n}").into(),
                (from + chrono::Duration::seconds((n / 3) as i64)).into(),
            ],
        )
        .await;
    }
}

async fn page(app: &TestApp, token: &str, path: &str, query: &[(&str, &str)]) -> Value {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .unwrap();
    json_body(response, 200).await
}

#[tokio::test]
async fn walking_a_long_history_while_events_arrive_has_no_duplicate_and_no_gap() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let (other, other_org) = app.owner_with_org().await;
    app.seed_oauth_connection(&org, "linkedin", "at-1", &[])
        .await;
    app.seed_oauth_connection(&other_org, "linkedin", "at-2", &[])
        .await;
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    add_events(&app, &org, 230, start).await;
    add_events(&app, &other_org, 10, start).await;
    let path = format!("/api/v1/orgs/{org}/integrations/linkedin/events");
    let everything: Vec<String> = {
        let all = page(&app, &owner.token, &path, &[("limit", "200")]).await;
        let next = all["next_cursor"].as_str().unwrap().to_owned();
        let rest = page(
            &app,
            &owner.token,
            &path,
            &[("limit", "200"), ("cursor", &next)],
        )
        .await;
        assert!(rest["next_cursor"].is_null());
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .chain(rest["data"].as_array().unwrap())
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // The seeded connection's own "connect" event is in the history too.
    assert_eq!(everything.len(), 231);

    let mut walked: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "7")];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.as_str()));
        }
        let got = page(&app, &owner.token, &path, &query).await;
        let data = got["data"].as_array().unwrap();
        assert!(data.len() <= 7);
        walked.extend(data.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        pages += 1;
        // Meanwhile, something new happens.
        add_events(&app, &org, 1, chrono::Utc::now()).await;
        match got["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 231_usize.div_ceil(7));
    // The walk is the history as it was when it began: nothing twice, nothing missing.
    let newest_first: Vec<String> = everything.clone();
    assert_eq!(walked, newest_first);

    // Filters.
    let failed = page(
        &app,
        &owner.token,
        &path,
        &[
            ("action", "refresh"),
            ("success", "false"),
            ("limit", "200"),
        ],
    )
    .await;
    let failed = failed["data"].as_array().unwrap();
    // 46 of the first 230, and the one added after each page.
    assert_eq!(failed.len(), 46 + pages);
    assert!(
        failed
            .iter()
            .all(|e| e["action"] == "refresh" && e["success"] == false)
    );

    // Bad values are a 400 that says what to send.
    for query in [
        vec![("limit", "0")],
        vec![("limit", "201")],
        vec![("cursor", "not-a-cursor")],
        vec![("action", "dance")],
        vec![("before", "2026-01-01T00:00:00Z")],
    ] {
        let response = app
            .client
            .get(app.url(&path))
            .bearer_auth(&owner.token)
            .query(&query)
            .send()
            .await
            .unwrap();
        let body = problem(response, 400).await;
        assert_eq!(body["code"], "invalid_query", "{query:?}: {body}");
    }

    // Another organization's history: not reachable with this org's cursor or its owner.
    let theirs = format!("/api/v1/orgs/{other_org}/integrations/linkedin/events");
    let mine = page(&app, &owner.token, &path, &[("limit", "3")]).await;
    let cursor = mine["next_cursor"].as_str().unwrap();
    problem(
        app.client
            .get(app.url(&theirs))
            .bearer_auth(&owner.token)
            .query(&[("cursor", cursor)])
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let their_page = page(&app, &other.token, &theirs, &[("cursor", cursor)]).await;
    assert!(
        their_page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !everything.contains(&e["id"].as_str().unwrap().to_owned()))
    );
}

#[tokio::test]
async fn api_keys_and_the_integrations_list_page_and_filter() {
    let app = spawn_app().await;
    let (owner, org) = app.owner_with_org().await;
    let keys = format!("/api/v1/orgs/{org}/api-keys");
    for n in 0..3 {
        json_body(
            app.post(
                &keys,
                &owner.token,
                json!({"name": format!("Key {n}"), "scopes": ["integrations:read"]}),
            )
            .await,
            201,
        )
        .await;
    }
    let first = page(&app, &owner.token, &keys, &[("limit", "2")]).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["data"][0]["name"], "Key 2", "newest first");
    let next = first["next_cursor"].as_str().unwrap();
    let last = page(
        &app,
        &owner.token,
        &keys,
        &[("limit", "2"), ("cursor", next)],
    )
    .await;
    assert_eq!(last["data"].as_array().unwrap().len(), 1);
    assert_eq!(last["data"][0]["name"], "Key 0");
    assert!(last["next_cursor"].is_null());

    app.seed_oauth_connection(&org, "linkedin", "at-1", &[])
        .await;
    let integrations = format!("/api/v1/orgs/{org}/integrations");
    let connected = page(
        &app,
        &owner.token,
        &integrations,
        &[("status", "connected")],
    )
    .await;
    let providers: Vec<&str> = connected["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["linkedin"]);
    let payments = page(
        &app,
        &owner.token,
        &integrations,
        &[("category", "payments")],
    )
    .await;
    assert!(
        payments["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["category"] == "payments")
    );
    assert!(payments["data"].as_array().unwrap().len() >= 3);
}
