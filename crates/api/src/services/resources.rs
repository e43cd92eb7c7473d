//! What a connection can be pointed at (an ad account, a channel): listed live from the provider
//! through the proxy (so the token is fresh and a 401 renews it once), kept a minute, and a
//! chosen one checked before it is stored.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use domain::OrgId;
use domain::lifecycle::{self, Check, Unusable};
use domain::model::{Actor, Connection};
use domain::registry::{Method, NameRequest, Provider, Resource, ResourceKind};
use domain::resources::{self, Item, Listing, ListingError, Unchosen};

use super::catalog::provider as find_provider;
use super::proxy::{self, Call, Proposed, Purpose};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::recent::Recent;
use crate::state::AppState;

/// How long a listed page is reused.
const KEPT_FOR: Duration = Duration::from_secs(60);
/// Pages kept at most, across every organization.
const MOST_PAGES: usize = 1024;
/// Provider pages one search reads at most before it answers what it found so far.
const SEARCHED_PAGES: usize = 10;
/// Matches that make a search's page.
const SEARCH_ENOUGH: usize = 25;
/// Provider pages a check reads at most looking for a chosen id it cannot ask for alone.
const MOST_PAGES_CHECKED: usize = 20;

/// Listed pages, by organization, provider, kind and the request that listed them (its
/// parent's id and cursor; never a credential).
pub type ListingCache = Recent<PageKey, Listing>;

type PageKey = (OrgId, String, ResourceKind, String);

/// The cache of listed pages: each kept a minute, 1 024 at most.
pub fn listing_cache() -> ListingCache {
    Recent::new(KEPT_FOR, MOST_PAGES)
}

/// Whose credentials and which settings a listing or check uses.
#[derive(Clone, Copy)]
pub enum Using<'a> {
    /// The stored connection's credentials (renewed when due), with these settings (the
    /// stored ones, or those a change is about to save).
    Stored(&'a BTreeMap<String, String>),
    /// Credentials and settings a change is about to save, not stored yet.
    Proposed(&'a Proposed<'a>),
}

impl<'a> Using<'a> {
    fn config(self) -> &'a BTreeMap<String, String> {
        match self {
            Using::Stored(config) => config,
            Using::Proposed(proposed) => proposed.config,
        }
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

/// A dependent listing or check asked before its parent is chosen.
fn unchosen(provider: &Provider, resource: &Resource, missing: Unchosen) -> ApiError {
    let parent = provider
        .resources
        .iter()
        .find(|r| r.setting == missing.setting)
        .map_or(missing.setting.clone(), |r| r.label.to_lowercase());
    ApiError::conflict(
        ErrorCode::ParentNotChosen,
        format!(
            "Choose the {parent} first: {} lists {}s per {parent}.",
            provider.name,
            resource.label.to_lowercase()
        ),
    )
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
    // The stored settings fill a dependent listing (a pixel's ad account).
    let connection = proxy::admitted(state, org_id, provider, Purpose::Setup)
        .await?
        .connection;
    let q = q.map(str::trim).unwrap_or_default();
    let mut cursor = cursor.map(str::to_owned);
    let mut found = Vec::new();
    // A search reads on through the provider's pages until a page's worth matches.
    for _ in 0..SEARCHED_PAGES {
        let page = page(
            state,
            org_id,
            actor,
            provider,
            resource,
            &connection.config,
            cursor.as_deref(),
        )
        .await?;
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

/// One page as shown: the provider's page (or a slice of a whole answer), its items named
/// where the provider lists ids only; kept a minute.
async fn page(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    resource: &Resource,
    config: &BTreeMap<String, String>,
    cursor: Option<&str>,
) -> ApiResult<Listing> {
    let (path, query) = resources::list_request(resource, config, cursor)
        .map_err(|missing| unchosen(provider, resource, missing))?;
    let key = (
        org_id,
        provider.id.clone(),
        resource.kind,
        format!(
            "{path}?{}#{}",
            query.as_deref().unwrap_or_default(),
            cursor.unwrap_or_default()
        ),
    );
    if let Some(listing) = state.listings.get(&key) {
        return Ok(listing);
    }
    let read_at = Instant::now();
    let using = Using::Stored(config);
    let listed = fetch_page(state, org_id, actor, provider, resource, using, path, query).await?;
    let mut listing = resources::slice(resource, listed, cursor);
    if let Some(named) = &resource.named_by {
        name_items(
            state,
            org_id,
            actor,
            provider,
            using,
            named,
            &mut listing.items,
        )
        .await;
    }
    state.listings.keep(key, listing.clone(), read_at);
    Ok(listing)
}

/// Names each item with the provider's naming request, all at once; an item whose request
/// fails keeps its id alone (the listing is still of use).
async fn name_items(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    using: Using<'_>,
    named: &NameRequest,
    items: &mut [Item],
) {
    let asked = items.iter().map(|item| {
        let (method, path, body) = resources::name_request(named, &item.id);
        let request = Request {
            method,
            path,
            query: None,
            body,
            injected_query: BTreeMap::new(),
        };
        ask(state, org_id, actor, provider, using, request)
    });
    let answers = futures_util::future::join_all(asked).await;
    for (item, answer) in items.iter_mut().zip(answers) {
        match answer {
            Ok((200..=299, body)) => {
                let (name, detail) = resources::read_named(named, &body);
                item.name = item.name.take().or(name);
                item.detail = item.detail.take().or(detail);
            }
            Ok((status, _)) => {
                tracing::info!(provider = %provider.id, status, "an item could not be named");
            }
            Err(err) => {
                tracing::info!(provider = %provider.id, code = err.code().as_str(), "an item could not be named");
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn fetch_page(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    resource: &Resource,
    using: Using<'_>,
    path: String,
    query: Option<String>,
) -> ApiResult<Listing> {
    let request = Request {
        method: Method::Get,
        path,
        query,
        body: None,
        injected_query: resource.query.clone(),
    };
    let (status, body) = ask(state, org_id, actor, provider, using, request).await?;
    if !(200..300).contains(&status) {
        return Err(refused(provider, resource, status));
    }
    resources::read_listing(resource, &body).map_err(|err| {
        tracing::warn!(provider = %provider.id, kind = resource.kind.as_str(), error = %err, "a listing could not be read");
        match err {
            ListingError::Refused => ApiError::conflict(
                ErrorCode::ProviderRefused,
                format!(
                    "{} refused to list the {}s this connection may use. Reconnect {} with a login that has access to them.",
                    provider.name,
                    resource.label.to_lowercase(),
                    provider.name
                ),
            ),
            ListingError::NotJson | ListingError::NoItems => ApiError::new(
                actix_web::http::StatusCode::BAD_GATEWAY,
                ErrorCode::UpstreamUnavailable,
                format!(
                    "{} answered the {} list with something Plugboard could not read; try again later.",
                    provider.name,
                    resource.label.to_lowercase()
                ),
            ),
        }
    })
}

/// The chosen id as the connection reaches it (with its name where the provider gives one), or
/// `None` when it cannot: its check request answers with it, or (without one) it is in the
/// listing's first pages. A dependent one whose parent is not chosen is a 409.
pub async fn look_up(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    resource: &Resource,
    using: Using<'_>,
    id: &str,
) -> ApiResult<Option<Item>> {
    let config = using.config();
    if let Some(missing) = resources::unchosen_parent(resource, config) {
        return Err(unchosen(provider, resource, missing));
    }
    let check = resources::check_request(resource, config, id)
        .map_err(|missing| unchosen(provider, resource, missing))?;
    if let Some((path, query)) = check {
        let request = Request {
            method: Method::Get,
            path,
            query,
            body: None,
            injected_query: resource.query.clone(),
        };
        let (status, body) = ask(state, org_id, actor, provider, using, request).await?;
        return match status {
            200..=299 => Ok(resources::read_checked(resource, id, &body)),
            400 | 403 | 404 => Ok(None),
            _ => Err(refused(provider, resource, status)),
        };
    }
    let mut cursor: Option<String> = None;
    for _ in 0..MOST_PAGES_CHECKED {
        let (path, query) = resources::list_request(resource, config, cursor.as_deref())
            .map_err(|missing| unchosen(provider, resource, missing))?;
        let page = fetch_page(state, org_id, actor, provider, resource, using, path, query).await?;
        if let Some(mut item) = page.items.into_iter().find(|item| item.id == id) {
            if let Some(named) = &resource.named_by {
                let items = std::slice::from_mut(&mut item);
                name_items(state, org_id, actor, provider, using, named, items).await;
            }
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

/// What a check looks up: the stored connection, the credentials and settings to check
/// with, and what the provider already showed of some of them (looked up moments before,
/// not asked again).
pub struct Looked<'a> {
    pub stored: &'a Connection,
    pub using: Using<'a>,
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
        using,
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
    let config = using.config();
    let mut chosen = Vec::new();
    for resource in &provider.resources {
        let Some(id) = config.get(&resource.setting).filter(|id| !id.is_empty()) else {
            continue;
        };
        if let Some(item) = known.iter().find(|item| item.id == *id) {
            chosen.push((resource, item.clone()));
            continue;
        }
        // A choice whose parent is gone is not checked: the parent's own choice is what
        // the connection lacks, and it says so.
        if resources::unchosen_parent(resource, config).is_some() {
            continue;
        }
        match look_up(state, stored.org_id, actor, provider, resource, using, id).await? {
            Some(item) => chosen.push((resource, item)),
            None => return Ok(lifecycle::resource_lost(provider, resource, id)),
        }
    }
    let (account_name, account_id) = resources::named_account(&chosen, account_name, account_id);
    Ok(Check::Verified {
        account_name,
        account_id,
        message,
    })
}

/// One request to the provider for a listing, a check or a name.
struct Request {
    method: Method,
    path: String,
    query: Option<String>,
    /// A JSON body.
    body: Option<String>,
    injected_query: BTreeMap<String, String>,
}

/// A request through the proxy, read whole (listings are small); its status and body.
async fn ask(
    state: &AppState,
    org_id: OrgId,
    actor: &Actor,
    provider: &Provider,
    using: Using<'_>,
    request: Request,
) -> ApiResult<(u16, Vec<u8>)> {
    let Request {
        method,
        path,
        query,
        body,
        injected_query,
    } = request;
    let (method, headers) = match method {
        Method::Get => (reqwest::Method::GET, Vec::new()),
        Method::Post => (
            reqwest::Method::POST,
            vec![("content-type".to_owned(), b"application/json".to_vec())],
        ),
    };
    let call = Call {
        method,
        path,
        query,
        headers,
        body: body.map(actix_web::web::Bytes::from).unwrap_or_default(),
        proxy_base: String::new(),
        retries: 1,
        injected_query,
    };
    let proxied = match using {
        Using::Stored(_) => {
            proxy::call_for(state, org_id, actor, &provider.id, call, Purpose::Setup).await?
        }
        Using::Proposed(proposed) => proxy::call_proposed(state, provider, proposed, call).await?,
    };
    let status = proxied.response.status().as_u16();
    let mut scrubber = proxied.rewriter;
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
    // No stored secret or app credential leaves in what is listed, whatever the provider echoed.
    let mut body = scrubber.feed(&body);
    body.extend(scrubber.finish());
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
