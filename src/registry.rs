//! The registry: three pools (HTTP, STREAM, EXCLUDED), lookups across them, iteration, health
//! and by-provider JSON, the Proxmox inventory, and a generation counter for change detection.

use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::health::{HealthFormat, HealthJsonWriter};
use crate::pool::{AddOutcome, Pool};
use crate::proxmox::Inventory;
use crate::route::{Identity, Kind, Route};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

/// What `add` did with a route.
#[derive(Debug)]
pub enum Added {
    /// Registered under a new key (or one whose tombstone had expired).
    Added,
    /// Registered under a key deleted less than 1 s ago.
    Reloaded,
    /// Registered in place of this route, which had lower or equal priority.
    Replaced(Arc<Route>),
    /// Not registered: this route keeps the key.
    Kept(Arc<Route>),
}

impl Added {
    /// Whether the route was registered.
    pub fn registered(&self) -> bool {
        !matches!(self, Added::Kept(_))
    }
}

/// A route registry. All methods take `&self` and are safe to call from any thread.
pub struct Registry {
    pools: [Pool; 3],
    generation: AtomicU64,
    inventory: RwLock<Arc<Inventory>>,
    /// The health JSON's routes in order, for the generation it was computed at. Health
    /// updates do not change it; every mutation drops it.
    health_order: Mutex<Option<(u64, HealthOrder)>>,
}

type HealthOrder = Arc<[Arc<Route>]>;

static GLOBAL: LazyLock<Registry> = LazyLock::new(Registry::new);

/// One route per alias from the three pools' snapshots (in pool order): the last in the order
/// (alias, pool, key), sorted by alias.
/// Winners are given as (pool, index in that pool's snapshot).
fn health_winners(snapshots: &[Vec<Arc<Route>>; 3]) -> Vec<(usize, usize)> {
    struct Item<'a> {
        alias: &'a str,
        rank: usize,
        key: &'a str,
        at: (usize, usize),
    }
    let total = snapshots.iter().map(Vec::len).sum();
    let mut items: Vec<Item<'_>> = Vec::with_capacity(total);
    // Sort small (alias prefix, index) pairs: the prefix settles most comparisons without
    // touching the strings.
    let mut order: Vec<(u128, u32)> = Vec::with_capacity(total);
    for (rank, snap) in snapshots.iter().enumerate() {
        for (i, route) in snap.iter().enumerate() {
            let id = ident(route);
            order.push((id.alias_prefix(), items.len() as u32));
            items.push(Item {
                alias: id.alias(),
                rank,
                key: id.key(),
                at: (rank, i),
            });
        }
    }
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (x, y) = (&items[a.1 as usize], &items[b.1 as usize]);
            (x.alias, x.rank, x.key).cmp(&(y.alias, y.rank, y.key))
        })
    });
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(order.len());
    let mut last: Option<(u128, &str)> = None;
    for (prefix, i) in order {
        let it = &items[i as usize];
        // Different prefixes mean different aliases: compare the text only on a tie.
        let same = last.is_some_and(|(p, a)| p == prefix && a == it.alias);
        match out.last_mut() {
            Some(slot) if same => *slot = it.at,
            _ => out.push(it.at),
        }
        last = Some((prefix, it.alias));
    }
    out
}

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
        Registry {
            pools: Kind::ALL.map(|_| Pool::with_shards(Arc::clone(&clock), shards)),
            generation: AtomicU64::new(0),
            inventory: RwLock::new(Arc::new(Inventory::default())),
            health_order: Mutex::new(None),
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

    fn bump(&self) {
        // After the change is visible, so a reader that sees the new number sees the change.
        self.generation.fetch_add(1, Ordering::Release);
        // Routes in the dropped order are released here, outside the lock.
        let stale = self.health_order.lock().take();
        drop(stale);
    }

    /// A number that changes on every mutation (add, del, clear, inventory load).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The counter itself, for readers that poll it without a call (C: `rr_generation_ptr`).
    pub fn generation_counter(&self) -> &AtomicU64 {
        &self.generation
    }

    /// Adds `route` to its kind's pool: it replaces a live route with the same key if its
    /// priority is at least that route's, else that route is kept. On registration the route
    /// is frozen (first time only: linked to Proxmox then).
    pub fn add(&self, route: &Arc<Route>) -> Added {
        self.add_inner(route, false)
    }

    /// Adds `route` only if no live route has its key; else returns the one that stays.
    pub fn add_if_not_exists(&self, route: &Arc<Route>) -> Added {
        self.add_inner(route, true)
    }

    fn add_inner(&self, route: &Arc<Route>, only_if_absent: bool) -> Added {
        let mut reg = route.begin_registration();
        let id = reg.identity();
        let (kind, priority) = (id.kind(), id.priority());
        let key: Box<str> = id.key().as_str().into();
        let link = if reg.is_frozen() {
            None
        } else {
            self.inventory.read().link_for(id)
        };
        let outcome =
            self.pool(kind)
                .add(&key, priority, Arc::clone(route), only_if_absent, || {
                    reg.freeze(link)
                });
        drop(reg);
        let verb = match &outcome {
            AddOutcome::Kept(_) => None,
            AddOutcome::Added => Some("added"),
            AddOutcome::Reloaded => Some("reloaded"),
            AddOutcome::Replaced(_) => Some("replaced"),
        };
        if let Some(verb) = verb {
            self.bump();
            log::debug!(
                "{}: {verb} {}",
                kind.pool_name(),
                ident(route).display_name()
            );
        }
        match outcome {
            AddOutcome::Added => Added::Added,
            AddOutcome::Reloaded => Added::Reloaded,
            AddOutcome::Replaced(old) => Added::Replaced(old),
            AddOutcome::Kept(r) => Added::Kept(r),
        }
    }

    /// Deletes the live route with `key` from `kind`'s pool, leaving a tombstone; returns it.
    pub fn del(&self, kind: Kind, key: &str) -> Option<Arc<Route>> {
        let removed = self.pool(kind).del(key)?;
        self.bump();
        log::debug!(
            "{}: removed {}",
            kind.pool_name(),
            ident(&removed).display_name()
        );
        Some(removed)
    }

    /// Deletes by `route`'s key in `route`'s pool (whatever route holds that key now).
    pub fn del_route(&self, route: &Route) -> Option<Arc<Route>> {
        let (kind, key) = route.with_identity(|i| (i.kind(), i.key().to_string()));
        self.del(kind, &key)
    }

    /// Empties `kind`'s pool, tombstones included.
    pub fn pool_clear(&self, kind: Kind) {
        let removed = self.pool(kind).clear();
        self.bump();
        log::debug!("{}: cleared {} routes", kind.pool_name(), removed.len());
        drop(removed);
    }

    /// Empties all three pools.
    pub fn clear(&self) {
        for kind in Kind::ALL {
            self.pool_clear(kind);
        }
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

    /// HTTP + STREAM sizes.
    pub fn num_active_routes(&self) -> usize {
        self.pools[0].size() + self.pools[1].size()
    }

    /// HTTP + STREAM + EXCLUDED sizes.
    pub fn num_all_routes(&self) -> usize {
        self.num_active_routes() + self.pools[2].size()
    }

    /// Visits the live routes of `kinds`, one pool's snapshot at a time, outside every lock;
    /// `f` returns false to stop. Returns how many routes `f` was called with.
    pub fn iter_kinds(&self, kinds: &[Kind], mut f: impl FnMut(&Arc<Route>) -> bool) -> usize {
        let mut visited = 0;
        for &kind in kinds {
            for r in self.pool(kind).snapshot() {
                visited += 1;
                if !f(&r) {
                    return visited;
                }
            }
        }
        visited
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
        for pool in &self.pools {
            for r in pool.snapshot() {
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

    /// `by_provider` as Go's `encoding/json` renders `map[string][]string`.
    pub fn by_provider_json(&self) -> String {
        let snapshots: Vec<_> = self.pools.iter().map(Pool::snapshot).collect();
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
        self.health_order().to_vec()
    }

    /// `health_routes`, computed once per generation.
    fn health_order(&self) -> HealthOrder {
        let gen = self.generation();
        if let Some((g, order)) = &*self.health_order.lock() {
            if *g == gen {
                return Arc::clone(order);
            }
        }
        let snapshots = self.snapshots();
        let winners = health_winners(&snapshots);
        // Move the winners out of the snapshots rather than clone them: 10 000 fewer
        // reference-count round trips on as many cache lines.
        let mut slots = snapshots.map(|v| v.into_iter().map(Some).collect::<Vec<_>>());
        let order: HealthOrder = winners
            .into_iter()
            .filter_map(|(pool, i)| slots[pool][i].take())
            .collect();
        drop(slots);
        // Keep it only if nothing changed meanwhile; a later mutation drops it in `bump`.
        let replaced = {
            let mut slot = self.health_order.lock();
            (self.generation() == gen).then(|| slot.replace((gen, Arc::clone(&order))))
        };
        drop(replaced);
        order
    }

    /// The health of every route keyed by alias, as Go renders the seed's health map types.
    pub fn health_json(&self, format: HealthFormat) -> String {
        let order = self.health_order();
        let mut w = HealthJsonWriter::new(format, order.len());
        for r in order.iter() {
            r.with_rendered_health(|h| w.entry_rendered(ident(r).alias_json(), h));
        }
        w.finish()
    }

    fn snapshots(&self) -> [Vec<Arc<Route>>; 3] {
        [0, 1, 2].map(|i| self.pools[i].snapshot())
    }

    /// Replaces the Proxmox inventory; on error the old one stays. Routes added before keep
    /// their links; the new inventory applies to routes added from now on.
    pub fn load_proxmox_json(&self, json: &[u8]) -> Result<()> {
        let inv = Arc::new(Inventory::from_json(json)?);
        let (nodes, resources) = (inv.nodes.len(), inv.resources.len());
        let _old = std::mem::replace(&mut *self.inventory.write(), inv);
        self.bump();
        log::debug!("proxmox: loaded inventory of {nodes} nodes and {resources} resources");
        Ok(())
    }

    /// The current Proxmox inventory.
    pub fn inventory(&self) -> Arc<Inventory> {
        Arc::clone(&self.inventory.read())
    }
}
