//! Reading what a connection can be pointed at: the request that lists one page of a
//! provider's resources, the page read from its answer, and the request that checks a chosen
//! one is still reachable. Sending is the API's job (through the proxy, so the credential, the
//! token's renewal and the egress rules are the proxy's).

use serde_json::Value;

use std::collections::BTreeMap;

use crate::registry::{Provider, Resource};

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
}

/// The path and query that list one page, starting after `cursor`.
pub fn list_request(resource: &Resource, cursor: Option<&str>) -> (String, Option<String>) {
    let (path, query) = match resource.list.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (resource.list.clone(), String::new()),
    };
    let mut query = query;
    if let (Some(paging), Some(cursor)) = (&resource.paging, cursor) {
        let mut pair = url::form_urlencoded::Serializer::new(String::new());
        pair.append_pair(&paging.param, cursor);
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&pair.finish());
    }
    (path, (!query.is_empty()).then_some(query))
}

/// The path that checks a chosen id; `None` when the listing itself is the check.
pub fn check_request(resource: &Resource, id: &str) -> Option<String> {
    let check = resource.check.as_ref()?;
    let listed = match &resource.id_prefix {
        Some(prefix) => format!("{prefix}{id}"),
        None => id.to_owned(),
    };
    Some(check.replace("{id}", &path_encoded(&listed)))
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

/// Reads one page of a listing from the provider's answer.
pub fn read_listing(resource: &Resource, body: &[u8]) -> Result<Listing, ListingError> {
    let answer: Value = serde_json::from_slice(body).map_err(|_| ListingError::NotJson)?;
    let items = answer
        .pointer(&resource.items)
        .and_then(Value::as_array)
        .ok_or(ListingError::NoItems)?;
    let items = items
        .iter()
        .filter_map(|item| {
            let id = if resource.id.is_empty() {
                text(item)
            } else {
                item.pointer(&resource.id).and_then(text)
            }?;
            let id = match &resource.id_prefix {
                Some(prefix) => id.strip_prefix(prefix.as_str()).unwrap_or(&id).to_owned(),
                None => id,
            };
            let read = |pointer: &Option<String>| {
                pointer
                    .as_deref()
                    .and_then(|p| item.pointer(p))
                    .and_then(text)
            };
            Some(Item {
                id,
                name: read(&resource.name),
                detail: read(&resource.detail),
            })
        })
        .collect();
    let next_cursor = resource.paging.as_ref().and_then(|paging| {
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
    });
    Ok(Listing { items, next_cursor })
}

/// The resources a change of settings points the connection at anew (a setting that names one
/// changed to a value that is not empty), with the chosen id: each must be checked before it is
/// stored.
pub fn chosen<'p>(
    provider: &'p Provider,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<(&'p Resource, String)> {
    provider
        .resources
        .iter()
        .filter_map(|resource| {
            let id = after.get(&resource.setting).filter(|id| !id.is_empty())?;
            (before.get(&resource.setting) != Some(id)).then(|| (resource, id.clone()))
        })
        .collect()
}

/// The item a check answered, read as a listed one is; `None` when the answer holds none.
pub fn read_checked(resource: &Resource, id: &str, body: &[u8]) -> Option<Item> {
    let answer: Value = serde_json::from_slice(body).ok()?;
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
    use crate::registry::{Paging, ResourceKind};

    fn meta() -> Resource {
        Resource {
            kind: ResourceKind::AdAccount,
            label: "Ad account".to_owned(),
            setting: "ad_account_id".to_owned(),
            required: true,
            list: "me/adaccounts?fields=id,name,account_status&limit=25".to_owned(),
            items: "/data".to_owned(),
            id: "/id".to_owned(),
            id_prefix: None,
            name: Some("/name".to_owned()),
            detail: Some("/account_status".to_owned()),
            paging: Some(Paging {
                param: "after".to_owned(),
                next: "/paging/cursors/after".to_owned(),
                more: Some("/paging/next".to_owned()),
                in_link: false,
            }),
            check: Some("{id}?fields=id,name".to_owned()),
            check_item: String::new(),
            note: None,
        }
    }

    #[test]
    fn the_cursor_goes_after_the_listed_query() {
        let meta = meta();
        assert_eq!(
            list_request(&meta, None),
            (
                "me/adaccounts".to_owned(),
                Some("fields=id,name,account_status&limit=25".to_owned())
            )
        );
        assert_eq!(
            list_request(&meta, Some("QVF+/=")).1.unwrap(),
            "fields=id,name,account_status&limit=25&after=QVF%2B%2F%3D"
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
            check_request(&google, "5550000001").as_deref(),
            Some("customers/5550000001")
        );
        assert_eq!(
            check_request(&meta(), "act_1 x").as_deref(),
            Some("act_1%20x?fields=id,name")
        );
    }

    #[test]
    fn a_cursor_inside_a_next_link_is_read_from_it() {
        let klaviyo = Resource {
            paging: Some(Paging {
                param: "page[cursor]".to_owned(),
                next: "/links/next".to_owned(),
                more: None,
                in_link: true,
            }),
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
            shown_name(&[checked], Some("Acme Sandbox")).as_deref(),
            Some("Acme US (act_123) · Acme Sandbox")
        );
        let unnamed = Item {
            id: "5550000001".to_owned(),
            name: None,
            detail: None,
        };
        assert_eq!(shown_name(&[unnamed], None).as_deref(), Some("5550000001"));
        assert_eq!(shown_name(&[], None), None);
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
