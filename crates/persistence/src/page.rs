//! Keyset pages for the lists that grow: rows are read newest first by `(created_at, id)`, and
//! each page starts after the last row of the one before, so rows added meanwhile neither
//! repeat nor go missing (a new row lands before the first page, never between two).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition};

/// Where a page starts: after the row with this `(created_at, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyset {
    pub created_at: DateTime<Utc>,
    pub id: uuid::Uuid,
}

/// What a caller asks for: at most `limit` rows after `after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Keyset>,
    pub limit: u64,
}

/// One page, and where the next one starts (`None` on the last page).
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Keyset>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// Rows strictly older than `after` in `(created_at, id)` order.
pub(crate) fn older_than(
    created_at: impl ColumnTrait,
    id: impl ColumnTrait,
    after: Keyset,
) -> Condition {
    Condition::any().add(created_at.lt(after.created_at)).add(
        Condition::all()
            .add(created_at.eq(after.created_at))
            .add(id.lt(after.id)),
    )
}

/// Cuts rows read with `limit + 1` down to a page: the extra row says another page follows.
pub(crate) fn cut<T>(
    mut rows: Vec<T>,
    request: PageRequest,
    key: impl Fn(&T) -> Keyset,
) -> Page<T> {
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more { rows.last().map(key) } else { None };
    Page { items: rows, next }
}
