//! The pool: key → route for one kind, with tombstones (1 s TTL) and priority-based
//! replacement. The map is split into shards, each behind its own read-mostly lock, so
//! readers of different keys do not contend on one lock word (see BENCHMARKS.md for the
//! measurement that chose this over a single lock).

use crate::clock::Clock;
use crate::error::{quote, Error, Result, Status};
use crate::health_index::HealthIndex;
use crate::host_index::HostIndex;
use crate::lock::ReadMostly;
use crate::route::Route;
use hashbrown::hash_table::Entry as TableEntry;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a deleted key is remembered: adding it again within this time is a reload.
pub const TOMBSTONE_TTL: Duration = Duration::from_secs(1);
/// Tombstones are purged (those older than the TTL) once more than this many accumulate.
pub const TOMBSTONE_PURGE_THRESHOLD: usize = 256;
/// Default number of shards.
pub const DEFAULT_SHARDS: usize = 32;

/// With the test-only `linearizability-bug` feature, `Pool::add` takes the broken path
/// (`add_racy`). A flag read at run time rather than an unconditional early return, so the
/// intact path stays compiled and reachable (no unreachable-code warning) in that build.
#[cfg(feature = "linearizability-bug")]
static RACY_ADD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// What an add did with a route: the one outcome type of [`Pool::add`] and
/// [`Registry::add`](crate::Registry::add).
#[derive(Debug)]
pub enum Added {
    /// Registered under a new key (or one whose tombstone had expired).
    Added,
    /// Registered under a key deleted less than the tombstone TTL (1 s) ago.
    Reloaded,
    /// Registered in place of this route, which had lower or equal priority.
    Replaced(Arc<Route>),
    /// Already registered: this very route holds the key, so nothing changed (no record, no
    /// new generation). A reload that adds the same route object again keeps it, and its
    /// health, as it was.
    Unchanged,
    /// Not registered: this live route keeps the key (higher priority, or
    /// `add_if_not_exists`).
    Kept(Arc<Route>),
}

impl Added {
    /// Whether the route was registered.
    pub fn registered(&self) -> bool {
        !matches!(self, Added::Kept(_))
    }

    /// The route registered under the key now: `route` itself unless it was kept out.
    pub fn holder(&self, route: &Arc<Route>) -> Arc<Route> {
        match self {
            Added::Kept(stays) => Arc::clone(stays),
            _ => Arc::clone(route),
        }
    }

    /// `Ok(self)` when the route was registered; for [`Added::Kept`] the `RR_KEPT` error
    /// naming `route` (the one not added) and the route that stays, with both priorities.
    pub fn into_result(self, route: &Route) -> Result<Added> {
        match self {
            Added::Kept(stays) => Err(kept_error(route, &stays)),
            done => Ok(done),
        }
    }
}

/// The `RR_KEPT` message: `route` was not added because `stays` keeps its key.
fn kept_error(route: &Route, stays: &Route) -> Error {
    let (alias, key, prio) =
        route.with_identity(|i| (quote(i.alias()), quote(i.key()), i.priority()));
    let other = stays.priority();
    Error::new(
        Status::Kept,
        format!(
            "route {alias} was not added: the route with key {key} (priority {other}) stays \
             (new priority {prio})"
        ),
    )
}

enum Slot {
    Live(Arc<Route>),
    /// Deleted at this time.
    Dead(Duration),
}

struct Entry {
    key: Box<str>,
    slot: Slot,
}

#[repr(align(128))]
struct Shard(ReadMostly<HashTable<Entry>>);

/// A concurrent map from key to route with tombstones. All methods take `&self`.
pub struct Pool {
    shards: Box<[Shard]>,
    hasher: DefaultHashBuilder,
    live: AtomicUsize,
    tombstones: AtomicUsize,
    /// Clock time (ns) before which a purge cannot remove anything; 0 = unknown.
    next_purge_ns: AtomicU64,
    clock: Arc<dyn Clock>,
    /// The registry's health index and this pool's rank in it, told of every change.
    index: Option<(Arc<HealthIndex>, u8)>,
    /// The registry's host index (HTTP pool only), kept up to date like the health index.
    host_index: Option<Arc<HostIndex>>,
}

impl Pool {
    /// An empty pool with the default shard count.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_shards(clock, DEFAULT_SHARDS)
    }

    /// An empty pool with `shards` shards (rounded up to a power of two, at least 1).
    pub fn with_shards(clock: Arc<dyn Clock>, shards: usize) -> Self {
        let n = shards.max(1).next_power_of_two();
        Pool {
            shards: (0..n)
                .map(|_| Shard(ReadMostly::new(HashTable::new())))
                .collect(),
            hasher: DefaultHashBuilder::default(),
            live: AtomicUsize::new(0),
            tombstones: AtomicUsize::new(0),
            next_purge_ns: AtomicU64::new(0),
            clock,
            index: None,
            host_index: None,
        }
    }

    /// A pool that tells `index` of every change, as the pool of `rank` (0 HTTP, 1 STREAM,
    /// 2 EXCLUDED).
    pub(crate) fn with_index(
        clock: Arc<dyn Clock>,
        shards: usize,
        index: Arc<HealthIndex>,
        rank: u8,
    ) -> Self {
        Pool {
            index: Some((index, rank)),
            ..Self::with_shards(clock, shards)
        }
    }

    /// This pool, also telling `host_index` of every change (the registry's HTTP pool).
    pub(crate) fn with_host_index(self, host_index: Arc<HostIndex>) -> Self {
        Pool {
            host_index: Some(host_index),
            ..self
        }
    }

    /// Records under the shard lock that `route` became live.
    fn record_insert(&self, route: &Arc<Route>) {
        if let Some((index, rank)) = &self.index {
            index.record_insert(*rank, route);
        }
        if let Some(hosts) = &self.host_index {
            hosts.record_insert(route);
        }
    }

    /// Records under the shard lock that `route` stopped being live.
    fn record_remove(&self, route: &Arc<Route>) {
        if let Some((index, rank)) = &self.index {
            index.record_remove(*rank, route);
        }
        if let Some(hosts) = &self.host_index {
            hosts.record_remove(route);
        }
    }

    /// Brings the indexes up to date; call with no shard lock held.
    pub(crate) fn sync_index(&self) {
        if let Some((index, _)) = &self.index {
            index.sync();
        }
        if let Some(hosts) = &self.host_index {
            hosts.sync();
        }
    }

    /// Keys are hashed and compared as bytes, so a lookup need not check that its key is UTF-8:
    /// bytes that are not UTF-8 simply match nothing.
    fn locate(&self, key: &[u8]) -> (u64, &ReadMostly<HashTable<Entry>>) {
        let hash = self.hasher.hash_one(key);
        // The table uses the low bits and the top 7; pick the shard from the middle.
        let idx = ((hash >> 32) as usize) & (self.shards.len() - 1);
        (hash, &self.shards[idx].0)
    }

    fn rehash(&self) -> impl Fn(&Entry) -> u64 + '_ {
        move |e: &Entry| self.hasher.hash_one(e.key.as_bytes())
    }

    /// The live route with `key`. Allocates nothing; tombstones are never returned.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<Arc<Route>> {
        let key = key.as_ref();
        let (hash, shard) = self.locate(key);
        let table = shard.read();
        match table.find(hash, |e| e.key.as_bytes() == key) {
            Some(Entry {
                slot: Slot::Live(r),
                ..
            }) => Some(Arc::clone(r)),
            _ => None,
        }
    }

    /// Whether a live route has `key`.
    pub fn contains(&self, key: impl AsRef<[u8]>) -> bool {
        let key = key.as_ref();
        let (hash, shard) = self.locate(key);
        let table = shard.read();
        matches!(
            table.find(hash, |e| e.key.as_bytes() == key),
            Some(Entry {
                slot: Slot::Live(_),
                ..
            })
        )
    }

    /// Adds `route` under `key`. A live route there is replaced only if `priority` is at least
    /// its priority (else it is kept); with `only_if_absent`, a live route is always kept.
    /// `on_insert` runs under the shard lock just before the route becomes visible. In a
    /// registry's pool it must leave the route frozen, as `Registry::add` does (the health
    /// index orders routes by their frozen identity): change a registry's pools through the
    /// registry.
    pub fn add(
        &self,
        key: &str,
        priority: i32,
        route: Arc<Route>,
        only_if_absent: bool,
        on_insert: impl FnOnce(),
    ) -> Added {
        let outcome = self.add_locked(key, priority, route, only_if_absent, on_insert);
        if !matches!(outcome, Added::Kept(_) | Added::Unchanged) {
            self.sync_index();
        }
        outcome
    }

    /// `add` up to the point where the shard lock is released.
    fn add_locked(
        &self,
        key: &str,
        priority: i32,
        route: Arc<Route>,
        only_if_absent: bool,
        on_insert: impl FnOnce(),
    ) -> Added {
        #[cfg(feature = "linearizability-bug")]
        if RACY_ADD.load(Ordering::Relaxed) {
            return self.add_racy(key, priority, route, only_if_absent, on_insert);
        }
        let now = self.clock.now();
        let (hash, shard) = self.locate(key.as_bytes());
        let mut table = shard.write();
        self.add_in(
            &mut table,
            hash,
            now,
            key,
            priority,
            route,
            only_if_absent,
            on_insert,
        )
    }

    /// The body of `add`, on the locked shard `table` that holds `key` (of hash `hash`).
    #[allow(clippy::too_many_arguments)]
    fn add_in(
        &self,
        table: &mut HashTable<Entry>,
        hash: u64,
        now: Duration,
        key: &str,
        priority: i32,
        route: Arc<Route>,
        only_if_absent: bool,
        on_insert: impl FnOnce(),
    ) -> Added {
        fault_point!("pool.add");
        match table.entry(hash, |e| *e.key == *key, self.rehash()) {
            TableEntry::Occupied(mut occ) => {
                let entry = occ.get_mut();
                match &entry.slot {
                    Slot::Live(old) => {
                        if only_if_absent || priority < old.priority() {
                            return Added::Kept(Arc::clone(old));
                        }
                        if Arc::ptr_eq(old, &route) {
                            return Added::Unchanged;
                        }
                        on_insert();
                        // Remove first: the two may be equal in the index's order.
                        self.record_remove(old);
                        self.record_insert(&route);
                        let Slot::Live(old) = std::mem::replace(&mut entry.slot, Slot::Live(route))
                        else {
                            unreachable!()
                        };
                        Added::Replaced(old)
                    }
                    Slot::Dead(at) => {
                        let reload = now.saturating_sub(*at) < TOMBSTONE_TTL;
                        on_insert();
                        self.record_insert(&route);
                        entry.slot = Slot::Live(route);
                        self.tombstones.fetch_sub(1, Ordering::Relaxed);
                        self.live.fetch_add(1, Ordering::Release);
                        if reload {
                            Added::Reloaded
                        } else {
                            Added::Added
                        }
                    }
                }
            }
            TableEntry::Vacant(vac) => {
                on_insert();
                self.record_insert(&route);
                vac.insert(Entry {
                    key: key.into(),
                    slot: Slot::Live(route),
                });
                self.live.fetch_add(1, Ordering::Release);
                Added::Added
            }
        }
    }

    /// The deliberately broken `add` of the test-only `linearizability-bug` feature: it decides
    /// between keeping and writing under the read lock, lets go of it, yields, then takes the
    /// write lock and writes without checking again (a check-then-act race). A route added in
    /// between can so be overwritten by one of lower priority, or by an `add_if_not_exists`.
    /// tests/linearizability.rs must catch this.
    #[cfg(feature = "linearizability-bug")]
    fn add_racy(
        &self,
        key: &str,
        priority: i32,
        route: Arc<Route>,
        only_if_absent: bool,
        on_insert: impl FnOnce(),
    ) -> Added {
        let now = self.clock.now();
        let (hash, shard) = self.locate(key.as_bytes());
        {
            let table = shard.read();
            if let Some(Entry {
                slot: Slot::Live(old),
                ..
            }) = table.find(hash, |e| *e.key == *key)
            {
                if only_if_absent || priority < old.priority() {
                    return Added::Kept(Arc::clone(old));
                }
            }
        }
        std::thread::yield_now();
        let mut table = shard.write();
        on_insert();
        let new = Arc::clone(&route);
        match table.entry(hash, |e| *e.key == *key, self.rehash()) {
            TableEntry::Occupied(mut occ) => {
                match std::mem::replace(&mut occ.get_mut().slot, Slot::Live(route)) {
                    Slot::Live(old) => {
                        self.record_remove(&old);
                        self.record_insert(&new);
                        Added::Replaced(old)
                    }
                    Slot::Dead(at) => {
                        self.record_insert(&new);
                        self.tombstones.fetch_sub(1, Ordering::Relaxed);
                        self.live.fetch_add(1, Ordering::Release);
                        if now.saturating_sub(at) < TOMBSTONE_TTL {
                            Added::Reloaded
                        } else {
                            Added::Added
                        }
                    }
                }
            }
            TableEntry::Vacant(vac) => {
                self.record_insert(&new);
                vac.insert(Entry {
                    key: key.into(),
                    slot: Slot::Live(route),
                });
                self.live.fetch_add(1, Ordering::Release);
                Added::Added
            }
        }
    }

    /// Deletes the live route with `key`, leaving a tombstone; returns it. No-op when absent.
    pub fn del(&self, key: &str) -> Option<Arc<Route>> {
        let now = self.clock.now();
        let removed = {
            let (hash, shard) = self.locate(key.as_bytes());
            let mut table = shard.write();
            self.del_in(&mut table, hash, now, key)?
        };
        self.sync_index();
        self.after_deletes(now);
        Some(removed)
    }

    /// The body of `del`, on the locked shard `table` that holds `key`.
    fn del_in(
        &self,
        table: &mut HashTable<Entry>,
        hash: u64,
        now: Duration,
        key: &str,
    ) -> Option<Arc<Route>> {
        fault_point!("pool.del");
        let entry = table.find_mut(hash, |e| *e.key == *key)?;
        if matches!(entry.slot, Slot::Dead(_)) {
            return None;
        }
        let Slot::Live(old) = std::mem::replace(&mut entry.slot, Slot::Dead(now)) else {
            unreachable!()
        };
        self.record_remove(&old);
        self.live.fetch_sub(1, Ordering::Release);
        self.tombstones.fetch_add(1, Ordering::Relaxed);
        Some(old)
    }

    /// After deletes, with no shard lock held: purges expired tombstones when due.
    fn after_deletes(&self, now: Duration) {
        if self.tombstones.load(Ordering::Relaxed) > TOMBSTONE_PURGE_THRESHOLD {
            let due = self.next_purge_ns.load(Ordering::Relaxed);
            if u128::from(due) <= now.as_nanos() {
                self.purge_expired();
            }
        }
    }

    /// The index of the shard that holds `key`.
    pub(crate) fn shard_of(&self, key: &[u8]) -> usize {
        ((self.hasher.hash_one(key) >> 32) as usize) & (self.shards.len() - 1)
    }

    /// The number of shards.
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Write access to the shards `wanted[i] == true`, all locked together (in ascending
    /// order) until the writer is finished: a change set applied through it becomes visible to
    /// lookups at once (two-phase locking). More shards are locked on demand. The pool's
    /// health index is not brought up to date: the caller does that once, for the whole set.
    pub(crate) fn writer(&self, wanted: &[bool]) -> PoolWriter<'_> {
        let mut w = PoolWriter {
            pool: self,
            guards: (0..self.shards.len()).map(|_| None).collect(),
            now: self.clock.now(),
            deleted: false,
        };
        for (i, _) in wanted.iter().enumerate().filter(|(_, w)| **w) {
            w.lock(i);
        }
        w
    }

    /// Removes tombstones older than the TTL; returns how many were removed.
    pub fn purge_expired(&self) -> usize {
        let now = self.clock.now();
        let mut removed = 0;
        let mut oldest_left: Option<Duration> = None;
        for shard in self.shards.iter() {
            let mut table = shard.0.write();
            table.retain(|e| match e.slot {
                Slot::Dead(at) if now.saturating_sub(at) >= TOMBSTONE_TTL => {
                    removed += 1;
                    false
                }
                Slot::Dead(at) => {
                    oldest_left = Some(oldest_left.map_or(at, |o| o.min(at)));
                    true
                }
                Slot::Live(_) => true,
            });
        }
        self.tombstones.fetch_sub(removed, Ordering::Relaxed);
        // Nothing left can expire before the oldest remaining tombstone does; and a purge
        // scans the whole pool, so under steady churn (a tombstone expiring every moment) it
        // runs at most 8 times per TTL rather than on every delete.
        let next = oldest_left.map_or(0, |at| {
            let due = (at + TOMBSTONE_TTL).max(now + TOMBSTONE_TTL / 8);
            u64::try_from(due.as_nanos()).unwrap_or(u64::MAX)
        });
        self.next_purge_ns.store(next, Ordering::Relaxed);
        removed
    }

    /// The number of live routes (tombstones are not counted, unlike the Go pool).
    pub fn size(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// The number of tombstones currently held.
    pub fn tombstones(&self) -> usize {
        self.tombstones.load(Ordering::Relaxed)
    }

    /// Removes everything, tombstones included; returns the routes that were live, so the
    /// caller drops them outside every lock.
    pub fn clear(&self) -> Vec<Arc<Route>> {
        let mut w = self.writer(&vec![true; self.shards.len()]);
        let out = w.clear();
        w.finish();
        self.sync_index();
        out
    }

    /// A snapshot of the live routes, taken with every shard read-locked at once (so it is
    /// one consistent moment), in no particular order.
    pub fn snapshot(&self) -> Vec<Arc<Route>> {
        let guards: Vec<_> = self.shards.iter().map(|s| s.0.read()).collect();
        fault_point!("pool.snapshot");
        let mut out = Vec::with_capacity(self.size());
        for g in &guards {
            out.extend(g.iter().filter_map(|e| match &e.slot {
                Slot::Live(r) => Some(Arc::clone(r)),
                Slot::Dead(_) => None,
            }));
        }
        out
    }

    /// The live routes sorted by alias, then key (GoDoxy's `Slice`).
    pub fn sorted(&self) -> Vec<Arc<Route>> {
        let mut routes = self.snapshot();
        sort_by_alias_then_key(&mut routes);
        routes
    }

    /// The live routes sorted by key (the order health rendering uses within a pool).
    pub fn sorted_by_key(&self) -> Vec<Arc<Route>> {
        let mut routes = self.snapshot();
        routes.sort_unstable_by(|a, b| {
            a.with_identity(|x| b.with_identity(|y| x.key().as_str().cmp(y.key().as_str())))
        });
        routes
    }
}

/// Sorts routes by alias, then key.
pub fn sort_by_alias_then_key(routes: &mut [Arc<Route>]) {
    routes.sort_unstable_by(|a, b| {
        a.with_identity(|x| {
            b.with_identity(|y| {
                (x.alias().as_str(), x.key().as_str()).cmp(&(y.alias().as_str(), y.key().as_str()))
            })
        })
    });
}

type WriteGuard<'a> = crossbeam_utils::sync::ShardedLockWriteGuard<'a, HashTable<Entry>>;

/// Write access to some of a pool's shards, held together until [`PoolWriter::finish`] (see
/// [`Pool::writer`]). Each method locks the shard it needs if it is not locked yet.
pub(crate) struct PoolWriter<'a> {
    pool: &'a Pool,
    guards: Vec<Option<WriteGuard<'a>>>,
    now: Duration,
    deleted: bool,
}

impl<'a> PoolWriter<'a> {
    fn lock(&mut self, i: usize) -> &mut HashTable<Entry> {
        let pool = self.pool;
        self.guards[i].get_or_insert_with(|| pool.shards[i].0.write())
    }

    /// As [`Pool::add`].
    pub(crate) fn add(
        &mut self,
        key: &str,
        priority: i32,
        route: Arc<Route>,
        only_if_absent: bool,
        on_insert: impl FnOnce(),
    ) -> Added {
        let (pool, now) = (self.pool, self.now);
        let hash = pool.hasher.hash_one(key.as_bytes());
        let table = self.lock(((hash >> 32) as usize) & (pool.shards.len() - 1));
        pool.add_in(
            table,
            hash,
            now,
            key,
            priority,
            route,
            only_if_absent,
            on_insert,
        )
    }

    /// As [`Pool::del`].
    pub(crate) fn del(&mut self, key: &str) -> Option<Arc<Route>> {
        let (pool, now) = (self.pool, self.now);
        let hash = pool.hasher.hash_one(key.as_bytes());
        let table = self.lock(((hash >> 32) as usize) & (pool.shards.len() - 1));
        let removed = pool.del_in(table, hash, now, key);
        self.deleted |= removed.is_some();
        removed
    }

    /// The keys of the live routes for which `f` is true (every shard is locked first).
    pub(crate) fn live_keys(&mut self, mut f: impl FnMut(&Route) -> bool) -> Vec<Box<str>> {
        let mut out = Vec::new();
        for i in 0..self.guards.len() {
            for e in self.lock(i).iter() {
                if let Slot::Live(r) = &e.slot {
                    if f(r) {
                        out.push(e.key.clone());
                    }
                }
            }
        }
        out
    }

    /// As [`Pool::clear`] (every shard is locked first).
    pub(crate) fn clear(&mut self) -> Vec<Arc<Route>> {
        for i in 0..self.guards.len() {
            self.lock(i);
        }
        let pool = self.pool;
        if let Some((index, rank)) = &pool.index {
            // While every shard is locked: no change of this pool can come between.
            index.record_clear(*rank);
        }
        if let Some(hosts) = &pool.host_index {
            hosts.record_clear();
        }
        let mut out = Vec::with_capacity(pool.size());
        for g in self.guards.iter_mut().flatten() {
            // Routes are moved out, not dropped: they go after the locks are released.
            out.extend(g.drain().filter_map(|e| match e.slot {
                Slot::Live(r) => Some(r),
                Slot::Dead(_) => None,
            }));
        }
        pool.live.store(0, Ordering::Release);
        pool.tombstones.store(0, Ordering::Relaxed);
        pool.next_purge_ns.store(0, Ordering::Relaxed);
        out
    }

    /// Releases the shard locks, then purges expired tombstones when due.
    pub(crate) fn finish(mut self) {
        self.guards.clear();
        if self.deleted {
            self.pool.after_deletes(self.now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::route::Kind;

    fn route(alias: &str, priority: i32) -> Arc<Route> {
        let r = Route::new(Kind::Http, alias, "http://10.0.0.1:80").unwrap();
        r.set_priority(priority).unwrap();
        Arc::new(r)
    }

    fn add(p: &Pool, r: &Arc<Route>) -> Added {
        let key = r.key();
        p.add(&key, r.priority(), Arc::clone(r), false, || {})
    }

    fn pool() -> (Arc<ManualClock>, Pool) {
        let clock = Arc::new(ManualClock::new());
        (clock.clone(), Pool::new(clock))
    }

    #[test]
    fn get_returns_live_route_and_never_a_tombstone() {
        let (_, p) = pool();
        let a = route("a", 0);
        assert!(matches!(add(&p, &a), Added::Added));
        assert!(Arc::ptr_eq(&p.get("a").unwrap(), &a));
        assert!(p.del("a").is_some());
        assert!(p.get("a").is_none());
        assert!(!p.contains("a"));
        assert_eq!(p.size(), 0);
        assert_eq!(p.tombstones(), 1);
    }

    #[test]
    fn equal_or_higher_priority_replaces_lower_is_kept() {
        let (_, p) = pool();
        let a0 = route("a", 5);
        add(&p, &a0);
        let low = route("a", 4);
        match add(&p, &low) {
            Added::Kept(k) => assert!(Arc::ptr_eq(&k, &a0)),
            o => panic!("{o:?}"),
        }
        let same = route("a", 5);
        match add(&p, &same) {
            Added::Replaced(old) => assert!(Arc::ptr_eq(&old, &a0)),
            o => panic!("{o:?}"),
        }
        assert!(Arc::ptr_eq(&p.get("a").unwrap(), &same));
        assert_eq!(p.size(), 1);
    }

    #[test]
    fn only_if_absent_keeps_any_live_route() {
        let (_, p) = pool();
        let a = route("a", 0);
        add(&p, &a);
        let b = route("a", 100);
        match p.add("a", 100, b, true, || panic!("must not insert")) {
            Added::Kept(k) => assert!(Arc::ptr_eq(&k, &a)),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn reload_within_ttl_is_reported_as_reloaded() {
        let (clock, p) = pool();
        add(&p, &route("a", 0));
        p.del("a");
        clock.advance(Duration::from_millis(999));
        assert!(matches!(add(&p, &route("a", 0)), Added::Reloaded));
        assert_eq!(p.tombstones(), 0);
        assert_eq!(p.size(), 1);
    }

    #[test]
    fn add_after_ttl_is_reported_as_added() {
        let (clock, p) = pool();
        add(&p, &route("a", 0));
        p.del("a");
        clock.advance(TOMBSTONE_TTL);
        assert!(matches!(add(&p, &route("a", 0)), Added::Added));
    }

    #[test]
    fn del_of_absent_or_dead_key_is_a_no_op() {
        let (_, p) = pool();
        assert!(p.del("nope").is_none());
        add(&p, &route("a", 0));
        assert!(p.del("a").is_some());
        assert!(p.del("a").is_none());
        assert_eq!(p.tombstones(), 1);
    }

    #[test]
    fn tombstones_are_purged_past_256_once_older_than_ttl() {
        let (clock, p) = pool();
        for i in 0..300 {
            let r = route(&format!("r{i}"), 0);
            add(&p, &r);
        }
        for i in 0..200 {
            p.del(&format!("r{i}"));
        }
        assert_eq!(p.tombstones(), 200);
        clock.advance(Duration::from_secs(2));
        for i in 200..257 {
            p.del(&format!("r{i}"));
        }
        // The 257th tombstone triggered a purge: the 200 old ones went, the young ones stay.
        assert_eq!(p.tombstones(), 57);
        assert_eq!(p.size(), 43);
        // Young tombstones are not purged, even past the threshold.
        for i in 0..300 {
            add(&p, &route(&format!("s{i}"), 0));
        }
        for i in 0..300 {
            p.del(&format!("s{i}"));
        }
        assert_eq!(p.tombstones(), 357);
        clock.advance(Duration::from_secs(1));
        assert_eq!(p.purge_expired(), 357);
        assert_eq!(p.tombstones(), 0);
    }

    #[test]
    fn clear_removes_everything_including_tombstones() {
        let (_, p) = pool();
        add(&p, &route("a", 0));
        add(&p, &route("b", 0));
        p.del("b");
        let removed = p.clear();
        assert_eq!(removed.len(), 1);
        assert_eq!(p.size(), 0);
        assert_eq!(p.tombstones(), 0);
        assert!(matches!(add(&p, &route("b", 0)), Added::Added));
    }

    #[test]
    fn sorted_is_by_alias_then_key() {
        let (_, p) = pool();
        for (alias, key) in [("b", "b"), ("a", "z:a"), ("a", "y:a"), ("c", "c")] {
            let r = Route::new(Kind::Http, alias, "http://h:1").unwrap();
            r.set_key(key).unwrap();
            add(&p, &Arc::new(r));
        }
        let keys: Vec<String> = p.sorted().iter().map(|r| r.key()).collect();
        assert_eq!(keys, ["y:a", "z:a", "b", "c"]);
    }

    #[test]
    fn one_shard_pool_behaves_the_same() {
        let clock = Arc::new(ManualClock::new());
        let p = Pool::with_shards(clock, 1);
        for i in 0..100 {
            add(&p, &route(&format!("r{i}"), 0));
        }
        assert_eq!(p.size(), 100);
        assert_eq!(p.snapshot().len(), 100);
        assert!(p.get("r42").is_some());
    }
}
