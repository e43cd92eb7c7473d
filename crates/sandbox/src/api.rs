//! The read endpoints the proxy reaches, in each provider's own shape and paging: Meta's ad
//! accounts (25 a page, `paging.next` carrying the access token as Meta writes it), Shopify's
//! products (REST with `Link` paging, GraphQL with cursors), Slack's channels, Klaviyo's lists,
//! Stripe's balance and Google Ads' accessible customers (the other listings are in
//! `listings`). The sandbox plays each provider, so
//! which one answers is decided here by its id.
//!
//! The API modes live here too: `stale`, `rate_limited`, `huge` and `endless`.

use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::registry::Provider;
use serde_json::{Value, json};

use crate::resources::error;
use crate::{Mode, Sandbox, query_of};

/// Meta: how many ad accounts the sandbox's user can see.
pub const META_AD_ACCOUNTS: usize = 60;
/// Shopify: how many products a sandbox shop has (`productsCount` says the same).
pub const SHOPIFY_PRODUCTS: usize = 42;
/// `huge`: how long an answer is.
const HUGE_BYTES: usize = 64 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// `endless`: how often another piece comes.
const ENDLESS_EVERY: Duration = Duration::from_millis(50);

/// A mode's answer to an API call that was let in, if the mode changes it.
pub fn mode_answer(sandbox: &Sandbox, provider: &Provider) -> Option<HttpResponse> {
    match sandbox.mode(&provider.id) {
        Mode::RateLimited if !sandbox.allow_call(&provider.id) => Some(rate_limited()),
        Mode::Huge => Some(huge()),
        Mode::Endless => Some(endless()),
        _ => None,
    }
}

fn rate_limited() -> HttpResponse {
    let mut answer = error(
        429,
        "rate_limited",
        "Too many requests: the sandbox takes one API call a second (mode: rate_limited).",
    );
    answer.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from_static("1"),
    );
    answer
}

/// One array item of filler, so a huge answer is still JSON.
fn filler() -> Vec<u8> {
    let item = format!("{{\"id\":\"filler\",\"pad\":\"{}\"}},", "x".repeat(100));
    item.repeat(CHUNK / item.len()).into_bytes()
}

fn huge() -> HttpResponse {
    let piece = web::Bytes::from(filler());
    let pieces = HUGE_BYTES / piece.len();
    let head = web::Bytes::from_static(b"{\"data\":[");
    let tail = web::Bytes::from_static(b"{\"id\":\"last\"}]}");
    let body = futures_util::stream::iter(
        std::iter::once(head)
            .chain(std::iter::repeat_n(piece, pieces))
            .chain(std::iter::once(tail))
            .map(Ok::<_, std::io::Error>),
    );
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(body)
}

fn endless() -> HttpResponse {
    let piece = web::Bytes::from(filler());
    let body = futures_util::stream::unfold(true, move |first| {
        let piece = piece.clone();
        async move {
            if first {
                return Some((
                    Ok::<_, std::io::Error>(web::Bytes::from_static(b"{\"data\":[")),
                    false,
                ));
            }
            tokio::time::sleep(ENDLESS_EVERY).await;
            Some((Ok(piece), false))
        }
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(body)
}

/// The provider's answer to one of its read endpoints; `None` when the path is not one.
/// `token` is the access token the request carried (Meta writes it into its paging links).
pub fn answer(
    provider: &Provider,
    host: &str,
    path: &str,
    request: &HttpRequest,
    body: &[u8],
    token: Option<&str>,
    shared: bool,
) -> Option<HttpResponse> {
    // What the login reaches: everything, or (mode `unshared`) nothing at all.
    let reach = |all: usize| if shared { all } else { 0 };
    let query = query_of(request);
    let get = request.method() == Method::GET || request.method() == Method::HEAD;
    let version = provider.api_version.as_deref().unwrap_or_default();
    let under = |rest: &str| path == format!("/{version}/{rest}");
    match provider.id.as_str() {
        "meta_ads" if get && under("me/adaccounts") => Some(meta_ad_accounts(
            host,
            version,
            &query,
            token.unwrap_or_default(),
            reach(META_AD_ACCOUNTS),
        )),
        "meta_ads" if get && path.starts_with(&format!("/{version}/act_")) => Some(
            meta_ad_account(&path[version.len() + 2..], reach(META_AD_ACCOUNTS)),
        ),
        "shopify" if get && under_shopify(path, version, "products.json") => {
            Some(shopify_products_rest(host, version, &query))
        }
        "shopify" if under_shopify(path, version, "graphql.json") => {
            shopify_products_graphql(body).map(|data| HttpResponse::Ok().json(data))
        }
        "slack" if path == "/api/conversations.list" => {
            Some(slack_channels(request, &query, body, reach(SLACK_CHANNELS)))
        }
        "slack" if path == "/api/conversations.info" => {
            Some(slack_channel(request, &query, body, reach(SLACK_CHANNELS)))
        }
        "klaviyo" if get && (path == "/api/lists" || path == "/api/lists/") => {
            Some(klaviyo_lists(host, &query, reach(KLAVIYO_LISTS)))
        }
        "klaviyo" if get && path.starts_with("/api/lists/") => Some(klaviyo_list(
            host,
            path.trim_start_matches("/api/lists/").trim_end_matches('/'),
            reach(KLAVIYO_LISTS),
        )),
        "stripe" if get && path == "/v1/balance" => Some(stripe_balance()),
        "google_ads" if get && under("customers:listAccessibleCustomers") => {
            Some(HttpResponse::Ok().json(crate::listings::google_ads_customers(shared)))
        }
        _ => None,
    }
}

fn under_shopify(path: &str, version: &str, file: &str) -> bool {
    path == format!("/admin/api/{version}/{file}")
}

/// An opaque cursor for a position in a list, as providers hand them out.
pub(crate) fn cursor(position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("sandbox:{position}"))
}

pub(crate) fn position(cursor: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    text.strip_prefix("sandbox:")?.parse().ok()
}

pub(crate) fn limit_of(
    query: &std::collections::BTreeMap<String, String>,
    name: &str,
    default: usize,
    most: usize,
) -> usize {
    query
        .get(name)
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(default)
        .clamp(1, most)
}

/// `GET /{v}/me/adaccounts`: Graph API paging, `paging.next` with `access_token=` first as
/// Meta writes it; only the asked `fields` (default `account_id,id`).
fn meta_ad_accounts(
    host: &str,
    version: &str,
    query: &std::collections::BTreeMap<String, String>,
    token: &str,
    accounts: usize,
) -> HttpResponse {
    let limit = limit_of(query, "limit", 25, 100);
    let from = query.get("after").and_then(|c| position(c)).unwrap_or(0);
    let from = from.min(accounts);
    let to = (from + limit).min(accounts);
    let fields = query
        .get("fields")
        .cloned()
        .unwrap_or_else(|| "account_id,id".to_owned());
    let data: Vec<Value> = (from..to)
        .map(|i| {
            let full = meta_account(i);
            let mut picked = serde_json::Map::new();
            for field in fields.split(',').map(str::trim).chain(["id"]) {
                if let Some(value) = full.get(field) {
                    picked.insert(field.to_owned(), value.clone());
                }
            }
            Value::Object(picked)
        })
        .collect();
    let link = |after: Option<String>, before: Option<String>| {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        params.append_pair("access_token", token);
        params.append_pair("pretty", "0");
        params.append_pair("fields", &fields);
        params.append_pair("limit", &limit.to_string());
        if let Some(after) = after {
            params.append_pair("after", &after);
        }
        if let Some(before) = before {
            params.append_pair("before", &before);
        }
        format!("https://{host}/{version}/me/adaccounts?{}", params.finish())
    };
    let mut paging = json!({ "cursors": { "before": cursor(from), "after": cursor(to) } });
    if to < accounts {
        paging["next"] = json!(link(Some(cursor(to)), None));
    }
    if from > 0 {
        paging["previous"] = json!(link(None, Some(cursor(from.saturating_sub(limit)))));
    }
    HttpResponse::Ok().json(json!({ "data": data, "paging": paging }))
}

/// The sandbox's ad account number `i` (from 0), as Meta describes one.
fn meta_account(i: usize) -> Value {
    let account_id = format!("{}", 100_000_000_000_000u64 + i as u64);
    json!({
        "id": format!("act_{account_id}"),
        "account_id": account_id,
        "name": format!("Acme Sandbox Ads {:02}", i + 1),
        "account_status": 1,
        "currency": "USD",
        "timezone_name": "America/Los_Angeles",
        "amount_spent": format!("{}", (i + 1) * 1234),
    })
}

/// `GET /{v}/act_{id}`: one of the login's ad accounts, or Graph API's error for any other.
fn meta_ad_account(id: &str, accounts: usize) -> HttpResponse {
    let index = id
        .strip_prefix("act_")
        .and_then(|n| n.parse::<u64>().ok())
        .and_then(|n| n.checked_sub(100_000_000_000_000))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n < accounts);
    match index {
        Some(i) => {
            let account = meta_account(i);
            HttpResponse::Ok().json(json!({ "id": account["id"], "name": account["name"] }))
        }
        None => HttpResponse::BadRequest().json(json!({
            "error": {
                "message": format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
                "type": "GraphMethodException",
                "code": 100,
                "error_subcode": 33,
            }
        })),
    }
}

fn shopify_product(i: usize) -> (u64, Value) {
    let id = 8_000_000_000_000u64 + i as u64;
    let title = format!("Trail Pack {:02}", i + 1);
    (
        id,
        json!({
            "id": id,
            "title": title,
            "handle": format!("trail-pack-{:02}", i + 1),
            "status": "active",
            "vendor": "Acme Outdoor",
            "product_type": "Backpacks",
            "created_at": "2026-01-05T10:00:00-05:00",
            "variants": [{
                "id": id + 1_000_000,
                "product_id": id,
                "title": "Default Title",
                "price": format!("{}.00", 40 + i),
                "sku": format!("TP-{:03}", i + 1),
            }],
        }),
    )
}

/// `GET /admin/api/{v}/products.json`: cursor paging by `page_info` in the `Link` header.
fn shopify_products_rest(
    host: &str,
    version: &str,
    query: &std::collections::BTreeMap<String, String>,
) -> HttpResponse {
    let limit = limit_of(query, "limit", 50, 250);
    let from = query
        .get("page_info")
        .and_then(|c| position(c))
        .unwrap_or(0)
        .min(SHOPIFY_PRODUCTS);
    let to = (from + limit).min(SHOPIFY_PRODUCTS);
    let products: Vec<Value> = (from..to).map(|i| shopify_product(i).1).collect();
    let link = |at: usize, rel: &str| {
        format!(
            "<https://{host}/admin/api/{version}/products.json?limit={limit}&page_info={}>; rel=\"{rel}\"",
            cursor(at)
        )
    };
    let mut links = Vec::new();
    if from > 0 {
        links.push(link(from.saturating_sub(limit), "previous"));
    }
    if to < SHOPIFY_PRODUCTS {
        links.push(link(to, "next"));
    }
    let mut answer = HttpResponse::Ok();
    if !links.is_empty() {
        answer.insert_header(("link", links.join(", ")));
    }
    answer.json(json!({ "products": products }))
}

/// A number or string argument written in a GraphQL query (`first: 10`, `after: "abc"`).
fn inline_argument(query: &str, name: &str) -> Option<String> {
    let at = query.find(&format!("{name}:"))? + name.len() + 1;
    let rest = query[at..].trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        return quoted.split('"').next().map(str::to_owned);
    }
    let value: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!value.is_empty()).then_some(value)
}

/// GraphQL `products(first:, after:)`, from the query's arguments or its variables.
fn shopify_products_graphql(body: &[u8]) -> Option<Value> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let query = request.get("query")?.as_str()?;
    if !query.contains("products") || query.contains("productsCount") {
        return None;
    }
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let argument = |name: &str| {
        variables
            .get(name)
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_u64().map(|n| n.to_string()))
            })
            .or_else(|| inline_argument(query, name))
    };
    let first = argument("first")
        .and_then(|f| f.parse::<usize>().ok())
        .unwrap_or(10)
        .clamp(1, 250);
    let from = argument("after")
        .and_then(|c| position(&c))
        .map_or(0, |p| p + 1)
        .min(SHOPIFY_PRODUCTS);
    let to = (from + first).min(SHOPIFY_PRODUCTS);
    let edges: Vec<Value> = (from..to)
        .map(|i| {
            let (id, product) = shopify_product(i);
            json!({
                "cursor": cursor(i),
                "node": {
                    "id": format!("gid://shopify/Product/{id}"),
                    "title": product["title"],
                    "handle": product["handle"],
                    "status": "ACTIVE",
                },
            })
        })
        .collect();
    Some(json!({
        "data": { "products": {
            "edges": edges,
            "pageInfo": {
                "hasNextPage": to < SHOPIFY_PRODUCTS,
                "hasPreviousPage": from > 0,
                "startCursor": (from < to).then(|| cursor(from)),
                "endCursor": (from < to).then(|| cursor(to - 1)),
            },
        } },
    }))
}

/// The sandbox workspace's channels: five named ones, then campaign rooms, 32 in all.
pub(crate) const SLACK_CHANNELS: usize = 32;

fn slack_channel_named(i: usize) -> Value {
    const NAMED: [&str; 5] = ["general", "random", "marketing", "orders", "alerts"];
    let name = NAMED.get(i).map_or_else(
        || format!("campaign-{:02}", i - NAMED.len() + 1),
        |n| (*n).to_owned(),
    );
    json!({
        "id": format!("C0SANDBOX{:02}", i + 1),
        "name": name,
        "is_channel": true,
        "is_private": false,
        "is_archived": false,
        "is_member": i == 0,
        "num_members": 12,
        "topic": { "value": "", "creator": "", "last_set": 0 },
    })
}

/// Which of the workspace's channels an id names (0-based), among the first `channels`.
pub(crate) fn slack_channel_index(id: &str, channels: usize) -> Option<usize> {
    id.strip_prefix("C0SANDBOX")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=channels).contains(n))
        .map(|n| n - 1)
}

/// A Slack method's parameters: the query, and a form body for POST.
pub(crate) fn slack_params(
    request: &HttpRequest,
    query: &std::collections::BTreeMap<String, String>,
    body: &[u8],
) -> std::collections::BTreeMap<String, String> {
    let mut params = query.clone();
    if request.method() == Method::POST {
        params.extend(url::form_urlencoded::parse(body).into_owned());
    }
    params
}

/// `conversations.list`: Slack's cursor paging in `response_metadata.next_cursor`.
fn slack_channels(
    request: &HttpRequest,
    query: &std::collections::BTreeMap<String, String>,
    body: &[u8],
    channels: usize,
) -> HttpResponse {
    let params = slack_params(request, query, body);
    let limit = limit_of(&params, "limit", 100, 1000);
    let from = params
        .get("cursor")
        .and_then(|c| position(c))
        .unwrap_or(0)
        .min(channels);
    let to = (from + limit).min(channels);
    let next = if to < channels {
        cursor(to)
    } else {
        String::new()
    };
    let listed: Vec<Value> = (from..to).map(slack_channel_named).collect();
    HttpResponse::Ok().json(json!({
        "ok": true,
        "channels": listed,
        "response_metadata": { "next_cursor": next },
    }))
}

/// `conversations.info`: one channel, or Slack's `channel_not_found` (with HTTP 200, as Slack).
fn slack_channel(
    request: &HttpRequest,
    query: &std::collections::BTreeMap<String, String>,
    body: &[u8],
    channels: usize,
) -> HttpResponse {
    let params = slack_params(request, query, body);
    let index = params
        .get("channel")
        .and_then(|c| slack_channel_index(c, channels));
    match index {
        Some(i) => {
            HttpResponse::Ok().json(json!({ "ok": true, "channel": slack_channel_named(i) }))
        }
        None => HttpResponse::Ok().json(json!({ "ok": false, "error": "channel_not_found" })),
    }
}

/// The sandbox account's lists: three named ones, then segments, 36 in all.
const KLAVIYO_LISTS: usize = 36;

fn klaviyo_list_item(host: &str, i: usize) -> Value {
    const NAMED: [&str; 3] = ["Newsletter", "VIP customers", "Abandoned carts"];
    let id = format!("XyZ{:03}", i + 1);
    let name = NAMED.get(i).map_or_else(
        || format!("Segment {:02}", i - NAMED.len() + 1),
        |n| (*n).to_owned(),
    );
    json!({
        "type": "list",
        "id": id,
        "attributes": {
            "name": name,
            "created": "2026-02-01T12:00:00+00:00",
            "updated": "2026-11-20T08:30:00+00:00",
            "opt_in_process": "single_opt_in",
        },
        "links": { "self": format!("https://{host}/api/lists/{id}/") },
    })
}

/// `GET /api/lists`: JSON:API, 10 a page (`page[size]` up to 100), `links.next` on Klaviyo's
/// own API with the next `page[cursor]`.
fn klaviyo_lists(
    host: &str,
    query: &std::collections::BTreeMap<String, String>,
    lists: usize,
) -> HttpResponse {
    let size = limit_of(query, "page[size]", 10, 100);
    let from = query
        .get("page[cursor]")
        .and_then(|c| position(c))
        .unwrap_or(0)
        .min(lists);
    let to = (from + size).min(lists);
    let data: Vec<Value> = (from..to).map(|i| klaviyo_list_item(host, i)).collect();
    let next = (to < lists).then(|| {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        params.append_pair("page[cursor]", &cursor(to));
        format!("https://{host}/api/lists/?{}", params.finish())
    });
    HttpResponse::Ok()
        .content_type("application/vnd.api+json")
        .json(json!({
            "data": data,
            "links": { "self": format!("https://{host}/api/lists/"), "next": next, "prev": null },
        }))
}

/// `GET /api/lists/{id}/`: one list, or JSON:API's 404.
fn klaviyo_list(host: &str, id: &str, lists: usize) -> HttpResponse {
    let index = id
        .strip_prefix("XyZ")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=lists).contains(n));
    match index {
        Some(n) => HttpResponse::Ok()
            .content_type("application/vnd.api+json")
            .json(json!({ "data": klaviyo_list_item(host, n - 1) })),
        None => HttpResponse::NotFound()
            .content_type("application/vnd.api+json")
            .json(json!({ "errors": [{ "status": 404, "code": "not_found", "title": "Not found.", "detail": format!("A list with id {id} does not exist.") }] })),
    }
}

fn stripe_balance() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "object": "balance",
        "available": [{ "amount": 1_254_300, "currency": "usd", "source_types": { "card": 1_254_300 } }],
        "pending": [{ "amount": 98_700, "currency": "usd", "source_types": { "card": 98_700 } }],
        "connect_reserved": [{ "amount": 0, "currency": "usd" }],
        "livemode": false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(position(&cursor(25)), Some(25));
        assert_eq!(position("not-a-cursor"), None);
    }

    #[test]
    fn graphql_arguments_are_read_inline_or_from_variables() {
        let inline = br#"{"query":"{ products(first: 5, after: \"c2FuZGJveDo0\") { edges { node { id } } } }"}"#;
        let answer = shopify_products_graphql(inline).unwrap();
        let edges = answer["data"]["products"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 5);
        assert_eq!(edges[0]["cursor"], cursor(5));
        let by_variables = br#"{"query":"query($n: Int!) { products(first: $n) { edges { node { id } } } }","variables":{"n":3,"first":3}}"#;
        let answer = shopify_products_graphql(by_variables).unwrap();
        assert_eq!(
            answer["data"]["products"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert!(shopify_products_graphql(br#"{"query":"{ productsCount { count } }"}"#).is_none());
        assert!(shopify_products_graphql(br#"{"query":"{ shop { name } }"}"#).is_none());
    }
}
