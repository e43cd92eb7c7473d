//! Cursor pagination for the lists that grow: `limit` (1–200) and an opaque `cursor`, answered
//! as `{data, next_cursor}`. A cursor names the last row of the page before; rows added
//! meanwhile never shift the pages that follow (see `persistence::page`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use persistence::page::{Keyset, Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, ErrorCode};

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// A page of a list that grows.
#[derive(Serialize, ToSchema)]
pub struct PageOut<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageOut<T> {
    pub fn from_page<U>(page: Page<U>, to_out: impl FnMut(U) -> T) -> PageOut<T> {
        PageOut {
            next_cursor: page.next.map(encode),
            data: page.items.into_iter().map(to_out).collect(),
        }
    }
}

/// `limit` and `cursor`, for a list with no filters of its own.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// The previous page's `next_cursor`, as it was given.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn request(&self) -> ApiResult<PageRequest> {
        request(self.limit, self.cursor.as_deref())
    }
}

/// Checks `limit` and opens `cursor`.
pub fn request(limit: Option<u64>, cursor: Option<&str>) -> ApiResult<PageRequest> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!("`limit` must be between 1 and {MAX_LIMIT}, not {limit}."),
        ));
    }
    let after = match cursor {
        None => None,
        Some(raw) => Some(decode(raw).ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidQuery,
                "This `cursor` is not one Plugboard gave: pass the previous page's `next_cursor` as it is.",
            )
        })?),
    };
    Ok(PageRequest { after, limit })
}

fn encode(keyset: Keyset) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        keyset
            .created_at
            .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        keyset.id
    ))
}

fn decode(raw: &str) -> Option<Keyset> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (at, id) = text.split_once('|')?;
    Some(Keyset {
        created_at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        id: id.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        let keyset = Keyset {
            created_at: DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap(),
            id: uuid::Uuid::new_v4(),
        };
        let page = request(Some(10), Some(&encode(keyset))).unwrap();
        assert_eq!(page.after, Some(keyset));
        assert_eq!(page.limit, 10);
        assert_eq!(request(None, None).unwrap().limit, DEFAULT_LIMIT);
        for (limit, cursor) in [
            (Some(0), None),
            (Some(201), None),
            (None, Some("nope")),
            (None, Some("bnVsbA")),
        ] {
            assert_eq!(
                request(limit, cursor).unwrap_err().code(),
                ErrorCode::InvalidQuery
            );
        }
    }
}
