//! The health index: every live route of a registry's three pools, kept sorted by
//! (alias, pool, key), so the health JSON is one walk over it with no sorting.
//!
//! Pools report each change while they still hold the shard lock (`record`), which puts the
//! changes of any one key in the order the pool made them. Applying the recorded changes to the
//! sorted set happens outside the shard locks (`sync`), by the writer, once per change set and
//! before it releases the registry's commit lock: so the sorted set always holds whole change
//! sets, and the health JSON (which only reads it) never shows half of a batch. A change costs
//! a lookup in a B-tree, a deleted route is let go by the time `del` returns, and the first
//! health JSON after a change costs what every other one does.
//!
//! Lock order: shard lock → `pending`; `sorted` → `pending`. A route's health lock is taken
//! under `sorted` while rendering. No caller code runs under either lock: routes the index lets
//! go of are dropped (finalizers run) after `sorted` is released.

use crate::health::{HealthFormat, HealthJsonWriter};
use crate::route::{Identity, Route};
use parking_lot::Mutex;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A route in the index, ordered by (alias, pool rank, key). The alias's 16-byte prefix is
/// kept inline, so most comparisons do not read the route.
struct Ranked {
    prefix: u128,
    rank: u8,
    route: Arc<Route>,
}

impl Ranked {
    fn new(rank: u8, route: Arc<Route>) -> Self {
        let prefix = ident(&route).alias_prefix();
        Ranked {
            prefix,
            rank,
            route,
        }
    }

    fn same_alias(&self, other: &Ranked) -> bool {
        self.prefix == other.prefix
            && ident(&self.route).alias().as_str() == ident(&other.route).alias().as_str()
    }
}

/// A route in a pool is always frozen (it is frozen before it becomes visible).
fn ident(r: &Route) -> &Identity {
    r.frozen_identity()
        .expect("routes in a pool are frozen when added")
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        // Different prefixes order as the aliases do (see `Identity::alias_prefix`).
        self.prefix.cmp(&other.prefix).then_with(|| {
            let (a, b) = (ident(&self.route), ident(&other.route));
            a.alias()
                .as_str()
                .cmp(b.alias().as_str())
                .then(self.rank.cmp(&other.rank))
                .then_with(|| a.key().as_str().cmp(b.key().as_str()))
        })
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

/// A change a pool made, in the order it made it.
enum Change {
    /// The route became live in the pool of this rank.
    Insert(Ranked),
    /// The route stopped being live (deleted or replaced).
    Remove(Ranked),
    /// The pool of this rank was emptied.
    Clear(u8),
}

#[derive(Default)]
struct Sorted {
    set: BTreeSet<Ranked>,
    /// Swapped with `pending` to take its changes, so neither allocates once warm.
    spare: Vec<Change>,
    /// The length of the last health JSON of each format, to size the next one's buffer.
    last_len: [usize; 3],
}

impl Sorted {
    /// The winner of each alias (the last in (pool rank, key) order), sorted by alias.
    fn winners(&self) -> impl Iterator<Item = &Arc<Route>> {
        let mut it = self.set.iter().peekable();
        std::iter::from_fn(move || loop {
            let r = it.next()?;
            match it.peek() {
                Some(next) if r.same_alias(next) => continue,
                _ => return Some(&r.route),
            }
        })
    }
}

/// See the module docs.
#[derive(Default)]
pub struct HealthIndex {
    pending: Mutex<Vec<Change>>,
    sorted: Mutex<Sorted>,
}

impl HealthIndex {
    /// Records that `route` became live in the pool of `rank`. Call under the shard lock.
    pub(crate) fn record_insert(&self, rank: u8, route: &Arc<Route>) {
        let change = Change::Insert(Ranked::new(rank, Arc::clone(route)));
        self.pending.lock().push(change);
    }

    /// Records that `route` stopped being live in the pool of `rank`. Call under the shard lock.
    pub(crate) fn record_remove(&self, rank: u8, route: &Arc<Route>) {
        let change = Change::Remove(Ranked::new(rank, Arc::clone(route)));
        self.pending.lock().push(change);
    }

    /// Records that the pool of `rank` was emptied. Call with every shard of it locked.
    pub(crate) fn record_clear(&self, rank: u8) {
        self.pending.lock().push(Change::Clear(rank));
    }

    /// Applies the recorded changes. Call with no pool lock held; routes let go of are dropped
    /// here, after the index's lock is released.
    pub(crate) fn sync(&self) {
        self.with_synced(|_| ());
    }

    /// Moves the pending changes into the set; removed routes go to `released`.
    fn apply(&self, sorted: &mut Sorted, released: &mut Vec<Ranked>) {
        let Sorted { set, spare, .. } = sorted;
        std::mem::swap(&mut *self.pending.lock(), spare);
        for change in spare.drain(..) {
            match change {
                Change::Insert(r) => {
                    // A pool makes a key live only after it stopped being live, so the set
                    // cannot hold an equal entry; if it did, the newer one wins.
                    if let Some(old) = set.replace(r) {
                        released.push(old);
                    }
                }
                Change::Remove(r) => {
                    let held = set.take(&r);
                    debug_assert!(held
                        .as_ref()
                        .is_some_and(|h| Arc::ptr_eq(&h.route, &r.route)));
                    released.extend(held);
                    released.push(r);
                }
                Change::Clear(rank) => {
                    // (`BTreeSet::extract_if` is newer than the crate's minimum Rust.)
                    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(set)
                        .into_iter()
                        .partition(|r| r.rank == rank);
                    *set = kept.into_iter().collect();
                    released.extend(gone);
                }
            }
        }
    }

    /// Runs `f` on the index brought up to date, then drops the routes it let go of after
    /// releasing the lock.
    fn with_synced<R>(&self, f: impl FnOnce(&mut Sorted) -> R) -> R {
        // Declared before the guard so that, even when unwinding, the guard goes first.
        let mut released = Vec::new();
        let mut sorted = self.sorted.lock();
        self.apply(&mut sorted, &mut released);
        f(&mut sorted)
    }

    /// The routes the health JSON shows, in its order. Reads the set as the last writer left
    /// it: pending changes belong to a change set still being applied.
    pub fn winners(&self) -> Vec<Arc<Route>> {
        self.sorted.lock().winners().map(Arc::clone).collect()
    }

    /// The health JSON (see `Registry::health_json`).
    pub fn render(&self, format: HealthFormat) -> String {
        let mut sorted = self.sorted.lock();
        {
            fault_point!("health_index.render");
            let mut w = match sorted.last_len[format as usize] {
                0 => HealthJsonWriter::new(format, sorted.set.len()),
                // Room for a little growth, so the buffer is rarely reallocated.
                n => HealthJsonWriter::with_capacity(format, n + n / 16),
            };
            for r in sorted.winners() {
                r.with_rendered_health(|h| w.entry_keyed(ident(r).alias_json(), h));
            }
            let json = w.finish();
            sorted.last_len[format as usize] = json.len();
            json
        }
    }
}
