//! What a connection can be pointed at, for Meta's pixels, Google Ads' customer names,
//! TikTok's advertisers and pixels, GA4's properties and data streams, Search Console's
//! sites, YouTube's channels and Google Calendar's calendars: each in its provider's own
//! answer shape and paging, with the request that checks one. `shared = false` (mode
//! `unshared`) is a login that reaches nothing: listings are empty, every check refuses.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::http::Method;
use domain::registry::Provider;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::Sandbox;
use crate::api::{cursor, limit_of, position};

/// Meta: pixels per ad account.
pub const META_PIXELS: usize = 32;
/// Google Ads: customers the login reaches.
pub const GOOGLE_ADS_CUSTOMERS: usize = 32;
/// TikTok: advertisers the token may use, and pixels per advertiser.
pub const TIKTOK_ADVERTISERS: usize = 34;
pub const TIKTOK_PIXELS: usize = 31;
/// GA4: accounts (the sixth has no property yet) and properties per account.
pub const GA4_ACCOUNTS: usize = 12;
pub const GA4_PROPERTIES_PER_ACCOUNT: usize = 3;
/// GA4: web streams per property (beside one app stream, which has no measurement ID).
pub const GA4_WEB_STREAMS: usize = 32;
/// Search Console: sites of the login.
pub const SEARCH_CONSOLE_SITES: usize = 33;
/// YouTube: channels of the login.
pub const YOUTUBE_CHANNELS: usize = 31;
/// Google Calendar: calendars on the login's list.
pub const CALENDARS: usize = 33;

/// A request to a sandboxed provider's API, as far as the listings read it.
pub struct Asked<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub method: &'a Method,
    pub query: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    pub token: Option<&'a str>,
    pub shared: bool,
}

/// The provider's answer to one of these listings or checks; `None` when the path is not one.
pub fn answer(sandbox: &Sandbox, provider: &Provider, asked: &Asked<'_>) -> Option<HttpResponse> {
    let version = provider.api_version.as_deref().unwrap_or_default();
    let get = *asked.method == Method::GET;
    // The path under the provider's API base (`/webmasters/v3/` for Search Console).
    let base = provider
        .api
        .as_ref()?
        .base
        .replace("{api_version}", version);
    let base_path = url::Url::parse(&base)
        .ok()?
        .path()
        .trim_end_matches('/')
        .to_owned();
    let rest = asked.path.strip_prefix(&format!("{base_path}/"))?;
    match provider.id.as_str() {
        "meta_ads" if get => meta(asked, version, rest),
        "google_ads" if *asked.method == Method::POST => google_ads_search(asked, rest),
        "tiktok_ads" if get => tiktok(sandbox, asked, rest),
        "ga4" if get => ga4(asked, rest),
        "search_console" if get && rest == "sites" => Some(search_console_sites(asked)),
        "youtube"
            if get
                && rest == "channels"
                && asked.query.get("mine").is_some_and(|m| m == "true") =>
        {
            Some(youtube_channels(asked))
        }
        "google_calendar" if get => calendar(asked, rest),
        _ => None,
    }
}

/// How many of `all` the login reaches.
fn reach(asked: &Asked<'_>, all: usize) -> usize {
    if asked.shared { all } else { 0 }
}

/// Google's error answer (`{"error": {"code", "message", "status"}}`).
fn google_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({
        "error": { "code": status.as_u16(), "message": message, "status": code }
    }))
}

/// A page of `all` items from a `pageToken`, `per_page` long: the positions and Google's next
/// page token (none on the last page).
fn google_page(
    asked: &Asked<'_>,
    size_param: &str,
    per_page: (usize, usize),
    all: usize,
) -> (std::ops::Range<usize>, Option<String>) {
    let size = limit_of(asked.query, size_param, per_page.0, per_page.1);
    let from = asked
        .query
        .get("pageToken")
        .and_then(|c| position(c))
        .unwrap_or(0)
        .min(all);
    let to = (from + size).min(all);
    (from..to, (to < all).then(|| cursor(to)))
}

// --- Meta ---------------------------------------------------------------------------------

const META_FIRST_ACCOUNT: u64 = 100_000_000_000_000;
const META_FIRST_PIXEL: u64 = 900_000_000_000_000;

fn meta_pixel_id(account: usize, pixel: usize) -> String {
    (META_FIRST_PIXEL + (account as u64) * 1000 + pixel as u64).to_string()
}

fn meta_pixel(account: usize, pixel: usize) -> Value {
    json!({
        "id": meta_pixel_id(account, pixel),
        "name": format!("Acme Store Pixel {:02} (Ads {:02})", pixel + 1, account + 1),
    })
}

fn meta_not_found(id: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": {
            "message": format!("Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
        }
    }))
}

/// `GET /{v}/act_{id}/adspixels` (Graph API cursor paging, 25 a page) and `GET /{v}/{pixel}`.
fn meta(asked: &Asked<'_>, version: &str, rest: &str) -> Option<HttpResponse> {
    let accounts = reach(asked, crate::api::META_AD_ACCOUNTS);
    if let Some(account) = rest.strip_suffix("/adspixels") {
        let index = account
            .strip_prefix("act_")
            .and_then(|n| n.parse::<u64>().ok())
            .and_then(|n| n.checked_sub(META_FIRST_ACCOUNT))
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n < accounts);
        let Some(index) = index else {
            return Some(meta_not_found(account));
        };
        let limit = limit_of(asked.query, "limit", 25, 100);
        let from = asked
            .query
            .get("after")
            .and_then(|c| position(c))
            .unwrap_or(0)
            .min(META_PIXELS);
        let to = (from + limit).min(META_PIXELS);
        let data: Vec<Value> = (from..to).map(|p| meta_pixel(index, p)).collect();
        let mut paging = json!({ "cursors": { "before": cursor(from), "after": cursor(to) } });
        if to < META_PIXELS {
            let mut params = url::form_urlencoded::Serializer::new(String::new());
            params.append_pair("access_token", asked.token.unwrap_or_default());
            params.append_pair("fields", "id,name");
            params.append_pair("limit", &limit.to_string());
            params.append_pair("after", &cursor(to));
            paging["next"] = json!(format!(
                "https://{}/{version}/{account}/adspixels?{}",
                asked.host,
                params.finish()
            ));
        }
        return Some(HttpResponse::Ok().json(json!({ "data": data, "paging": paging })));
    }
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let found = rest
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_sub(META_FIRST_PIXEL))
        .and_then(|n| usize::try_from(n).ok())
        .map(|n| (n / 1000, n % 1000))
        .filter(|(account, pixel)| *account < accounts && *pixel < META_PIXELS);
    Some(match found {
        Some((account, pixel)) => HttpResponse::Ok().json(meta_pixel(account, pixel)),
        None => meta_not_found(rest),
    })
}

// --- Google Ads ---------------------------------------------------------------------------

/// The resource names `customers:listAccessibleCustomers` gives, every one at once.
pub fn google_ads_customers(shared: bool) -> Value {
    let names: Vec<String> = (0..if shared { GOOGLE_ADS_CUSTOMERS } else { 0 })
        .map(|i| format!("customers/{}", google_ads_customer_id(i)))
        .collect();
    // Proto3 JSON leaves an empty list out.
    if names.is_empty() {
        json!({})
    } else {
        json!({ "resourceNames": names })
    }
}

fn google_ads_customer_id(i: usize) -> u64 {
    5_550_000_001 + i as u64
}

/// `POST /{v}/customers/{id}/googleAds:search` with a `customer` query: the customer's name,
/// and whether it is a manager (the first is).
fn google_ads_search(asked: &Asked<'_>, rest: &str) -> Option<HttpResponse> {
    let id = rest
        .strip_prefix("customers/")?
        .strip_suffix("/googleAds:search")?;
    let query = serde_json::from_slice::<Value>(asked.body)
        .ok()
        .and_then(|body| body.get("query")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    if !query.contains("FROM customer") {
        return Some(google_error(
            400,
            "INVALID_ARGUMENT",
            "The sandbox answers `FROM customer` queries only.",
        ));
    }
    let index = id
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_sub(5_550_000_001))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n < reach(asked, GOOGLE_ADS_CUSTOMERS));
    Some(match index {
        Some(i) => HttpResponse::Ok().json(json!({
            "results": [{ "customer": {
                "resourceName": format!("customers/{id}"),
                "id": id,
                "descriptiveName": format!("Acme Sandbox Customer {:02}", i + 1),
                "manager": i == 0,
            } }],
            "fieldMask": "customer.id,customer.descriptiveName,customer.manager",
            "requestId": "sandbox",
        })),
        None => google_error(
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
        ),
    })
}

// --- TikTok -------------------------------------------------------------------------------

const TIKTOK_FIRST_ADVERTISER: u64 = 7_000_000_000_000_000;

fn tiktok_refusal(code: u32, message: &str) -> HttpResponse {
    // TikTok answers HTTP 200 and says no in `code`.
    HttpResponse::Ok()
        .json(json!({ "code": code, "message": message, "request_id": "sandbox", "data": {} }))
}

fn tiktok_ok(data: Value) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({ "code": 0, "message": "OK", "request_id": "sandbox", "data": data }))
}

fn tiktok_pixel_code(advertiser: usize, pixel: usize) -> String {
    format!("CSBX{advertiser:02}P{pixel:02}QRSTUVWX")
}

/// `oauth2/advertiser/get/` (the app's id and secret as query parameters, every advertiser
/// at once) and `pixel/list/` (numbered pages, `page_info`, filtered by `code`).
fn tiktok(sandbox: &Sandbox, asked: &Asked<'_>, rest: &str) -> Option<HttpResponse> {
    let advertisers = reach(asked, TIKTOK_ADVERTISERS);
    match rest {
        "oauth2/advertiser/get/" => {
            let app_matches = |param: &str, env: &str| {
                asked.query.get(param).is_some_and(|v| {
                    sandbox
                        .env(env)
                        .is_some_and(|expected| expected.expose_secret() == v)
                })
            };
            if !app_matches("app_id", "TIKTOK_APP_ID")
                || !app_matches("secret", "TIKTOK_APP_SECRET")
            {
                return Some(tiktok_refusal(
                    40001,
                    "The app_id or secret is missing or wrong.",
                ));
            }
            let list: Vec<Value> = (0..advertisers)
                .map(|i| {
                    json!({
                        "advertiser_id": (TIKTOK_FIRST_ADVERTISER + i as u64).to_string(),
                        "advertiser_name": format!("Acme Sandbox Advertiser {:02}", i + 1),
                    })
                })
                .collect();
            Some(tiktok_ok(json!({ "list": list })))
        }
        "pixel/list/" => {
            let advertiser = asked
                .query
                .get("advertiser_id")
                .and_then(|id| id.parse::<u64>().ok())
                .and_then(|n| n.checked_sub(TIKTOK_FIRST_ADVERTISER))
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n < advertisers);
            let Some(advertiser) = advertiser else {
                return Some(tiktok_refusal(
                    40001,
                    "No permission to operate this advertiser.",
                ));
            };
            let matching: Vec<usize> = (0..TIKTOK_PIXELS)
                .filter(|p| {
                    asked
                        .query
                        .get("code")
                        .is_none_or(|code| *code == tiktok_pixel_code(advertiser, *p))
                })
                .collect();
            let size = limit_of(asked.query, "page_size", 10, 20);
            let pages = matching.len().div_ceil(size).max(1);
            let page = limit_of(asked.query, "page", 1, pages);
            let pixels: Vec<Value> = matching
                .iter()
                .skip((page - 1) * size)
                .take(size)
                .map(|p| {
                    json!({
                        "pixel_id": format!("{}", 7_300_000_000_000_000_000u64 + (advertiser * 100 + p) as u64),
                        "pixel_code": tiktok_pixel_code(advertiser, *p),
                        "pixel_name": format!("Acme Pixel {:02}", p + 1),
                        "activity_status": "ACTIVE",
                    })
                })
                .collect();
            Some(tiktok_ok(json!({
                "pixels": pixels,
                "page_info": { "page": page, "page_size": size, "total_number": matching.len(), "total_page": pages },
            })))
        }
        _ => None,
    }
}

// --- GA4 ----------------------------------------------------------------------------------

const GA4_FIRST_PROPERTY: usize = 400_000_000;
/// The account that has no property yet.
const GA4_EMPTY_ACCOUNT: usize = 5;

fn ga4_properties_of(account: usize) -> usize {
    if account == GA4_EMPTY_ACCOUNT {
        0
    } else {
        GA4_PROPERTIES_PER_ACCOUNT
    }
}

fn ga4_property_name(account: usize, property: usize) -> String {
    format!("Acme Store {:02}-{}", account + 1, property + 1)
}

/// The (account, property) of a property id the login reaches.
fn ga4_property(asked: &Asked<'_>, id: &str) -> Option<(usize, usize)> {
    let n = id.parse::<usize>().ok()?.checked_sub(GA4_FIRST_PROPERTY)?;
    let (account, property) = (n / 10, n % 10);
    (account < reach(asked, GA4_ACCOUNTS) && property < ga4_properties_of(account))
        .then_some((account, property))
}

/// `accountSummaries` (5 accounts a page at most, whatever `pageSize` asks: Google may answer
/// fewer), `properties/{id}` and `properties/{id}/dataStreams` (10 a page at most).
fn ga4(asked: &Asked<'_>, rest: &str) -> Option<HttpResponse> {
    if rest == "accountSummaries" {
        let accounts = reach(asked, GA4_ACCOUNTS);
        let (range, next) = google_page(asked, "pageSize", (5, 5), accounts);
        let summaries: Vec<Value> = range
            .map(|a| {
                let properties: Vec<Value> = (0..ga4_properties_of(a))
                    .map(|p| {
                        json!({
                            "property": format!("properties/{}", GA4_FIRST_PROPERTY + a * 10 + p),
                            "displayName": ga4_property_name(a, p),
                            "propertyType": "PROPERTY_TYPE_ORDINARY",
                            "parent": format!("accounts/{}", 300_000 + a),
                        })
                    })
                    .collect();
                let mut summary = json!({
                    "name": format!("accountSummaries/{}", 300_000 + a),
                    "account": format!("accounts/{}", 300_000 + a),
                    "displayName": format!("Acme Sandbox Account {:02}", a + 1),
                });
                // Proto3 JSON leaves an empty list out.
                if !properties.is_empty() {
                    summary["propertySummaries"] = json!(properties);
                }
                summary
            })
            .collect();
        let mut answer = json!({});
        if !summaries.is_empty() {
            answer["accountSummaries"] = json!(summaries);
        }
        if let Some(next) = next {
            answer["nextPageToken"] = json!(next);
        }
        return Some(HttpResponse::Ok().json(answer));
    }
    let rest = rest.strip_prefix("properties/")?;
    let (id, streams) = match rest.split_once('/') {
        Some((id, "dataStreams")) => (id, true),
        Some(_) => return None,
        None => (rest, false),
    };
    let Some((account, property)) = ga4_property(asked, id) else {
        return Some(google_error(
            403,
            "PERMISSION_DENIED",
            "User does not have sufficient permissions for this property.",
        ));
    };
    if !streams {
        return Some(HttpResponse::Ok().json(json!({
            "name": format!("properties/{id}"),
            "displayName": ga4_property_name(account, property),
            "parent": format!("accounts/{}", 300_000 + account),
        })));
    }
    // Position 0 is an app stream; the web streams follow.
    let (range, next) = google_page(asked, "pageSize", (10, 10), GA4_WEB_STREAMS + 1);
    let list: Vec<Value> = range
        .map(|s| {
            let name = format!("properties/{id}/dataStreams/{}", 500_000 + s);
            if s == 0 {
                return json!({ "name": name, "type": "ANDROID_APP_DATA_STREAM", "displayName": "Acme Android app",
                    "androidAppStreamData": { "firebaseAppId": "1:123:android:abc", "packageName": "com.acme.app" } });
            }
            json!({
                "name": name,
                "type": "WEB_DATA_STREAM",
                "displayName": format!("Acme web {s:02}"),
                "webStreamData": {
                    "measurementId": format!("G-S{:02}{}{s:02}", account + 1, property + 1),
                    "defaultUri": format!("https://shop{s:02}.acme.example"),
                },
            })
        })
        .collect();
    let mut answer = json!({ "dataStreams": list });
    if let Some(next) = next {
        answer["nextPageToken"] = json!(next);
    }
    Some(HttpResponse::Ok().json(answer))
}

// --- Search Console -----------------------------------------------------------------------

/// `GET /webmasters/v3/sites`: every site at once in `siteEntry`, left out when there is none.
fn search_console_sites(asked: &Asked<'_>) -> HttpResponse {
    let sites: Vec<Value> = (0..reach(asked, SEARCH_CONSOLE_SITES))
        .map(|i| {
            let url = if i == 0 {
                "sc-domain:acme.example".to_owned()
            } else {
                format!("https://shop{i:02}.acme.example/")
            };
            let level = if i % 4 == 3 {
                "siteFullUser"
            } else {
                "siteOwner"
            };
            json!({ "siteUrl": url, "permissionLevel": level })
        })
        .collect();
    if sites.is_empty() {
        HttpResponse::Ok().json(json!({}))
    } else {
        HttpResponse::Ok().json(json!({ "siteEntry": sites }))
    }
}

// --- YouTube ------------------------------------------------------------------------------

/// `GET /youtube/v3/channels?mine=true`: `pageToken` paging, 5 a page unless `maxResults`
/// (up to 50) says otherwise.
fn youtube_channels(asked: &Asked<'_>) -> HttpResponse {
    let all = reach(asked, YOUTUBE_CHANNELS);
    let (range, next) = google_page(asked, "maxResults", (5, 50), all);
    let items: Vec<Value> = range
        .map(|i| {
            json!({
                "kind": "youtube#channel",
                "id": format!("UCsandboxChannel{:08}", i + 1),
                "snippet": { "title": format!("Acme Channel {:02}", i + 1), "description": "" },
            })
        })
        .collect();
    let mut answer = json!({
        "kind": "youtube#channelListResponse",
        "pageInfo": { "totalResults": all, "resultsPerPage": items.len() },
        "items": items,
    });
    if let Some(next) = next {
        answer["nextPageToken"] = json!(next);
    }
    HttpResponse::Ok().json(answer)
}

// --- Google Calendar ----------------------------------------------------------------------

fn calendar_entry(i: usize) -> Value {
    if i == 0 {
        return json!({ "kind": "calendar#calendarListEntry", "id": "acme@sandbox.example", "summary": "Acme Team", "accessRole": "owner", "primary": true });
    }
    json!({
        "kind": "calendar#calendarListEntry",
        "id": format!("launch{i:02}@group.calendar.google.com"),
        "summary": format!("Launch calendar {i:02}"),
        "accessRole": if i.is_multiple_of(3) { "reader" } else { "writer" },
    })
}

/// `users/me/calendarList`: `pageToken` paging, 100 a page unless `maxResults` says less.
fn calendar(asked: &Asked<'_>, rest: &str) -> Option<HttpResponse> {
    if rest != "users/me/calendarList" {
        return None;
    }
    let all = reach(asked, CALENDARS);
    let (range, next) = google_page(asked, "maxResults", (100, 250), all);
    let mut answer = json!({
        "kind": "calendar#calendarList",
        "items": range.map(calendar_entry).collect::<Vec<_>>(),
    });
    if let Some(next) = next {
        answer["nextPageToken"] = json!(next);
    }
    Some(HttpResponse::Ok().json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_the_registry_patterns_accept() {
        let pixel = meta_pixel_id(59, 31);
        assert!(pixel.len() <= 20 && pixel.bytes().all(|b| b.is_ascii_digit()));
        let code = tiktok_pixel_code(33, 30);
        assert!((10..=32).contains(&code.len()));
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
    }
}
