//! What was read a moment ago, kept for that moment: a bounded map whose entries are fresh for
//! a fixed time. A change made in this process forgets what it changed at once, and for one
//! freshness span after that nothing read of it is kept, so a read that raced the change (it
//! began before the change committed) cannot bring the old value back. A change made by
//! another replica is seen once the entry is no longer fresh.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Recent<K, V> {
    inner: Mutex<Inner<K, V>>,
    fresh_for: Duration,
    capacity: usize,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// When everything was last forgotten.
    all_forgotten: Option<Instant>,
}

enum Entry<V> {
    /// Read at that instant (when the read began).
    Kept(Instant, V),
    /// Changed at that instant: not kept again until it is a freshness span old.
    Forgotten(Instant),
}

impl<V> Entry<V> {
    fn at(&self) -> Instant {
        match self {
            Entry::Kept(at, _) | Entry::Forgotten(at) => *at,
        }
    }
}

impl<K, V> Inner<K, V> {
    /// Whether one more entry fits; when full, the entries no longer fresh go first.
    fn has_room(&mut self, capacity: usize, fresh_for: Duration) -> bool {
        if self.entries.len() >= capacity {
            self.entries
                .retain(|_, entry| entry.at().elapsed() < fresh_for);
        }
        self.entries.len() < capacity
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// Entries are fresh for `fresh_for`; at most `capacity` are held.
    pub fn new(fresh_for: Duration, capacity: usize) -> Self {
        Recent {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                all_forgotten: None,
            }),
            fresh_for,
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value kept for `key`, while it is fresh.
    pub fn get(&self, key: &K) -> Option<V> {
        match self.lock().entries.get(key) {
            Some(Entry::Kept(at, value)) if at.elapsed() < self.fresh_for => Some(value.clone()),
            _ => None,
        }
    }

    /// Keeps what a read that began at `read_at` found, unless `key` or everything was
    /// forgotten within the last freshness span. When full, the stale entries go; if none is
    /// stale, all do.
    pub fn keep(&self, key: K, value: V, read_at: Instant) {
        let fresh_for = self.fresh_for;
        let mut inner = self.lock();
        if inner
            .all_forgotten
            .is_some_and(|at| at.elapsed() < fresh_for)
        {
            return;
        }
        if let Some(Entry::Forgotten(at)) = inner.entries.get(&key)
            && at.elapsed() < fresh_for
        {
            return;
        }
        if !inner.has_room(self.capacity, fresh_for) {
            inner.entries.clear();
        }
        inner.entries.insert(key, Entry::Kept(read_at, value));
    }

    /// The value kept for `key`, or what `read` finds (kept when found).
    pub async fn get_or_read<E, F>(&self, key: K, read: F) -> Result<Option<V>, E>
    where
        F: Future<Output = Result<Option<V>, E>>,
    {
        if let Some(value) = self.get(&key) {
            return Ok(Some(value));
        }
        let read_at = Instant::now();
        let found = read.await?;
        if let Some(value) = &found {
            self.keep(key, value.clone(), read_at);
        }
        Ok(found)
    }

    /// `key` changed: what was kept of it goes, and nothing is kept of it for a freshness span.
    pub fn forget(&self, key: K) {
        let fresh_for = self.fresh_for;
        let mut inner = self.lock();
        if !inner.has_room(self.capacity, fresh_for) {
            // No room for the mark: forgetting everything covers this key too.
            inner.entries.clear();
            inner.all_forgotten = Some(Instant::now());
        } else {
            inner.entries.insert(key, Entry::Forgotten(Instant::now()));
        }
    }

    /// Anything may have changed: everything goes, and nothing is kept for a freshness span.
    pub fn forget_all(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.all_forgotten = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough that no pause of the test machine outlasts it.
    const LONG: Duration = Duration::from_secs(60);

    async fn found(value: u32) -> Result<Option<u32>, ()> {
        Ok(Some(value))
    }

    fn is_kept(recent: &Recent<&str, u32>, key: &str) -> bool {
        matches!(recent.lock().entries.get(key), Some(Entry::Kept(..)))
    }

    #[tokio::test]
    async fn a_value_read_is_kept_while_fresh() {
        let recent = Recent::new(LONG, 10);
        assert_eq!(recent.get_or_read("a", found(1)).await, Ok(Some(1)));
        assert_eq!(recent.get_or_read("a", found(2)).await, Ok(Some(1)));
    }

    #[tokio::test]
    async fn a_value_no_longer_fresh_is_read_again() {
        let recent = Recent::new(Duration::ZERO, 10);
        assert_eq!(recent.get_or_read("a", found(1)).await, Ok(Some(1)));
        assert_eq!(recent.get_or_read("a", found(2)).await, Ok(Some(2)));
    }

    #[tokio::test]
    async fn nothing_found_is_not_kept() {
        let recent = Recent::new(LONG, 10);
        let none = async { Ok::<_, ()>(None) };
        assert_eq!(recent.get_or_read("a", none).await, Ok(None));
        assert_eq!(recent.get_or_read("a", found(1)).await, Ok(Some(1)));
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let recent = Recent::new(LONG, 10);
        let began = Instant::now();
        recent.forget("a");
        // The read began before the change committed and ends after it: what it found may be
        // the old value.
        recent.keep("a", 1, began);
        assert_eq!(recent.get(&"a"), None);
        recent.keep("b", 2, began);
        assert_eq!(recent.get(&"b"), Some(2));
    }

    #[test]
    fn a_key_is_kept_again_a_span_after_it_changed() {
        let span = Duration::from_millis(50);
        let recent = Recent::new(span, 10);
        recent.forget("a");
        std::thread::sleep(span);
        recent.keep("a", 3, Instant::now());
        assert!(is_kept(&recent, "a"));
    }

    #[test]
    fn forgetting_all_forgets_every_key_for_a_span() {
        let recent = Recent::new(LONG, 10);
        recent.keep("a", 1, Instant::now());
        recent.forget_all();
        assert_eq!(recent.get(&"a"), None);
        recent.keep("b", 2, Instant::now());
        assert_eq!(recent.get(&"b"), None);
    }

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let recent = Recent::new(LONG, 3);
        for key in 0..10 {
            recent.keep(key, key, Instant::now());
            assert!(recent.lock().entries.len() <= 3);
        }
        for key in 10..20 {
            recent.forget(key);
            assert!(recent.lock().entries.len() <= 3);
        }
        // Forgotten without room for its mark, it is still not kept.
        recent.keep(19, 19, Instant::now());
        assert_eq!(recent.get(&19), None);
    }
}
