//! The registry: three pools (HTTP, STREAM, EXCLUDED), lookups across them, iteration, health
//! and by-provider JSON, the Proxmox inventory, and a generation counter for change detection.

use crate::changelog::{ChangeOp, Changes};
use crate::clock::{Clock, SystemClock};
use crate::commit::{Commit, Committing};
use crate::error::{quote, Error, Result};
use crate::health::HealthFormat;
use crate::health_index::HealthIndex;
use crate::host::RouteDomains;
use crate::host_index::HostIndex;
use crate::notify::{Callback, Notifier};
pub use crate::pool::Added;
use crate::pool::Pool;
use crate::proxmox::Inventory;
use crate::route::{check_name, Identity, Kind, Route};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

/// A route registry. All methods take `&self` and are safe to call from any thread.
pub struct Registry {
    pub(crate) pools: [Pool; 3],
    pub(crate) generation: AtomicU64,
    pub(crate) inventory: RwLock<Arc<Inventory>>,
    /// Every live route sorted for the health JSON; the pools keep it up to date.
    pub(crate) health_index: Arc<HealthIndex>,
    /// The commit lock (see `commit.rs`): writers hold it to apply a change set, multi-route
    /// reads to take their snapshot. It guards the change log.
    pub(crate) commit: RwLock<Committing>,
    /// Seqlock sequence for lock-free counts: odd while a change set is being applied.
    pub(crate) seq: AtomicU64,
    /// Subscribers to commits.
    pub(crate) notifier: Arc<Notifier>,
    /// The HTTP routes by key as a host name, and the route domains, for `find_http_route`;
    /// the HTTP pool keeps it up to date.
    pub(crate) host_index: Arc<HostIndex>,
    /// See `Commit` (test-only feature).
    #[cfg(feature = "batch-atomicity-bug")]
    pub(crate) bug_writers: parking_lot::Mutex<()>,
}

static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::new);

/// A route in a pool is always frozen.
fn ident(r: &Route) -> &Identity {
    r.frozen_identity()
        .expect("routes in a registry are frozen when added")
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty registry whose tombstones follow `clock` (tests use a manual clock).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::with_clock_and_shards(clock, crate::pool::DEFAULT_SHARDS)
    }

    /// An empty registry with `shards` shards per pool (for benchmarks).
    pub fn with_clock_and_shards(clock: Arc<dyn Clock>, shards: usize) -> Self {
        let health_index = Arc::new(HealthIndex::default());
        let host_index = Arc::new(HostIndex::default());
        Registry {
            pools: Kind::ALL.map(|kind| {
                let (clock, index) = (Arc::clone(&clock), Arc::clone(&health_index));
                let pool = Pool::with_index(clock, shards, index, kind.index() as u8);
                match kind {
                    Kind::Http => pool.with_host_index(Arc::clone(&host_index)),
                    _ => pool,
                }
            }),
            generation: AtomicU64::new(0),
            inventory: RwLock::new(Arc::new(Inventory::default())),
            health_index,
            host_index,
            commit: RwLock::new(Committing::default()),
            seq: AtomicU64::new(0),
            notifier: Arc::new(Notifier::default()),
            #[cfg(feature = "batch-atomicity-bug")]
            bug_writers: parking_lot::Mutex::new(()),
        }
    }

    /// The process-wide registry. Never dropped.
    pub fn global() -> &'static Registry {
        &GLOBAL
    }

    /// The pool for `kind`.
    pub fn pool(&self, kind: Kind) -> &Pool {
        &self.pools[kind.index()]
    }

    /// The generation: + 1 per committed change set (an add that registered a route, a del
    /// that removed one, a clear that removed something, an inventory load, a batch, new route
    /// domains).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The counter itself, for readers that poll it without a call (C: `rr_generation_ptr`).
    pub fn generation_counter(&self) -> &AtomicU64 {
        &self.generation
    }

    /// Adds `route` to its kind's pool: it replaces a live route with the same key if its
    /// priority is at least that route's, else that route is kept ([`Added::Kept`];
    /// [`Added::into_result`] turns that into the `RR_KEPT` error). On registration the route
    /// is frozen (first time only: linked to Proxmox then).
    pub fn add(&self, route: &Arc<Route>) -> Added {
        self.add_inner(route, false)
    }

    /// Adds `route` only if no live route has its key; else returns the one that stays.
    pub fn add_if_not_exists(&self, route: &Arc<Route>) -> Added {
        self.add_inner(route, true)
    }

    fn add_inner(&self, route: &Arc<Route>, only_if_absent: bool) -> Added {
        // The commit lock first, then the route's draft (the order a batch takes them in).
        let mut commit = Commit::begin(self);
        let mut reg = route.begin_registration();
        let id = reg.identity();
        let (kind, priority) = (id.kind(), id.priority());
        // A copy of the key on the stack (keys are at most 255 bytes): the original is in the
        // draft, which the pool's callback freezes.
        let key = KeyCopy::new(id.key().as_str());
        let link = if reg.is_frozen() {
            None
        } else {
            self.inventory.read().link_for(id)
        };
        let outcome = self.pool(kind).add(
            key.as_str(),
            priority,
            Arc::clone(route),
            only_if_absent,
            || reg.freeze(link),
        );
        drop(reg);
        let op = match &outcome {
            Added::Kept(_) | Added::Unchanged => None,
            Added::Added => Some(ChangeOp::Added),
            Added::Reloaded => Some(ChangeOp::Reloaded),
            Added::Replaced(_) => Some(ChangeOp::Replaced),
        };
        if let Some(op) = op {
            commit.record(op, kind, Some(Arc::clone(route)));
        }
        commit.finish().done();
        outcome
    }

    /// Deletes the live route with `key` from `kind`'s pool, leaving a tombstone; returns it.
    /// `RR_NOT_FOUND` (naming the key, at most 64 characters of it, and the pool) if no live
    /// route has that key; `RR_INVALID_ARGUMENT` for a key no route can have (empty, over 255
    /// bytes, with a NUL byte).
    pub fn del(&self, kind: Kind, key: &str) -> Result<Arc<Route>> {
        // A key no route can have (empty, over 255 bytes, with a NUL byte) is a bad argument,
        // as it is for a batch's delete.
        check_name("key", key, false)?;
        let mut commit = Commit::begin(self);
        let removed = self.pool(kind).del(key);
        if let Some(r) = &removed {
            commit.record(ChangeOp::Removed, kind, Some(Arc::clone(r)));
        }
        commit.finish().done();
        removed.ok_or_else(|| {
            Error::not_found(format!(
                "no route with key {} in {}",
                quote(key),
                kind.pool_name()
            ))
        })
    }

    /// Deletes by `route`'s key in `route`'s pool (whatever route holds that key now), as
    /// [`Registry::del`].
    pub fn del_route(&self, route: &Route) -> Result<Arc<Route>> {
        let (kind, key) = route.with_identity(|i| (i.kind(), i.key().to_string()));
        self.del(kind, &key)
    }

    /// Empties `kind`'s pool, tombstones included: one change set (none when the pool held no
    /// live route).
    pub fn pool_clear(&self, kind: Kind) {
        self.clear_kinds(&[kind]);
    }

    /// Empties all three pools: one change set, with a `Cleared` record per pool that held
    /// live routes.
    pub fn clear(&self) {
        self.clear_kinds(&Kind::ALL);
    }

    fn clear_kinds(&self, kinds: &[Kind]) {
        let mut commit = Commit::begin(self);
        // Every shard of these pools locked together, so lookups see the pools emptied at once.
        let mut writers: Vec<_> = kinds
            .iter()
            .map(|&k| {
                let pool = self.pool(k);
                (k, pool.writer(&vec![true; pool.shard_count()]))
            })
            .collect();
        let mut removed = Vec::new();
        for (kind, w) in &mut writers {
            let gone = w.clear();
            if !gone.is_empty() {
                commit.record(ChangeOp::Cleared, *kind, None);
            }
            removed.push((*kind, gone));
        }
        for (_, w) in writers {
            w.finish();
        }
        commit.sync_index_on_publish();
        commit.finish().done();
        // Logged with no lock held: the logger may call back into the library.
        for (kind, gone) in removed.iter().filter(|(_, gone)| !gone.is_empty()) {
            log::debug!("{}: cleared {} routes", kind.pool_name(), gone.len());
        }
        drop(removed);
    }

    /// Removes expired tombstones from every pool; returns how many.
    pub fn purge_tombstones(&self) -> usize {
        self.pools.iter().map(Pool::purge_expired).sum()
    }

    /// HTTP, then STREAM. Never EXCLUDED. (Keys are matched as bytes: see [`Pool::get`].)
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<Arc<Route>> {
        let key = key.as_ref();
        self.pools[0].get(key).or_else(|| self.pools[1].get(key))
    }

    /// HTTP, then STREAM, then EXCLUDED.
    pub fn get_include_excluded(&self, key: impl AsRef<[u8]>) -> Option<Arc<Route>> {
        let key = key.as_ref();
        self.get(key).or_else(|| self.pools[2].get(key))
    }

    /// The HTTP route keyed `alias`, else the one keyed `host`.
    pub fn get_http_route_or_exact(
        &self,
        alias: impl AsRef<[u8]>,
        host: impl AsRef<[u8]>,
    ) -> Option<Arc<Route>> {
        self.pools[0].get(alias).or_else(|| self.pools[0].get(host))
    }

    /// The HTTP route for a request's `Host` header, by the rules of `host.rs`: port
    /// stripped as Go's `net.SplitHostPort` does, ASCII case and one trailing dot ignored; the
    /// configured domains (else the exact host, then its first label), then a wildcard route
    /// `*.<suffix>`. A miss for an empty or non-UTF-8 host. Allocates nothing.
    ///
    /// Sees every add and delete that returned before it started. It is several lookups, not
    /// one snapshot: a change made meanwhile may be seen by one step and not another.
    pub fn find_http_route(&self, host: impl AsRef<[u8]>) -> Option<Arc<Route>> {
        crate::host::resolve(&self.host_index.reader(), host.as_ref())
    }

    /// Replaces the domain suffixes `find_http_route` strips (empty: none), each given with or
    /// without its leading dot. On error the old domains stay. Bumps the generation on
    /// success, since answers of `find_http_route` may change.
    pub fn set_route_domains<S: AsRef<[u8]>>(&self, domains: &[S]) -> Result<()> {
        let new = RouteDomains::parse(domains)?;
        let n = new.iter().count();
        // A change set of its own, with no change record (no route changed): the generation
        // moves, since answers of `find_http_route` may change.
        let mut commit = Commit::begin(self);
        let _old = self.host_index.set_domains(new);
        commit.bump_without_record();
        commit.finish().done();
        log::debug!("http_routes: route domains set ({n})");
        Ok(())
    }

    /// The domain suffixes `find_http_route` strips, as stored (leading dot, lowercase).
    pub fn route_domains(&self) -> RouteDomains {
        self.host_index.reader().domains().clone()
    }

    /// Every name of the host index with its routes, best first (for consistency tests: the
    /// routes must be exactly the live HTTP routes, each under its key lowercased, without
    /// one trailing dot).
    #[doc(hidden)]
    pub fn host_index_snapshot(&self) -> Vec<(String, Vec<Arc<Route>>)> {
        self.host_index.snapshot()
    }

    /// HTTP + STREAM sizes.
    pub fn num_active_routes(&self) -> usize {
        self.counts(|| self.pools[0].size() + self.pools[1].size())
    }

    /// HTTP + STREAM + EXCLUDED sizes.
    pub fn num_all_routes(&self) -> usize {
        self.counts(|| self.pools.iter().map(Pool::size).sum())
    }

    /// The number of live routes in `kind`'s pool (never counting half a change set).
    pub fn pool_size(&self, kind: Kind) -> usize {
        self.counts(|| self.pool(kind).size())
    }

    /// The live routes of `kinds` (pool after pool, each in no particular order), all at one
    /// generation, which is returned with them.
    pub fn snapshot(&self, kinds: &[Kind]) -> (Vec<Arc<Route>>, u64) {
        self.at_one_generation(|| {
            let mut out = Vec::with_capacity(kinds.iter().map(|&k| self.pool(k).size()).sum());
            for &kind in kinds {
                out.extend(self.pool(kind).snapshot());
            }
            out
        })
    }

    /// The live routes of `kind`'s pool sorted by alias, then key (GoDoxy's `Slice`).
    pub fn pool_sorted(&self, kind: Kind) -> Vec<Arc<Route>> {
        self.at_one_generation(|| self.pool(kind).sorted()).0
    }

    /// Visits the live routes of `kinds` (a snapshot at one generation) outside every lock;
    /// `f` returns false to stop. Returns how many routes `f` was called with.
    pub fn iter_kinds(&self, kinds: &[Kind], mut f: impl FnMut(&Arc<Route>) -> bool) -> usize {
        let mut visited = 0;
        for r in self.snapshot(kinds).0 {
            visited += 1;
            if !f(&r) {
                break;
            }
        }
        visited
    }

    /// Visits the live routes of `kind`'s pool sorted by alias, then key (GoDoxy's `Slice`),
    /// from one snapshot, outside every lock; `f` returns false to stop. Returns how many
    /// routes `f` was called with (including the call that returned false).
    pub fn iter_sorted(&self, kind: Kind, f: impl FnMut(&Arc<Route>) -> bool) -> usize {
        visit_each(self.pool_sorted(kind), f)
    }

    /// Visits the routes of all three pools in [`Registry::by_provider_routes`] order, as
    /// [`Registry::iter_sorted`].
    pub fn iter_by_provider(&self, f: impl FnMut(&Arc<Route>) -> bool) -> usize {
        visit_each(self.by_provider_routes(), f)
    }

    /// HTTP then STREAM routes.
    pub fn iter_active(&self, f: impl FnMut(&Arc<Route>) -> bool) -> usize {
        self.iter_kinds(&[Kind::Http, Kind::Stream], f)
    }

    /// HTTP, STREAM, then EXCLUDED routes.
    pub fn iter_all(&self, f: impl FnMut(&Arc<Route>) -> bool) -> usize {
        self.iter_kinds(&Kind::ALL, f)
    }

    /// Provider name → keys of its routes over all three pools, each list sorted.
    pub fn by_provider(&self) -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.snapshot(&Kind::ALL).0 {
            {
                let id = ident(&r);
                map.entry(id.provider().to_string())
                    .or_default()
                    .push(id.key().to_string());
            }
        }
        for keys in map.values_mut() {
            keys.sort_unstable();
        }
        map
    }

    /// The routes of all three pools ordered by provider, then key, then pool (HTTP, STREAM,
    /// EXCLUDED): the order in which `by_provider` lists them, with the routes themselves.
    pub fn by_provider_routes(&self) -> Vec<Arc<Route>> {
        let (snapshots, _) = self.at_one_generation(|| self.pools.each_ref().map(Pool::snapshot));
        let mut all: Vec<(usize, Arc<Route>)> = Vec::new();
        for (i, snapshot) in snapshots.into_iter().enumerate() {
            all.extend(snapshot.into_iter().map(|r| (i, r)));
        }
        all.sort_by(|(pa, a), (pb, b)| {
            let (a, b) = (ident(a), ident(b));
            (a.provider().as_bytes(), a.key().as_bytes(), pa).cmp(&(
                b.provider().as_bytes(),
                b.key().as_bytes(),
                pb,
            ))
        });
        all.into_iter().map(|(_, r)| r).collect()
    }

    /// `by_provider` as Go's `encoding/json` renders `map[string][]string`.
    pub fn by_provider_json(&self) -> String {
        let (snapshots, _) = self.at_one_generation(|| self.pools.each_ref().map(Pool::snapshot));
        let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in snapshots.iter().flatten() {
            let id = ident(r);
            map.entry(id.provider()).or_default().push(id.key());
        }
        let mut groups: Vec<(&str, Vec<&str>)> = map.into_iter().collect();
        for (_, keys) in &mut groups {
            keys.sort_unstable();
        }
        crate::health::render_string_lists(&groups)
    }

    /// The routes whose health the health JSON shows: one per alias, the one met last in
    /// the order HTTP, STREAM, EXCLUDED and ascending key within a pool; sorted by alias.
    pub fn health_routes(&self) -> Vec<Arc<Route>> {
        self.at_one_generation(|| self.health_index.winners()).0
    }

    /// The health of every route keyed by alias, as Go renders GoDoxy's health map types.
    ///
    /// Read under the commit lock, as every multi-route read: a writer makes a change set
    /// visible to lookups when it lets go of the pool shards, before it brings the health
    /// index up to date, so a health JSON that did not wait for it could miss what a lookup
    /// just returned.
    pub fn health_json(&self, format: HealthFormat) -> String {
        self.at_one_generation(|| self.health_index.render(format))
            .0
    }

    /// Replaces the Proxmox inventory; on error the old one stays. Routes added before keep
    /// their links; the new inventory applies to routes added from now on.
    pub fn load_proxmox_json(&self, json: &[u8]) -> Result<()> {
        let inv = Arc::new(Inventory::from_json(json)?);
        let (nodes, resources) = (inv.nodes.len(), inv.resources.len());
        let mut commit = Commit::begin(self);
        let _old = std::mem::replace(&mut *self.inventory.write(), inv);
        commit.record(ChangeOp::Inventory, Kind::Http, None);
        commit.finish().done();
        log::debug!("proxmox: loaded inventory of {nodes} nodes and {resources} resources");
        Ok(())
    }

    /// The current Proxmox inventory.
    pub fn inventory(&self) -> Arc<Inventory> {
        Arc::clone(&self.inventory.read())
    }

    /// The change records after generation `since` (see
    /// [`ChangeLog::since`](crate::changelog::ChangeLog::since)).
    pub fn changes_since(&self, since: u64) -> Result<Changes> {
        // The read side of the commit lock: no writer is between applying a set and storing
        // its generation meanwhile.
        let committed = self.commit.read();
        committed
            .log
            .since(since, self.generation.load(Ordering::Acquire))
    }

    /// Sets the change log's capacity in records (at least 1; default 4096).
    pub fn set_change_log_capacity(&self, records: usize) -> Result<()> {
        let mut evicted = Vec::new();
        let r = self.commit.write().log.set_capacity(records, &mut evicted);
        crate::commit::warm_for_drop(&evicted);
        drop(evicted);
        r
    }

    /// Calls `f` with the new generation after every committed change set (see `notify.rs`
    /// for the rules). Returns a token for [`Registry::unsubscribe`] (never 0).
    pub fn subscribe(&self, f: Callback) -> u64 {
        self.notifier.subscribe(f)
    }

    /// Ends a subscription: once this returns, its callback is not running (unless called
    /// from inside that callback) and is never called again. False for an unknown token.
    pub fn unsubscribe(&self, token: u64) -> bool {
        self.notifier.unsubscribe(token)
    }
}

/// A key copied to the stack, so that an add needs no allocation to look its key up.
struct KeyCopy {
    buf: [u8; crate::route::MAX_NAME_LEN],
    len: usize,
    /// A key longer than the limit (not possible for a checked route; kept as a fallback).
    long: Option<Box<str>>,
}

impl KeyCopy {
    fn new(key: &str) -> Self {
        let mut buf = [0; crate::route::MAX_NAME_LEN];
        match buf.get_mut(..key.len()) {
            Some(dst) => {
                dst.copy_from_slice(key.as_bytes());
                KeyCopy {
                    buf,
                    len: key.len(),
                    long: None,
                }
            }
            None => KeyCopy {
                buf,
                len: 0,
                long: Some(key.into()),
            },
        }
    }

    fn as_str(&self) -> &str {
        match &self.long {
            Some(k) => k,
            // A copy of a whole `str`, so it is UTF-8.
            None => std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default(),
        }
    }
}

/// Calls `f` on each route until it returns false; returns how many calls were made.
fn visit_each(routes: Vec<Arc<Route>>, mut f: impl FnMut(&Arc<Route>) -> bool) -> usize {
    let mut visited = 0;
    for r in &routes {
        visited += 1;
        if !f(r) {
            break;
        }
    }
    visited
}
