//! Reading what a connection can be pointed at: the request that lists one page of a
//! provider's resources, the page read from its answer, and the request that checks a chosen
//! one is still reachable. Sending is the API's job (through the proxy, so the credential, the
//! token's renewal and the egress rules are the proxy's).

use serde_json::Value;

use std::collections::BTreeMap;

use crate::registry::{CONFIG_PREFIX, Method, NameRequest, Paging, Provider, Resource};
use crate::template::{self, Escape};

/// The longest cursor Plugboard passes back to a provider.
pub const MAX_CURSOR_LEN: usize = 2048;

/// One thing a connection can be pointed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub name: Option<String>,
    pub detail: Option<String>,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub items: Vec<Item>,
    /// The provider's cursor for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// Why an answer could not be read as a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    #[error("the answer is not JSON")]
    NotJson,
    #[error("the answer has no list where the registry says")]
    NoItems,
    #[error("the answer says the provider refused")]
    Refused,
}

/// A listing or check that depends on another choice (a pixel on its ad account) asked before
/// that choice is made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{setting}` is not chosen yet")]
pub struct Unchosen {
    /// The parent's setting.
    pub setting: String,
}

/// The resource whose choice this one's listing depends on (a Meta pixel's ad account).
pub fn parent<'p>(provider: &'p Provider, resource: &Resource) -> Option<&'p Resource> {
    let setting = resource.parent_settings().next()?;
    provider.resources.iter().find(|r| r.setting == setting)
}

/// The parent's setting a dependent choice still lacks (a pixel's ad account): it is listed
/// and chosen only under its parent.
pub fn unchosen_parent(resource: &Resource, config: &BTreeMap<String, String>) -> Option<Unchosen> {
    resource
        .parent_settings()
        .find(|setting| config.get(*setting).is_none_or(|v| v.is_empty()))
        .map(|setting| Unchosen {
            setting: setting.to_owned(),
        })
}

/// Fills a listing's or check's template: `{config.…}` from the settings (a parent that is
/// not chosen yet is `Unchosen`), `{id}` with the listed id.
fn render(
    template: &str,
    config: &BTreeMap<String, String>,
    id: Option<&str>,
) -> Result<String, Unchosen> {
    template::render(template, |name| {
        if name == "id" {
            return id.map(|id| (id, Escape::Raw));
        }
        let setting = name.strip_prefix(CONFIG_PREFIX)?;
        let value = config.get(setting).filter(|v| !v.is_empty())?;
        Some((value.as_str(), Escape::Url))
    })
    // The registry's validation allows no placeholder but these, so a missing one is a
    // parent's setting.
    .map_err(|template::TemplateError::Missing(name)| Unchosen {
        setting: name.strip_prefix(CONFIG_PREFIX).unwrap_or(&name).to_owned(),
    })
}

fn split(path: String) -> (String, Option<String>) {
    match path.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (path, None),
    }
}

/// The path and query that list one page, starting after `cursor`; the settings fill a
/// parent's `{config.…}`.
pub fn list_request(
    resource: &Resource,
    config: &BTreeMap<String, String>,
    cursor: Option<&str>,
) -> Result<(String, Option<String>), Unchosen> {
    let (path, query) = split(render(&resource.list, config, None)?);
    let mut query = query.unwrap_or_default();
    let param = match &resource.paging {
        Some(Paging::Cursor(p)) => Some(&p.param),
        Some(Paging::Numbered(p)) => Some(&p.param),
        Some(Paging::Sliced(_)) | None => None,
    };
    if let (Some(param), Some(cursor)) = (param, cursor) {
        let mut pair = url::form_urlencoded::Serializer::new(String::new());
        pair.append_pair(param, cursor);
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&pair.finish());
    }
    Ok((path, (!query.is_empty()).then_some(query)))
}

/// The path and query that check a chosen id; `None` when the listing itself is the check.
pub fn check_request(
    resource: &Resource,
    config: &BTreeMap<String, String>,
    id: &str,
) -> Result<Option<(String, Option<String>)>, Unchosen> {
    let Some(check) = resource.check.as_ref() else {
        return Ok(None);
    };
    let listed = match &resource.id_prefix {
        Some(prefix) => format!("{prefix}{id}"),
        None => id.to_owned(),
    };
    Ok(Some(split(render(
        check,
        config,
        Some(&path_encoded(&listed)),
    )?)))
}

/// The request that names one listed item: method, path and body.
pub fn name_request(named: &NameRequest, id: &str) -> (Method, String, Option<String>) {
    let path = template::fill(&named.path, "id", &path_encoded(id));
    let body = named.body.as_ref().map(|body| {
        template::render(body, |_| Some((id, Escape::Json))).unwrap_or_else(|_| body.clone())
    });
    (named.method, path, body)
}

/// The name and detail a naming request's answer gives.
pub fn read_named(named: &NameRequest, body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let read = |pointer: Option<&String>| pointer.and_then(|p| answer.pointer(p)).and_then(text);
    (read(Some(&named.name)), read(named.detail.as_ref()))
}

/// An id as a path piece: unreserved characters as they are, and the slash of a listed id
/// such as `customers/123`; every other byte percent-encoded.
fn path_encoded(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// Whether a 2xx answer is one the provider meant as a yes.
fn agreed(resource: &Resource, answer: &Value) -> bool {
    resource
        .success
        .as_ref()
        .is_none_or(|success| success.holds(Some(answer)))
}

fn item_of(resource: &Resource, entry: &Value) -> Option<Item> {
    let id = if resource.id.is_empty() {
        text(entry)
    } else {
        entry.pointer(&resource.id).and_then(text)
    }?;
    let id = match &resource.id_prefix {
        Some(prefix) => id.strip_prefix(prefix.as_str()).unwrap_or(&id).to_owned(),
        None => id,
    };
    let read = |pointer: &Option<String>| {
        pointer
            .as_deref()
            .and_then(|p| entry.pointer(p))
            .and_then(text)
    };
    Some(Item {
        id,
        name: read(&resource.name),
        detail: read(&resource.detail),
    })
}

/// Reads one page of a listing from the provider's answer. A provider that answers
/// everything at once gives it all here; `slice` cuts the page shown.
pub fn read_listing(resource: &Resource, body: &[u8]) -> Result<Listing, ListingError> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| ListingError::NotJson)?;
    if !agreed(resource, &answer) {
        return Err(ListingError::Refused);
    }
    let none = Vec::new();
    let entries = match answer.pointer(&resource.items) {
        Some(Value::Array(entries)) => entries,
        None if resource.omits_empty && answer.is_object() => &none,
        _ => return Err(ListingError::NoItems),
    };
    let items = match &resource.within {
        // An entry without its inner list holds nothing to choose (an account with no
        // property yet).
        Some(within) => entries
            .iter()
            .filter_map(|entry| entry.pointer(within).and_then(Value::as_array))
            .flatten()
            .filter_map(|item| item_of(resource, item))
            .collect(),
        None => entries
            .iter()
            .filter_map(|item| item_of(resource, item))
            .collect(),
    };
    let next_cursor = match &resource.paging {
        Some(Paging::Cursor(paging)) => {
            let more = paging
                .more
                .as_deref()
                .is_none_or(|p| answer.pointer(p).and_then(text).is_some());
            let next = answer.pointer(&paging.next).and_then(text);
            let next = if paging.in_link {
                next.and_then(|link| url::Url::parse(&link).ok())
                    .and_then(|link| {
                        link.query_pairs()
                            .find(|(name, _)| *name == paging.param)
                            .map(|(_, value)| value.into_owned())
                    })
                    .filter(|cursor| !cursor.is_empty())
            } else {
                next
            };
            next.filter(|c| more && c.len() <= MAX_CURSOR_LEN)
        }
        Some(Paging::Numbered(paging)) => {
            let page = answer.pointer(&paging.page).and_then(number);
            let pages = answer.pointer(&paging.pages).and_then(number);
            match (page, pages) {
                (Some(page), Some(pages)) if page < pages => Some((page + 1).to_string()),
                _ => None,
            }
        }
        Some(Paging::Sliced(_)) | None => None,
    };
    Ok(Listing { items, next_cursor })
}

/// The page shown of a listing the provider answers whole: `slice` items from the position
/// the cursor holds (a cursor that is not one starts at the top).
pub fn slice(resource: &Resource, listing: Listing, cursor: Option<&str>) -> Listing {
    let Some(Paging::Sliced(paging)) = &resource.paging else {
        return listing;
    };
    let from = cursor
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0)
        .min(listing.items.len());
    let to = (from + paging.slice).min(listing.items.len());
    Listing {
        next_cursor: (to < listing.items.len()).then(|| to.to_string()),
        items: listing.items[from..to].to_vec(),
    }
}

/// The resources a change of settings points the connection at anew, with the chosen id: a
/// setting that names one changed to a value that is not empty, or a choice whose parent
/// changed (the pixel of an ad account chosen anew). Each must be checked before it is
/// stored.
pub fn chosen<'p>(
    provider: &'p Provider,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<(&'p Resource, String)> {
    let changed = |setting: &str| before.get(setting) != after.get(setting);
    provider
        .resources
        .iter()
        .filter_map(|resource| {
            let id = after.get(&resource.setting).filter(|id| !id.is_empty())?;
            (changed(&resource.setting) || resource.parent_settings().any(changed))
                .then(|| (resource, id.clone()))
        })
        .collect()
}

/// The item a check answered, read as a listed one is; `None` when the answer holds none
/// (or says no), so the chosen one is not reachable.
pub fn read_checked(resource: &Resource, id: &str, body: &[u8]) -> Option<Item> {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if !answer.is_null() && !agreed(resource, &answer) {
        return None;
    }
    let item = if resource.check_item.is_empty() {
        &answer
    } else {
        answer.pointer(&resource.check_item)?
    };
    let name = resource
        .name
        .as_deref()
        .and_then(|p| item.pointer(p))
        .and_then(text);
    Some(Item {
        id: id.to_owned(),
        name,
        detail: None,
    })
}

/// The account name a connection shows once it is pointed at `chosen`: each chosen one by
/// name and id, then the login's own name ("Acme US (act_123) · Acme Sandbox").
pub fn shown_name(chosen: &[Item], login: Option<&str>) -> Option<String> {
    let parts: Vec<String> = chosen
        .iter()
        .map(|item| match &item.name {
            Some(name) if *name != item.id => format!("{name} ({})", item.id),
            _ => item.id.clone(),
        })
        .chain(login.map(str::to_owned))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// The account a connection shows once pointed at what was chosen: the choices' names before
/// the login's; where the verify request only named the first thing it listed (GA4's first
/// account), the choice takes the place of that name and id.
pub fn named_account(
    chosen: &[(&Resource, Item)],
    login_name: Option<String>,
    login_id: Option<String>,
) -> (Option<String>, Option<String>) {
    if chosen.is_empty() {
        return (login_name, login_id);
    }
    let items: Vec<Item> = chosen.iter().map(|(_, item)| item.clone()).collect();
    match chosen
        .iter()
        .find(|(resource, _)| resource.replaces_account)
    {
        Some((_, first)) => (shown_name(&items, None), Some(first.id.clone())),
        None => (shown_name(&items, login_name.as_deref()), login_id),
    }
}

/// Whether an item answers a search: its id or name holds `q`, case aside.
pub fn matches(item: &Item, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    q.is_empty()
        || item.id.to_lowercase().contains(&q)
        || item
            .name
            .as_ref()
            .is_some_and(|n| n.to_lowercase().contains(&q))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::{
        CursorPaging, NumberedPaging, Registry, ResourceKind, SlicedPaging, SuccessCheck,
    };

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn meta() -> Resource {
        Resource {
            kind: ResourceKind::AdAccount,
            label: "Ad account".to_owned(),
            setting: "ad_account_id".to_owned(),
            required: true,
            list: "me/adaccounts?fields=id,name,account_status&limit=25".to_owned(),
            query: BTreeMap::new(),
            items: "/data".to_owned(),
            omits_empty: false,
            within: None,
            id: "/id".to_owned(),
            id_prefix: None,
            name: Some("/name".to_owned()),
            detail: Some("/account_status".to_owned()),
            paging: Some(Paging::Cursor(CursorPaging {
                param: "after".to_owned(),
                next: "/paging/cursors/after".to_owned(),
                more: Some("/paging/next".to_owned()),
                in_link: false,
            })),
            success: None,
            check: Some("{id}?fields=id,name".to_owned()),
            check_item: String::new(),
            named_by: None,
            replaces_account: false,
            note: None,
        }
    }

    #[test]
    fn the_cursor_goes_after_the_listed_query() {
        let meta = meta();
        assert_eq!(
            list_request(&meta, &none(), None).unwrap(),
            (
                "me/adaccounts".to_owned(),
                Some("fields=id,name,account_status&limit=25".to_owned())
            )
        );
        assert_eq!(
            list_request(&meta, &none(), Some("QVF+/="))
                .unwrap()
                .1
                .unwrap(),
            "fields=id,name,account_status&limit=25&after=QVF%2B%2F%3D"
        );
    }

    #[test]
    fn a_dependent_listing_needs_its_parent_chosen_first() {
        let registry = Registry::builtin().unwrap();
        let meta = registry.get("meta_ads").unwrap();
        let pixel = meta.resource(ResourceKind::Pixel).unwrap();
        assert_eq!(
            parent(meta, pixel).map(|r| r.kind),
            Some(ResourceKind::AdAccount)
        );
        assert_eq!(
            parent(meta, meta.resource(ResourceKind::AdAccount).unwrap()).map(|r| r.kind),
            None
        );
        let lacking = Unchosen {
            setting: "ad_account_id".to_owned(),
        };
        assert_eq!(list_request(pixel, &none(), None).unwrap_err(), lacking);
        assert_eq!(unchosen_parent(pixel, &none()), Some(lacking));
        let chosen = BTreeMap::from([("ad_account_id".to_owned(), "act_42".to_owned())]);
        let (path, _) = list_request(pixel, &chosen, None).unwrap();
        assert_eq!(path, "act_42/adspixels");
        assert_eq!(unchosen_parent(pixel, &chosen), None);
        let tiktok = registry.get("tiktok_ads").unwrap();
        let pixel = tiktok.resource(ResourceKind::Pixel).unwrap();
        let chosen = BTreeMap::from([("advertiser_id".to_owned(), "70001".to_owned())]);
        let (path, query) = check_request(pixel, &chosen, "CPIX 1").unwrap().unwrap();
        assert_eq!(path, "pixel/list/");
        assert_eq!(query.as_deref(), Some("advertiser_id=70001&code=CPIX%201"));
    }

    #[test]
    fn a_choice_is_checked_again_when_its_parent_changes() {
        let registry = Registry::builtin().unwrap();
        let ga4 = registry.get("ga4").unwrap();
        let settings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let before = settings(&[("property_id", "1"), ("measurement_id", "G-AAAA")]);
        let kinds = |after: &BTreeMap<String, String>| -> Vec<ResourceKind> {
            chosen(ga4, &before, after)
                .into_iter()
                .map(|(r, _)| r.kind)
                .collect()
        };
        assert_eq!(kinds(&before), []);
        assert_eq!(
            kinds(&settings(&[
                ("property_id", "2"),
                ("measurement_id", "G-AAAA")
            ])),
            [ResourceKind::Property, ResourceKind::DataStream]
        );
        assert_eq!(
            kinds(&settings(&[("property_id", "2")])),
            [ResourceKind::Property]
        );
    }

    #[test]
    fn a_page_reads_items_and_its_next_cursor_only_while_there_is_more() {
        let meta = meta();
        let page = json!({
            "data": [{"id": "act_1", "name": "Acme US", "account_status": 1}, {"name": "no id"}],
            "paging": {"cursors": {"after": "A2"}, "next": "https://graph.facebook.com/…"}
        });
        let listing = read_listing(&meta, page.to_string().as_bytes()).unwrap();
        assert_eq!(
            listing.items,
            [Item {
                id: "act_1".to_owned(),
                name: Some("Acme US".to_owned()),
                detail: Some("1".to_owned()),
            }]
        );
        assert_eq!(listing.next_cursor.as_deref(), Some("A2"));
        let last = json!({"data": [], "paging": {"cursors": {"after": "A3"}}});
        assert_eq!(
            read_listing(&meta, last.to_string().as_bytes())
                .unwrap()
                .next_cursor,
            None
        );
        assert_eq!(
            read_listing(&meta, b"{}").unwrap_err(),
            ListingError::NoItems
        );
        assert_eq!(
            read_listing(&meta, b"<html>").unwrap_err(),
            ListingError::NotJson
        );
    }

    #[test]
    fn numbered_pages_go_on_until_the_last_and_a_refusal_in_a_200_is_one() {
        let tiktok = Resource {
            items: "/data/pixels".to_owned(),
            id: "/pixel_code".to_owned(),
            name: Some("/pixel_name".to_owned()),
            detail: None,
            paging: Some(Paging::Numbered(NumberedPaging {
                param: "page".to_owned(),
                page: "/data/page_info/page".to_owned(),
                pages: "/data/page_info/total_page".to_owned(),
            })),
            success: Some(SuccessCheck {
                pointer: "/code".to_owned(),
                equals: Some(json!(0)),
            }),
            ..meta()
        };
        let page = |page: u64| {
            json!({"code": 0, "data": {
                "pixels": [{"pixel_code": format!("C{page}"), "pixel_name": "Store"}],
                "page_info": {"page": page, "total_page": 3}
            }})
            .to_string()
        };
        let first = read_listing(&tiktok, page(1).as_bytes()).unwrap();
        assert_eq!(first.items[0].id, "C1");
        assert_eq!(first.next_cursor.as_deref(), Some("2"));
        assert_eq!(
            read_listing(&tiktok, page(3).as_bytes())
                .unwrap()
                .next_cursor,
            None
        );
        let refused = json!({"code": 40001, "message": "No permission"}).to_string();
        assert_eq!(
            read_listing(&tiktok, refused.as_bytes()).unwrap_err(),
            ListingError::Refused
        );
        assert_eq!(
            read_checked(&tiktok, "C1", refused.as_bytes()),
            None,
            "a refusal checks nothing"
        );
    }

    #[test]
    fn items_inside_entries_are_read_and_a_whole_answer_is_sliced() {
        let ga4 = Resource {
            items: "/accountSummaries".to_owned(),
            within: Some("/propertySummaries".to_owned()),
            id: "/property".to_owned(),
            id_prefix: Some("properties/".to_owned()),
            name: Some("/displayName".to_owned()),
            detail: None,
            paging: Some(Paging::Sliced(SlicedPaging { slice: 2 })),
            ..meta()
        };
        let answer = json!({"accountSummaries": [
            {"account": "accounts/1", "propertySummaries": [
                {"property": "properties/11", "displayName": "Store"},
                {"property": "properties/12", "displayName": "Blog"}
            ]},
            {"account": "accounts/2"},
            {"account": "accounts/3", "propertySummaries": [{"property": "properties/31"}]}
        ]});
        let whole = read_listing(&ga4, answer.to_string().as_bytes()).unwrap();
        let ids = |l: &Listing| l.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&whole), ["11", "12", "31"]);
        let first = slice(&ga4, whole.clone(), None);
        assert_eq!(ids(&first), ["11", "12"]);
        assert_eq!(first.next_cursor.as_deref(), Some("2"));
        let last = slice(&ga4, whole.clone(), Some("2"));
        assert_eq!(ids(&last), ["31"]);
        assert_eq!(last.next_cursor, None);
        assert_eq!(slice(&ga4, whole, Some("99")).items, []);
        // Google leaves an empty list out.
        assert_eq!(
            read_listing(&ga4, b"{}").unwrap_err(),
            ListingError::NoItems
        );
        let google = Resource {
            omits_empty: true,
            ..ga4
        };
        assert_eq!(read_listing(&google, b"{}").unwrap().items, []);
    }

    #[test]
    fn ids_listed_as_strings_lose_their_prefix_and_get_it_back_for_the_check() {
        let google = Resource {
            kind: ResourceKind::Customer,
            list: "customers:listAccessibleCustomers".to_owned(),
            items: "/resourceNames".to_owned(),
            id: String::new(),
            id_prefix: Some("customers/".to_owned()),
            name: None,
            detail: None,
            paging: None,
            check: Some("{id}".to_owned()),
            ..meta()
        };
        let page = json!({"resourceNames": ["customers/5550000001"]});
        let listing = read_listing(&google, page.to_string().as_bytes()).unwrap();
        assert_eq!(listing.items[0].id, "5550000001");
        assert_eq!(listing.next_cursor, None);
        assert_eq!(
            check_request(&google, &none(), "5550000001").unwrap(),
            Some(("customers/5550000001".to_owned(), None))
        );
        assert_eq!(
            check_request(&meta(), &none(), "act_1 x").unwrap(),
            Some(("act_1%20x".to_owned(), Some("fields=id,name".to_owned())))
        );
    }

    #[test]
    fn a_named_item_is_asked_for_by_its_id() {
        let registry = Registry::builtin().unwrap();
        let customer = registry
            .get("google_ads")
            .unwrap()
            .resource(ResourceKind::Customer)
            .unwrap();
        let named = customer.named_by.as_ref().unwrap();
        let (method, path, body) = name_request(named, "5550000001");
        assert_eq!(method, Method::Post);
        assert_eq!(path, "customers/5550000001/googleAds:search");
        assert!(body.unwrap().contains("customer.descriptive_name"));
        let answer =
            json!({"results": [{"customer": {"id": "5550000001", "descriptiveName": "Acme US"}}]});
        assert_eq!(
            read_named(named, answer.to_string().as_bytes())
                .0
                .as_deref(),
            Some("Acme US")
        );
        assert_eq!(read_named(named, b"{}"), (None, None));
    }

    #[test]
    fn a_cursor_inside_a_next_link_is_read_from_it() {
        let klaviyo = Resource {
            paging: Some(Paging::Cursor(CursorPaging {
                param: "page[cursor]".to_owned(),
                next: "/links/next".to_owned(),
                more: None,
                in_link: true,
            })),
            ..meta()
        };
        let page = json!({
            "data": [],
            "links": {"next": "https://a.klaviyo.com/api/lists/?page%5Bcursor%5D=bmV4dA%3D%3D"}
        });
        let listing = read_listing(&klaviyo, page.to_string().as_bytes()).unwrap();
        assert_eq!(listing.next_cursor.as_deref(), Some("bmV4dA=="));
        let last = json!({"data": [], "links": {"next": null}});
        assert_eq!(
            read_listing(&klaviyo, last.to_string().as_bytes())
                .unwrap()
                .next_cursor,
            None
        );
    }

    #[test]
    fn the_account_name_puts_the_choice_before_the_login() {
        let checked = read_checked(
            &meta(),
            "act_123",
            br#"{"id": "act_123", "name": "Acme US"}"#,
        )
        .unwrap();
        assert_eq!(
            shown_name(std::slice::from_ref(&checked), Some("Acme Sandbox")).as_deref(),
            Some("Acme US (act_123) · Acme Sandbox")
        );
        let unnamed = Item {
            id: "5550000001".to_owned(),
            name: None,
            detail: None,
        };
        assert_eq!(
            shown_name(std::slice::from_ref(&unnamed), None).as_deref(),
            Some("5550000001")
        );
        assert_eq!(shown_name(&[], None), None);

        // A verify request that named the first account it listed gives way to the choice.
        let first_listed = Resource {
            replaces_account: true,
            ..meta()
        };
        let login = || {
            (
                Some("First account".to_owned()),
                Some("accounts/1".to_owned()),
            )
        };
        assert_eq!(
            named_account(&[(&first_listed, checked.clone())], login().0, login().1),
            (
                Some("Acme US (act_123)".to_owned()),
                Some("act_123".to_owned())
            )
        );
        assert_eq!(
            named_account(&[(&meta(), checked)], login().0, login().1),
            (
                Some("Acme US (act_123) · First account".to_owned()),
                Some("accounts/1".to_owned())
            )
        );
        assert_eq!(named_account(&[], login().0, login().1), login());
    }

    #[test]
    fn a_check_answer_without_its_item_reaches_nothing() {
        let calendar = Resource {
            check_item: "/data/pixels/0".to_owned(),
            ..meta()
        };
        assert_eq!(
            read_checked(&calendar, "C1", br#"{"data": {"pixels": []}}"#),
            None
        );
        assert!(read_checked(&meta(), "act_1", b"not json").is_some());
    }

    #[test]
    fn a_search_holds_to_the_id_or_the_name() {
        let item = Item {
            id: "act_42".to_owned(),
            name: Some("Acme US".to_owned()),
            detail: None,
        };
        assert!(matches(&item, ""));
        assert!(matches(&item, " acme "));
        assert!(matches(&item, "42"));
        assert!(!matches(&item, "sandbox"));
    }
}
