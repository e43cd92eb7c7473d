//! What a connection can be pointed at (an ad account, a channel): listed live from the provider
//! through the proxy (so the token is fresh and a 401 renews it once), kept a minute, and a
//! chosen one checked before it is stored.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::OrgId;
use domain::lifecycle::{self, Check, Unusable};
use domain::model::{Actor, Connection};
use domain::registry::{Provider, Resource, ResourceKind};
use domain::resources::{self, Item, Listing};

use super::catalog::provider as find_provider;
use super::proxy::{self, Call, Purpose};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

/// How long a listed page is reused.
const KEPT_FOR: Duration = Duration::from_secs(60);
/// Pages kept at most, across every organization.
const MOST_PAGES: usize = 1024;
/// Provider pages one search reads at most before it answers what it found so far.
const SEARCHED_PAGES: usize = 10;
/// Matches that make a search's page.
const SEARCH_ENOUGH: usize = 25;

/// Listed pages, by organization, provider, kind and cursor, each kept a minute. Bounded: when
/// full, the pages past their minute go; if none has, all do.
#[derive(Default)]
pub struct ListingCache {
    pages: Mutex<HashMap<PageKey, (Instant, Listing)>>,
}

type PageKey = (OrgId, String, ResourceKind, Option<String>);

impl ListingCache {
    fn get(&self, key: &PageKey) -> Option<Listing> {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        pages
            .get(key)
            .filter(|(at, _)| at.elapsed() < KEPT_FOR)
            .map(|(_, listing)| listing.clone())
    }

    fn put(&self, key: PageKey, listing: Listing) {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= MOST_PAGES {
            pages.retain(|_, (at, _)| at.elapsed() < KEPT_FOR);
            if pages.len() >= MOST_PAGES {
                pages.clear();
            }
        }
        pages.insert(key, (Instant::now(), listing));
    }
}

/// The provider's resource of this kind, or a 404 that says what there is.
pub fn resource_of<'p>(provider: &'p Provider, kind: &str) -> ApiResult<&'p Resource> {
    ResourceKind::parse(kind)
        .and_then(|kind| provider.resource(kind))
        .ok_or_else(|| {
            let kinds: Vec<&str> = provider.resources.iter().map(|r| r.kind.as_str()).collect();
            let what = if kinds.is_empty() {
                "nothing to choose".to_owned()
            } else {
                kinds.join(", ")
            };
            ApiError::not_found(format!(
                "{} has no `{kind}` to choose from; it has {what}.",
                provider.name
            ))
        })
}

/// One page of a provider's resources of one kind, `q` matched against ids and names.
pub async fn list(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider_id: &str,
    kind: &str,
    cursor: Option<&str>,
    q: Option<&str>,
) -> ApiResult<Listing> {
    let provider = find_provider(state, provider_id)?;
    let resource = resource_of(provider, kind)?;
    let q = q.map(str::trim).unwrap_or_default();
    let mut cursor = cursor.map(str::to_owned);
    let mut found = Vec::new();
    // A search reads on through the provider's pages until a page's worth matches.
    for _ in 0..SEARCHED_PAGES {
        let page = page(state, org_id, actor, provider, resource, cursor.as_deref()).await?;
        found.extend(
            page.items
                .into_iter()
                .filter(|item| resources::matches(item, q)),
        );
        cursor = page.next_cursor;
        if q.is_empty() || found.len() >= SEARCH_ENOUGH || cursor.is_none() {
            break;
        }
    }
    Ok(Listing {
        items: found,
        next_cursor: cursor,
    })
}

/// One page as the provider lists it, kept a minute.
async fn page(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    resource: &Resource,
    cursor: Option<&str>,
) -> ApiResult<Listing> {
    let key = (
        org_id,
        provider.id.clone(),
        resource.kind,
        cursor.map(str::to_owned),
    );
    if let Some(listing) = state.listings.get(&key) {
        return Ok(listing);
    }
    let listing = fetch_page(state, org_id, actor, provider, resource, cursor).await?;
    state.listings.put(key, listing.clone());
    Ok(listing)
}

async fn fetch_page(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    resource: &Resource,
    cursor: Option<&str>,
) -> ApiResult<Listing> {
    let (path, query) = resources::list_request(resource, cursor);
    let (status, body) = get(state, org_id, actor, provider, path, query).await?;
    if !(200..300).contains(&status) {
        return Err(refused(provider, resource, status));
    }
    resources::read_listing(resource, &body).map_err(|err| {
        tracing::warn!(provider = %provider.id, kind = resource.kind.as_str(), error = %err, "a listing could not be read");
        ApiError::new(
            actix_web::http::StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamUnavailable,
            format!(
                "{} answered the {} list with something Plugboard could not read; try again later.",
                provider.name,
                resource.label.to_lowercase()
            ),
        )
    })
}

/// The chosen id as the connection reaches it (with its name where the provider gives one), or
/// `None` when it cannot: its check request answers 2xx, or (without one) it is in the
/// listing's first pages.
pub async fn look_up(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    resource: &Resource,
    id: &str,
) -> ApiResult<Option<Item>> {
    if let Some(path) = resources::check_request(resource, id) {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
            None => (path, None),
        };
        let (status, body) = get(state, org_id, actor, provider, path, query).await?;
        return match status {
            200..=299 if !answers_not_ok(&body) => Ok(Some(
                resources::read_checked(resource, id, &body).unwrap_or(Item {
                    id: id.to_owned(),
                    name: None,
                    detail: None,
                }),
            )),
            200..=299 | 400 | 403 | 404 => Ok(None),
            _ => Err(refused(provider, resource, status)),
        };
    }
    const MOST_PAGES_CHECKED: usize = 20;
    let mut cursor: Option<String> = None;
    for _ in 0..MOST_PAGES_CHECKED {
        let page = fetch_page(state, org_id, actor, provider, resource, cursor.as_deref()).await?;
        if let Some(item) = page.items.into_iter().find(|item| item.id == id) {
            return Ok(Some(item));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// Whether Plugboard asks the provider about what a connection is pointed at: while it is
/// working, or failing (that is how a lost resource is found back), not while it is off,
/// expired or not connected.
pub fn may_look(connection: Option<&Connection>) -> bool {
    matches!(
        lifecycle::usable(connection),
        Ok(_) | Err(Unusable::Failing)
    )
}

/// What a check looks up: the stored connection, the settings to check, and what the provider
/// already showed of some of them (looked up moments before, not asked again).
pub struct Looked<'a> {
    pub stored: &'a Connection,
    pub config: &'a BTreeMap<String, String>,
    pub known: &'a [Item],
}

/// A check whose credentials passed, carried on to what the connection is pointed at: a chosen
/// resource it can no longer reach fails the check (`resource_lost`).
pub async fn carry_on(
    state: &AppState,
    actor: &Actor,
    provider: &Provider,
    looked: Looked<'_>,
    check: Check,
) -> ApiResult<Check> {
    let Looked {
        stored,
        config,
        known,
    } = looked;
    let Check::Verified {
        account_name,
        account_id,
        message,
    } = check
    else {
        return Ok(check);
    };
    if !may_look(Some(stored)) {
        return Ok(Check::Verified {
            account_name,
            account_id,
            message,
        });
    }
    let mut chosen = Vec::new();
    for resource in &provider.resources {
        let Some(id) = config.get(&resource.setting).filter(|id| !id.is_empty()) else {
            continue;
        };
        if let Some(item) = known.iter().find(|item| item.id == *id) {
            chosen.push(item.clone());
            continue;
        }
        match look_up(state, stored.org_id, actor, provider, resource, id).await? {
            Some(item) => chosen.push(item),
            None => return Ok(lifecycle::resource_lost(provider, resource, id)),
        }
    }
    let account_name = if chosen.is_empty() {
        account_name
    } else {
        resources::shown_name(&chosen, account_name.as_deref())
    };
    Ok(Check::Verified {
        account_name,
        account_id,
        message,
    })
}

/// Slack answers 200 with `{"ok": false}` when it refuses.
fn answers_not_ok(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|answer| answer.get("ok").cloned())
        == Some(serde_json::Value::Bool(false))
}

/// A GET through the proxy, read whole (listings are small); its status and body.
async fn get(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    path: String,
    query: Option<String>,
) -> ApiResult<(u16, Vec<u8>)> {
    let call = Call {
        method: reqwest::Method::GET,
        path,
        query,
        headers: Vec::new(),
        body: actix_web::web::Bytes::new(),
        proxy_base: String::new(),
        retries: 1,
    };
    let proxied = proxy::call_for(state, org_id, actor, &provider.id, call, Purpose::Setup).await?;
    let status = proxied.response.status().as_u16();
    let body = crate::outbound::read_body(proxied.response)
        .await
        .map_err(|failure| {
            tracing::warn!(provider = %provider.id, ?failure, "a listing was not read");
            ApiError::unavailable(
                ErrorCode::ProviderUnavailable,
                format!(
                    "{} did not finish answering; try again in a minute.",
                    provider.name
                ),
            )
        })?;
    Ok((status, body))
}

/// A listing or check the provider would not answer: a refusal says to reconnect; an outage
/// is a 503.
fn refused(provider: &Provider, resource: &Resource, status: u16) -> ApiError {
    let name = &provider.name;
    let what = resource.label.to_lowercase();
    match status {
        401 | 403 => ApiError::conflict(
            ErrorCode::CredentialsRejected,
            format!(
                "{name} would not list the {what}s this connection may use (HTTP {status}). Reconnect {name} and grant access to them."
            ),
        ),
        429 | 500..=599 => ApiError::unavailable(
            ErrorCode::ProviderUnavailable,
            format!(
                "{name} could not list the {what}s right now (HTTP {status}); try again in a minute."
            ),
        ),
        _ => ApiError::new(
            actix_web::http::StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamUnavailable,
            format!("{name} refused to list the {what}s (HTTP {status})."),
        ),
    }
}
