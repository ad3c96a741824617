//! Change sets through the core API: generations and change records against a
//! model, whole change sets for every multi-route read while a writer reloads, the bounded log
//! (`Stale`, a set larger than the capacity), and subscriptions.

use route_registry::clock::ManualClock;
use route_registry::{Batch, Change, ChangeOp, HealthFormat, Kind, Registry, Route, Status};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn url(kind: Kind) -> &'static str {
    match kind {
        Kind::Http => "http://10.0.0.1:80",
        Kind::Stream => "tcp://10.0.0.1:53",
        Kind::Excluded => "",
    }
}

fn mk(kind: Kind, key: &str, provider: &str, priority: i32, id: u64) -> Arc<Route> {
    let r = Route::new(kind, key, url(kind)).unwrap();
    r.set_provider(provider).unwrap();
    r.set_priority(priority).unwrap();
    r.set_user_data(id).unwrap();
    Arc::new(r)
}

/// A route made by the random test, with its id, priority and provider.
type Made = (Arc<Route>, u64, i32, &'static str);

/// A record as (generation, op, kind, key, route id).
type Rec = (u64, ChangeOp, Kind, String, Option<u64>);

fn rec(c: &Change) -> Rec {
    (
        c.generation,
        c.op,
        c.kind,
        c.key().to_string(),
        c.route.as_ref().map(|r| r.user_data()),
    )
}

fn records_since(reg: &Registry, since: u64) -> Vec<Rec> {
    reg.changes_since(since)
        .unwrap()
        .records
        .iter()
        .map(rec)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The model

#[derive(Clone, Debug)]
enum Slot {
    Live {
        id: u64,
        priority: i32,
        provider: String,
    },
    Dead(Duration),
}

#[derive(Default)]
struct Model {
    pools: [BTreeMap<String, Slot>; 3],
    generation: u64,
    now: Duration,
    /// Adds of the very route that held the key (no record): counted to show they happen.
    unchanged: usize,
}

/// How the model adds: by the priority rule, only if absent, or over a replaced provider's
/// old route whatever the priorities.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AddMode {
    Priority,
    IfAbsent,
    Outranking,
}

struct ModelSet<'a> {
    m: &'a mut Model,
    recs: Vec<Rec>,
}

impl ModelSet<'_> {
    fn add(
        &mut self,
        kind: Kind,
        key: &str,
        id: u64,
        priority: i32,
        provider: &str,
        mode: AddMode,
    ) {
        let g = self.m.generation + 1;
        let now = self.m.now;
        let pool = &mut self.m.pools[kind.index()];
        let op = match pool.get(key) {
            Some(Slot::Live {
                priority: old,
                id: old_id,
                ..
            }) => {
                if mode == AddMode::IfAbsent || (priority < *old && mode != AddMode::Outranking) {
                    return;
                }
                if *old_id == id {
                    // The route already holds the key: nothing changes.
                    self.m.unchanged += 1;
                    return;
                }
                ChangeOp::Replaced
            }
            Some(Slot::Dead(at)) if now.saturating_sub(*at) < Duration::from_secs(1) => {
                ChangeOp::Reloaded
            }
            _ => ChangeOp::Added,
        };
        pool.insert(
            key.to_string(),
            Slot::Live {
                id,
                priority,
                provider: provider.to_string(),
            },
        );
        self.recs.push((g, op, kind, key.to_string(), Some(id)));
    }

    fn del(&mut self, kind: Kind, key: &str) {
        let g = self.m.generation + 1;
        let now = self.m.now;
        let pool = &mut self.m.pools[kind.index()];
        if let Some(Slot::Live { id, .. }) = pool.get(key).cloned() {
            pool.insert(key.to_string(), Slot::Dead(now));
            self.recs
                .push((g, ChangeOp::Removed, kind, key.to_string(), Some(id)));
        }
    }

    fn clear(&mut self, kind: Kind) {
        let g = self.m.generation + 1;
        let pool = &mut self.m.pools[kind.index()];
        if pool.values().any(|s| matches!(s, Slot::Live { .. })) {
            self.recs
                .push((g, ChangeOp::Cleared, kind, String::new(), None));
        }
        pool.clear();
    }

    fn commit(self) -> Vec<Rec> {
        if !self.recs.is_empty() {
            self.m.generation += 1;
        }
        self.recs
    }
}

impl Model {
    fn set(&mut self) -> ModelSet<'_> {
        ModelSet {
            m: self,
            recs: Vec::new(),
        }
    }

    fn live(&self) -> BTreeSet<(usize, String, u64)> {
        let mut out = BTreeSet::new();
        for (i, pool) in self.pools.iter().enumerate() {
            for (k, s) in pool {
                if let Slot::Live { id, .. } = s {
                    out.insert((i, k.clone(), *id));
                }
            }
        }
        out
    }
}

#[test]
fn change_records_equal_a_models_for_random_sequences() {
    let seed = std::env::var("CHANGES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let mut totals: HashMap<ChangeOp, usize> = HashMap::new();
    let mut unchanged = 0;
    for run in 0..20u64 {
        let mut rng = Rng(seed ^ run.wrapping_mul(0x9E37_79B9));
        let clock = Arc::new(ManualClock::new());
        let reg = Registry::with_clock(clock.clone());
        let mut m = Model::default();
        let mut next_id = 1u64;
        let keys = ["a", "b", "c", "d", "e"];
        let providers = ["p", "q", ""];
        let mut seen = 0u64;
        // Every route made for a (pool, key): one in three adds is of one of them again (the
        // route holding the key, or one deleted or replaced before), as a reload does.
        let mut made: HashMap<(Kind, &str), Vec<Made>> = HashMap::new();
        for step in 0..400 {
            let kind = Kind::ALL[rng.below(3)];
            let key = keys[rng.below(keys.len())];
            let mut new_route = |rng: &mut Rng, kind: Kind, key: &'static str| {
                let earlier = made.entry((kind, key)).or_default();
                if !earlier.is_empty() && rng.below(3) == 0 {
                    // Mostly the latest: the route that may still hold the key.
                    let i = if rng.below(2) == 0 {
                        earlier.len() - 1
                    } else {
                        rng.below(earlier.len())
                    };
                    return earlier[i].clone();
                }
                let (id, pr, prov) = (
                    next_id,
                    rng.below(3) as i32,
                    providers[rng.below(providers.len())],
                );
                next_id += 1;
                let made = (mk(kind, key, prov, pr, id), id, pr, prov);
                earlier.push(made.clone());
                made
            };
            let expected = match rng.below(100) {
                0..=29 => {
                    let only = rng.below(5) == 0;
                    let (r, id, pr, prov) = new_route(&mut rng, kind, key);
                    if only {
                        reg.add_if_not_exists(&r);
                    } else {
                        reg.add(&r);
                    }
                    let mut s = m.set();
                    let mode = if only {
                        AddMode::IfAbsent
                    } else {
                        AddMode::Priority
                    };
                    s.add(kind, key, id, pr, prov, mode);
                    s.commit()
                }
                30..=44 => {
                    let _ = reg.del(kind, key);
                    let mut s = m.set();
                    s.del(kind, key);
                    s.commit()
                }
                45..=47 => {
                    reg.pool_clear(kind);
                    let mut s = m.set();
                    s.clear(kind);
                    s.commit()
                }
                48..=49 => {
                    reg.clear();
                    let mut s = m.set();
                    for k in Kind::ALL {
                        s.clear(k);
                    }
                    s.commit()
                }
                50..=51 => {
                    reg.load_proxmox_json(br#"{"nodes":[{"name":"pve"}]}"#)
                        .unwrap();
                    m.generation += 1;
                    vec![(
                        m.generation,
                        ChangeOp::Inventory,
                        Kind::Http,
                        String::new(),
                        None,
                    )]
                }
                52..=61 => {
                    clock.advance(Duration::from_millis(400));
                    m.now += Duration::from_millis(400);
                    vec![]
                }
                _ => {
                    // A batch: maybe replacing a provider, then adds and deletes.
                    let batch = Batch::new();
                    let replaced: Vec<&str> = if rng.below(3) == 0 {
                        let p = providers[rng.below(providers.len())];
                        batch.replace_provider(p).unwrap();
                        vec![p]
                    } else {
                        vec![]
                    };
                    let mut entries = Vec::new();
                    for _ in 0..rng.below(6) {
                        let kind = Kind::ALL[rng.below(3)];
                        let key = keys[rng.below(keys.len())];
                        if rng.below(4) == 0 {
                            batch.del_key(kind, key).unwrap();
                            entries.push((kind, key, None));
                        } else {
                            let (r, id, pr, prov) = new_route(&mut rng, kind, key);
                            batch.add(r).unwrap();
                            entries.push((kind, key, Some((id, pr, prov))));
                        }
                    }
                    let g = reg.commit_batch(&batch).unwrap();
                    assert_eq!(
                        reg.commit_batch(&batch).unwrap_err().status(),
                        Status::InvalidArgument
                    );
                    let mut s = m.set();
                    // The replaced providers' routes under keys the batch adds again: the
                    // first add of each replaces it whatever the priorities.
                    let mut superseded: HashSet<(Kind, String)> = HashSet::new();
                    for kind in Kind::ALL {
                        for (k, slot) in &s.m.pools[kind.index()] {
                            if let Slot::Live { provider, .. } = slot {
                                if replaced.contains(&provider.as_str())
                                    && entries.iter().any(|(ek, ekey, add)| {
                                        *ek == kind && *ekey == k.as_str() && add.is_some()
                                    })
                                {
                                    superseded.insert((kind, k.clone()));
                                }
                            }
                        }
                        let victims: Vec<String> = s.m.pools[kind.index()]
                            .iter()
                            .filter_map(|(k, slot)| match slot {
                                Slot::Live { provider, .. }
                                    if replaced.contains(&provider.as_str())
                                        && !entries.iter().any(|(ek, ekey, add)| {
                                            *ek == kind && *ekey == k.as_str() && add.is_some()
                                        }) =>
                                {
                                    Some(k.clone())
                                }
                                _ => None,
                            })
                            .collect();
                        for k in victims {
                            s.del(kind, &k);
                        }
                    }
                    for (kind, key, add) in &entries {
                        match add {
                            Some((id, pr, prov)) => {
                                let mode = if superseded.remove(&(*kind, key.to_string())) {
                                    AddMode::Outranking
                                } else {
                                    AddMode::Priority
                                };
                                s.add(*kind, key, *id, *pr, prov, mode)
                            }
                            None => s.del(*kind, key),
                        }
                    }
                    let recs = s.commit();
                    assert_eq!(g, m.generation, "run {run} step {step}: batch generation");
                    recs
                }
            };
            assert_eq!(reg.generation(), m.generation, "run {run} step {step}");
            let got = records_since(&reg, seen);
            assert_eq!(got, expected, "run {run} step {step}: records");
            for r in &got {
                *totals.entry(r.1).or_default() += 1;
            }
            seen = reg.generation();
            if step % 25 == 0 {
                let (routes, g) = reg.snapshot(&Kind::ALL);
                assert_eq!(g, m.generation);
                let live: BTreeSet<_> = routes
                    .iter()
                    .map(|r| (r.kind().index(), r.key(), r.user_data()))
                    .collect();
                assert_eq!(live, m.live(), "run {run} step {step}: snapshot");
                assert_eq!(reg.num_all_routes(), live.len());
            }
        }
        unchanged += m.unchanged;
    }
    assert!(unchanged > 0, "no add of the route already holding its key");
    for op in [
        ChangeOp::Added,
        ChangeOp::Reloaded,
        ChangeOp::Replaced,
        ChangeOp::Removed,
        ChangeOp::Cleared,
        ChangeOp::Inventory,
    ] {
        assert!(
            totals.get(&op).copied().unwrap_or(0) > 0,
            "no {op:?}: {totals:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Readers never see half a reload

/// Provider "file" alternates between two route sets of different sizes and keys, each spread
/// over all three pools; provider "static" has 3 routes that never change.
fn reload_set(round: u64) -> (Batch, usize) {
    let batch = Batch::new();
    batch.replace_provider("file").unwrap();
    let (prefix, n) = if round % 2 == 0 { ("a", 12) } else { ("b", 21) };
    for i in 0..n {
        let kind = Kind::ALL[i % 3];
        let r = mk(kind, &format!("{prefix}{i}"), "file", 0, round);
        batch.add(r).unwrap();
    }
    (batch, n)
}

fn check_one_set(what: &str, keys: &[String]) {
    // All "file" keys start with the same letter, and their count matches that set's size.
    let file: Vec<&String> = keys.iter().filter(|k| !k.starts_with('s')).collect();
    let a = file.iter().filter(|k| k.starts_with('a')).count();
    let b = file.iter().filter(|k| k.starts_with('b')).count();
    assert!(
        (a == 12 && b == 0) || (a == 0 && b == 21),
        "{what}: half a reload: {a} a-keys, {b} b-keys: {keys:?}"
    );
    assert_eq!(
        keys.len() - file.len(),
        3,
        "{what}: static routes: {keys:?}"
    );
}

#[test]
fn readers_never_see_half_of_a_reload() {
    let reg = Arc::new(Registry::new());
    for i in 0..3 {
        reg.add(&mk(Kind::ALL[i], &format!("s{i}"), "static", 0, 0));
    }
    reg.commit_batch(&reload_set(0).0).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        let writer = {
            let (reg, stop) = (reg.clone(), stop.clone());
            s.spawn(move || {
                let mut round = 1;
                while !stop.load(Ordering::Relaxed) {
                    let before = reg.generation();
                    let g = reg.commit_batch(&reload_set(round).0).unwrap();
                    assert_eq!(g, before + 1, "one generation per reload");
                    round += 1;
                }
                round
            })
        };
        for reader in 0..3 {
            let (reg, stop, reads) = (reg.clone(), stop.clone(), reads.clone());
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match reader {
                        0 => {
                            let n = reg.num_all_routes();
                            assert!(n == 15 || n == 24, "num_all_routes {n}");
                            let n = reg.num_active_routes();
                            assert!(n == 2 + 8 || n == 2 + 14, "num_active_routes {n}");
                            let n = reg.pool_size(Kind::Excluded);
                            assert!(n == 1 + 4 || n == 1 + 7, "pool_size {n}");
                        }
                        1 => {
                            let mut keys = Vec::new();
                            reg.iter_all(|r| {
                                keys.push(r.key());
                                true
                            });
                            check_one_set("iter_all", &keys);
                            let (routes, g) = reg.snapshot(&Kind::ALL);
                            let keys: Vec<String> = routes.iter().map(|r| r.key()).collect();
                            check_one_set("snapshot", &keys);
                            // The snapshot's generation names the set it holds.
                            let set_is_b = keys.iter().any(|k| k.starts_with('b'));
                            assert_eq!(set_is_b, g % 2 == 1, "generation {g} vs {keys:?}");
                        }
                        _ => {
                            let json = reg.health_json(HealthFormat::Simple);
                            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
                            let keys: Vec<String> =
                                v.as_object().unwrap().keys().cloned().collect();
                            check_one_set("health JSON", &keys);
                            let json = reg.by_provider_json();
                            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
                            let mut keys: Vec<String> = v["file"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|k| k.as_str().unwrap().to_string())
                                .collect();
                            keys.extend(
                                v["static"]
                                    .as_array()
                                    .unwrap()
                                    .iter()
                                    .map(|k| k.as_str().unwrap().to_string()),
                            );
                            check_one_set("by-provider JSON", &keys);
                            let keys: Vec<String> =
                                reg.by_provider_routes().iter().map(|r| r.key()).collect();
                            check_one_set("by-provider routes", &keys);
                        }
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, Ordering::Relaxed);
        let rounds = writer.join().unwrap();
        eprintln!(
            "reloads: {rounds} commits, {} consistent reads",
            reads.load(Ordering::Relaxed)
        );
        assert!(rounds > 50);
    });
}

#[test]
fn lookups_see_a_batch_whole() {
    // Two keys in different pools swapped by each batch: a reader that looks up one, then
    // the other, never sees the second older than the first.
    let reg = Arc::new(Registry::new());
    let stop = Arc::new(AtomicBool::new(false));
    let commit = |round: u64| {
        let b = Batch::new();
        b.add(mk(Kind::Http, "x", "", 0, round)).unwrap();
        b.add(mk(Kind::Stream, "y", "", 0, round)).unwrap();
        reg.commit_batch(&b).unwrap();
    };
    commit(1);
    std::thread::scope(|s| {
        let (reg2, stop2) = (reg.clone(), stop.clone());
        s.spawn(move || {
            let mut checks = 0u64;
            while !stop2.load(Ordering::Relaxed) {
                let x = reg2.pool(Kind::Http).get("x").unwrap().user_data();
                let y = reg2.pool(Kind::Stream).get("y").unwrap().user_data();
                assert!(y >= x, "saw x of round {x}, then y of the older round {y}");
                checks += 1;
            }
            assert!(checks > 0);
        });
        for round in 2..20_000 {
            commit(round);
        }
        stop.store(true, Ordering::Relaxed);
    });
}

// ---------------------------------------------------------------------------------------------
// The bounded log

#[test]
fn stale_after_the_log_wrapped_then_resync_from_a_snapshot() {
    let reg = Registry::new();
    reg.set_change_log_capacity(4).unwrap();
    for i in 0..10 {
        reg.add(&mk(Kind::Http, &format!("k{i}"), "", 0, i));
    }
    assert_eq!(reg.generation(), 10);
    // Generations 7..=10 are kept (one record each): from 6 on is complete.
    assert_eq!(reg.changes_since(6).unwrap().records.len(), 4);
    let e = reg.changes_since(5).unwrap_err();
    assert_eq!(e.status(), Status::Stale);
    assert!(e.message().contains("snapshot"), "{}", e.message());
    assert_eq!(reg.changes_since(0).unwrap_err().status(), Status::Stale);
    // Resync: a snapshot and its generation, then the records after it.
    let (routes, g) = reg.snapshot(&Kind::ALL);
    assert_eq!((routes.len(), g), (10, 10));
    reg.del(Kind::Http, "k3").unwrap();
    let recs = records_since(&reg, g);
    assert_eq!(
        recs,
        vec![(11, ChangeOp::Removed, Kind::Http, "k3".into(), Some(3))]
    );
    // In the future: invalid.
    assert_eq!(
        reg.changes_since(12).unwrap_err().status(),
        Status::InvalidArgument
    );
    assert!(reg.changes_since(11).unwrap().records.is_empty());
    assert_eq!(
        reg.set_change_log_capacity(0).unwrap_err().status(),
        Status::InvalidArgument
    );
}

#[test]
fn a_set_larger_than_the_capacity_is_kept_alone_until_the_next_commit() {
    let reg = Registry::new();
    reg.set_change_log_capacity(3).unwrap();
    reg.add(&mk(Kind::Http, "first", "", 0, 0));
    let b = Batch::new();
    for i in 0..5 {
        b.add(mk(Kind::Http, &format!("b{i}"), "", 0, i)).unwrap();
    }
    let g = reg.commit_batch(&b).unwrap();
    assert_eq!(g, 2);
    let all = records_since(&reg, 1);
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|r| r.0 == 2 && r.1 == ChangeOp::Added));
    assert_eq!(reg.changes_since(0).unwrap_err().status(), Status::Stale);
    // The next commit drops it whole.
    reg.del(Kind::Http, "first").unwrap();
    assert_eq!(reg.changes_since(1).unwrap_err().status(), Status::Stale);
    assert_eq!(records_since(&reg, 2).len(), 1);
    // Shrinking the log drops old sets at once, whole.
    reg.set_change_log_capacity(100).unwrap();
    let b = Batch::new();
    b.del_key(Kind::Http, "b0").unwrap();
    b.del_key(Kind::Http, "b1").unwrap();
    reg.commit_batch(&b).unwrap();
    reg.set_change_log_capacity(1).unwrap();
    assert_eq!(
        records_since(&reg, 3).len(),
        2,
        "the newest set stays whole"
    );
    assert_eq!(reg.changes_since(2).unwrap_err().status(), Status::Stale);
}

#[test]
fn visiting_stops_inside_a_set_and_gets_it_again() {
    let reg = Registry::new();
    let b = Batch::new();
    for i in 0..3 {
        b.add(mk(Kind::Http, &format!("k{i}"), "", 0, i)).unwrap();
    }
    reg.commit_batch(&b).unwrap();
    reg.del(Kind::Http, "k0").unwrap();
    let ch = reg.changes_since(0).unwrap();
    let mut n = 0;
    assert_eq!(
        ch.visit(0, |_| {
            n += 1;
            n < 2
        }),
        (2, 0)
    );
    n = 0;
    assert_eq!(
        ch.visit(0, |_| {
            n += 1;
            n < 3
        }),
        (3, 1)
    );
    assert_eq!(ch.visit(0, |_| true), (4, 2));
}

#[test]
fn no_op_calls_change_nothing() {
    let reg = Registry::new();
    let a = mk(Kind::Http, "a", "", 5, 1);
    reg.add(&a);
    let low = mk(Kind::Http, "a", "", 1, 2);
    reg.add(&low);
    reg.add_if_not_exists(&mk(Kind::Http, "a", "", 9, 3));
    assert!(reg.del(Kind::Stream, "a").is_err());
    reg.pool_clear(Kind::Stream);
    a.set_health(
        route_registry::HealthStatus::Healthy,
        Duration::ZERO,
        Duration::ZERO,
        b"",
    );
    let b = Batch::new();
    b.add(mk(Kind::Http, "a", "", 0, 4)).unwrap(); // kept
    b.del_key(Kind::Http, "nope").unwrap();
    assert_eq!(reg.commit_batch(&b).unwrap(), 1);
    assert_eq!(reg.generation(), 1);
    assert_eq!(records_since(&reg, 0).len(), 1);
    assert!(!low.is_frozen(), "a kept route is not frozen");
    // An empty batch changes nothing either.
    assert_eq!(reg.commit_batch(&Batch::new()).unwrap(), 1);
}

#[test]
fn adding_the_route_that_holds_its_key_again_changes_nothing() {
    let reg = Registry::new();
    let a = mk(Kind::Http, "a", "file", 0, 1);
    let db = mk(Kind::Stream, "db", "file", 0, 2);
    reg.add(&a);
    reg.add(&db);
    a.set_health(
        route_registry::HealthStatus::Healthy,
        Duration::from_millis(3),
        Duration::ZERO,
        b"up",
    );
    assert!(matches!(reg.add(&a), route_registry::Added::Unchanged));
    assert_eq!(reg.generation(), 2);
    // A reload: the unchanged route is added again, one route is new, db is gone.
    let b = Batch::new();
    b.replace_provider("file").unwrap();
    b.add(Arc::clone(&a)).unwrap();
    b.add(mk(Kind::Http, "b", "file", 0, 3)).unwrap();
    assert_eq!(reg.commit_batch(&b).unwrap(), 3);
    assert_eq!(
        records_since(&reg, 2),
        vec![
            (3, ChangeOp::Removed, Kind::Stream, "db".into(), Some(2)),
            (3, ChangeOp::Added, Kind::Http, "b".into(), Some(3)),
        ]
    );
    assert!(Arc::ptr_eq(&reg.get("a").unwrap(), &a));
    assert_eq!(
        a.health().status,
        route_registry::HealthStatus::Healthy,
        "the kept route keeps its health"
    );
    // The same reload again changes nothing at all.
    let b = Batch::new();
    b.replace_provider("file").unwrap();
    b.add(Arc::clone(&a)).unwrap();
    b.add(reg.get("b").unwrap()).unwrap();
    assert_eq!(reg.commit_batch(&b).unwrap(), 3);
    // After a delete, the same route comes back as a reload.
    reg.del(Kind::Http, "a").unwrap();
    assert!(matches!(reg.add(&a), route_registry::Added::Reloaded));
}

#[test]
fn a_reload_replaces_its_providers_route_even_at_a_lower_priority() {
    let reg = Registry::new();
    reg.add(&mk(Kind::Http, "app", "file", 5, 1));
    reg.add(&mk(Kind::Http, "web", "docker", 10, 2));
    let b = Batch::new();
    b.replace_provider("file").unwrap();
    b.add(mk(Kind::Http, "app", "file", 1, 3)).unwrap();
    // Another provider's route still wins by priority.
    b.add(mk(Kind::Http, "web", "file", 0, 4)).unwrap();
    // A second add under the same key competes with the first by priority as usual.
    b.add(mk(Kind::Http, "app", "file", 0, 5)).unwrap();
    assert_eq!(reg.commit_batch(&b).unwrap(), 3);
    assert_eq!(
        records_since(&reg, 2),
        vec![(3, ChangeOp::Replaced, Kind::Http, "app".into(), Some(3))]
    );
    assert_eq!(reg.get("app").unwrap().user_data(), 3);
    assert_eq!(reg.get("web").unwrap().user_data(), 2);
}

#[test]
fn batch_routes_are_frozen_and_linked_like_single_adds() {
    let reg = Registry::new();
    reg.load_proxmox_json(br#"{"nodes":[{"name":"pve1","ip":"10.0.0.2"}]}"#)
        .unwrap();
    let r = Arc::new(Route::new(Kind::Http, "web", "http://10.0.0.2:8080").unwrap());
    let b = Batch::new();
    b.add(r.clone()).unwrap();
    // Checked when put in: the batch stays usable after a bad entry.
    assert_eq!(
        b.del_key(Kind::Http, "").unwrap_err().status(),
        Status::InvalidArgument
    );
    assert_eq!(
        b.del_key(Kind::Http, "a\0b").unwrap_err().status(),
        Status::InvalidArgument
    );
    assert_eq!(b.len(), 1);
    assert!(!r.is_frozen());
    reg.commit_batch(&b).unwrap();
    assert!(r.is_frozen());
    assert_eq!(
        r.with_identity(|i| i.proxmox().map(|l| l.node.to_string())),
        Some("pve1".into())
    );
    assert_eq!(
        b.add(r.clone()).unwrap_err().status(),
        Status::InvalidArgument
    );
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

#[test]
fn subscribers_are_told_every_generation_in_commit_order() {
    let reg = Arc::new(Registry::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let token = reg.subscribe(Arc::new(move |g| s2.lock().unwrap().push(g)));
    assert_ne!(token, 0);
    std::thread::scope(|s| {
        for t in 0..4 {
            let reg = reg.clone();
            s.spawn(move || {
                for i in 0..500 {
                    let key = format!("t{t}-{}", i % 7);
                    reg.add(&mk(Kind::Http, &key, "", 0, i));
                    reg.del(Kind::Http, &key).unwrap();
                }
            });
        }
    });
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, (1..=4000).collect::<Vec<u64>>());
    assert!(reg.unsubscribe(token));
    assert!(!reg.unsubscribe(token));
}

#[test]
fn a_callback_may_call_back_in_and_its_commits_are_told_after_it() {
    let reg = Arc::new(Registry::new());
    let log = Arc::new(Mutex::new(Vec::new()));
    let token = Arc::new(AtomicU64::new(0));
    let (r2, l2, t2) = (Arc::downgrade(&reg), log.clone(), token.clone());
    let t = reg.subscribe(Arc::new(move |g| {
        let reg = r2.upgrade().unwrap();
        let recs = reg.changes_since(g - 1).unwrap();
        l2.lock()
            .unwrap()
            .push((g, recs.records.len(), reg.num_all_routes()));
        if g == 1 {
            // A commit from inside the callback: told after this call returns.
            reg.add(&mk(Kind::Stream, "from-callback", "", 0, 9));
            l2.lock().unwrap().push((100, 0, 0));
        }
        if g == 3 {
            // Unsubscribing itself from inside: this call finishes, no other follows.
            assert!(reg.unsubscribe(t2.load(Ordering::SeqCst)));
        }
    }));
    token.store(t, Ordering::SeqCst);
    reg.add(&mk(Kind::Http, "a", "", 0, 1));
    reg.add(&mk(Kind::Http, "b", "", 0, 2));
    reg.add(&mk(Kind::Http, "c", "", 0, 3));
    assert_eq!(
        *log.lock().unwrap(),
        vec![(1, 1, 1), (100, 0, 0), (2, 1, 2), (3, 1, 3)]
    );
    assert_eq!(reg.generation(), 4);
    assert!(!reg.unsubscribe(t));
}

#[test]
fn after_unsubscribe_returns_the_callback_is_not_running_and_never_runs_again() {
    for _ in 0..20 {
        let reg = Arc::new(Registry::new());
        let running = Arc::new(AtomicBool::new(false));
        let after = Arc::new(AtomicBool::new(false));
        let entered = Arc::new(Barrier::new(2));
        let calls = Arc::new(AtomicUsize::new(0));
        let (r2, a2, e2, c2) = (
            running.clone(),
            after.clone(),
            entered.clone(),
            calls.clone(),
        );
        let token = reg.subscribe(Arc::new(move |_| {
            assert!(
                !a2.load(Ordering::SeqCst),
                "called after unsubscribe returned"
            );
            r2.store(true, Ordering::SeqCst);
            if c2.fetch_add(1, Ordering::SeqCst) == 0 {
                e2.wait();
                // Slow: unsubscribe on the other thread must wait for this to end.
                std::thread::sleep(Duration::from_millis(20));
            }
            r2.store(false, Ordering::SeqCst);
        }));
        std::thread::scope(|s| {
            let reg2 = reg.clone();
            s.spawn(move || {
                for i in 0..50 {
                    reg2.add(&mk(Kind::Http, &format!("k{i}"), "", 0, i));
                }
            });
            entered.wait();
            assert!(reg.unsubscribe(token));
            assert!(
                !running.load(Ordering::SeqCst),
                "still running after unsubscribe"
            );
            after.store(true, Ordering::SeqCst);
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_finalizer_that_commits_while_subscribed_does_not_deadlock() {
    // A route whose last reference is the change log's: it is let go of when its record falls
    // out of the log, after a commit, and its finalizer commits again.
    let reg = Arc::new(Registry::new());
    reg.set_change_log_capacity(1).unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c2 = calls.clone();
    reg.subscribe(Arc::new(move |g| c2.lock().unwrap().push(g)));
    let r = mk(Kind::Http, "victim", "", 0, 1);
    let weak = Arc::downgrade(&reg);
    r.set_finalizer(Some(Box::new(move |_| {
        if let Some(reg) = weak.upgrade() {
            reg.add(&mk(Kind::Http, "from-finalizer", "", 0, 2));
        }
    })))
    .unwrap();
    reg.add(&r);
    drop(r);
    reg.del(Kind::Http, "victim").unwrap(); // the log now holds the only reference
    reg.add(&mk(Kind::Http, "other", "", 0, 3)); // drops it: the finalizer commits
    assert_eq!(reg.generation(), 4);
    assert_eq!(*calls.lock().unwrap(), vec![1, 2, 3, 4]);
    assert!(reg.get("from-finalizer").is_some());
}

#[test]
fn new_route_domains_move_the_generation_without_a_record() {
    let reg = Registry::new();
    reg.add(&mk(Kind::Http, "a", "", 0, 1));
    reg.set_route_domains(&["example.com"]).unwrap();
    assert_eq!(reg.generation(), 2);
    let ch = reg.changes_since(1).unwrap();
    assert!(ch.records.is_empty());
    assert_eq!(
        ch.visit(1, |_| true),
        (0, 2),
        "next is the current generation"
    );
    let ch = reg.changes_since(0).unwrap();
    assert_eq!(ch.records.len(), 1);
    assert_eq!(ch.visit(0, |_| true), (1, 2));
    assert_eq!(ch.visit(0, |_| false), (1, 1));
    assert!(reg.changes_since(2).unwrap().records.is_empty());
    assert_eq!(
        reg.changes_since(3).unwrap_err().status(),
        Status::InvalidArgument
    );
}
