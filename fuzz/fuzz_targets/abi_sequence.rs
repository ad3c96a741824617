//! Random sequences of C ABI calls (through `route_registry::ffi`, exactly as C calls them)
//! checked against a simple model after every call.
//!
//! The model: per pool a map key -> route id (the route's `user_data`); a route replaces a
//! live one of the same key when its priority is at least that one's, else `RR_KEPT`;
//! `add_if_not_exists` keeps any live route. Tombstone timing is left out: a re-add within 1 s
//! is a reload, which is `RR_OK` like an add. Also checked after every call: the generation
//! counter moves exactly on mutations, `rr_live_routes()` equals the number of routes the model
//! says are alive (held in a slot or by a pool), and each finalizer ran once, only for a
//! route that is no longer alive. At the end everything is released and `rr_live_routes()`
//! must be back at its starting value. A clear of empty pools changes nothing. Each route a
//! change record names stays alive while the registry's change log holds it: the target raises
//! the log's capacity so that none is dropped, and such routes go when the registry is freed.
//!
//! Change sets: batches (`rr_batch_add`, `rr_batch_del_key`, `rr_batch_replace_provider` of the
//! empty provider every route has, a second commit refused) are modelled entry by entry; the
//! generation grows by exactly 1 per mutation; a subscriber (`rr_subscribe`) is called once
//! per mutation with the new generation; the change log, read on from the last `*next` with
//! `rr_changes_since` (stopping early or not), replays to the model's pools (ADDED/RELOADED
//! for an absent key, REPLACED for a present one, REMOVED naming the route removed);
//! `rr_snapshot` shows the model's pools at the current generation.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use common::{check_health_json, detail_bytes, status_name, Expected, Piece};
use libfuzzer_sys::fuzz_target;
use route_registry::ffi::batch::{
    rr_batch_add, rr_batch_commit, rr_batch_del_key, rr_batch_free, rr_batch_new,
    rr_batch_replace_provider,
};
use route_registry::ffi::changes::{
    rr_change, rr_changes_since, rr_set_change_log_capacity, rr_snapshot, rr_subscribe,
    rr_unsubscribe, RR_CHANGE_CLEARED, RR_CHANGE_REMOVED, RR_CHANGE_REPLACED,
};
use route_registry::ffi::context::{
    rr_ctx_free, rr_try_get_route, rr_try_get_upstream_host, rr_with_route_context,
};
use route_registry::ffi::registry::{
    rr_add, rr_add_if_not_exists, rr_clear, rr_del, rr_del_key, rr_generation, rr_get,
    rr_health_json, rr_iter_all, rr_pool_get, rr_pool_size, rr_registry_free, rr_registry_new,
};
use route_registry::ffi::route::{
    rr_route_health, rr_route_kind, rr_route_new, rr_route_release, rr_route_set_finalizer,
    rr_route_set_health, rr_route_set_key, rr_route_set_priority, rr_route_set_user_data,
    rr_route_user_data,
};
use route_registry::ffi::version::{rr_last_error, rr_live_routes, rr_string_free};
use route_registry::ffi::{
    rr_registry, rr_route, rr_str, RR_FROZEN, RR_INVALID_ARGUMENT, RR_KEPT, RR_NOT_FOUND, RR_OK,
};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;

const SLOTS: usize = 6;
const ALIASES: [&[u8]; 6] = [b"a", b"b", b"web", b"", b"\xffx", "\u{e9}".as_bytes()];
const KEYS: [&[u8]; 6] = [b"a", b"b", b"web", b"k1", b"\xff", b""];
/// (url, Hostname(), accepted for HTTP/STREAM, parsed for EXCLUDED)
const URLS: [(&str, &str, bool, bool); 6] = [
    ("http://10.0.0.1:80", "10.0.0.1", true, true),
    ("https://[::1]:8443/x", "::1", true, true),
    ("tcp://db.lan:5432", "db.lan", true, true),
    ("", "", false, true),
    ("http://h:99999", "h", false, true),
    ("http://a b/", "", false, false),
];

static FINALIZED: Mutex<Vec<u64>> = Mutex::new(Vec::new());
/// The generations the subscriber was called with since the last check.
static NOTIFIED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

unsafe extern "C" fn notified(generation: u64, _: *mut c_void) {
    NOTIFIED.lock().unwrap().push(generation);
}

/// Change records seen: (generation, op, kind, key, route's id or 0).
struct Records {
    stop_after: u8,
    seen: Vec<(u64, u32, u32, String, u64)>,
}

unsafe extern "C" fn record(c: *const rr_change, ud: *mut c_void) -> bool {
    // SAFETY: `ud` is the `Records` passed to rr_changes_since below; `c` is valid for the call.
    let (v, c) = unsafe { (&mut *ud.cast::<Records>(), &*c) };
    let id = if c.route.is_null() {
        0
    } else {
        rr_route_user_data(c.route)
    };
    v.seen.push((c.generation, c.op, c.kind, str_of(c.key), id));
    v.stop_after == 0 || v.seen.len() < usize::from(v.stop_after)
}

unsafe extern "C" fn finalizer(user_data: u64) {
    FINALIZED.lock().unwrap().push(user_data);
}

unsafe extern "C" fn visit(r: *const rr_route, ud: *mut c_void) -> bool {
    // SAFETY: `ud` is the `Visit` passed to rr_iter_all below, alive for the call.
    let v = unsafe { &mut *ud.cast::<Visit>() };
    v.seen.push((rr_route_kind(r), rr_route_user_data(r)));
    v.stop_after == 0 || v.seen.len() < usize::from(v.stop_after)
}

struct Visit {
    stop_after: u8,
    seen: Vec<(u32, u64)>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    New {
        slot: u8,
        kind: u8,
        alias: u8,
        key: Option<u8>,
        priority: i8,
        url: u8,
    },
    Add {
        slot: u8,
    },
    AddIfNotExists {
        slot: u8,
        want_actual: bool,
    },
    Del {
        slot: u8,
    },
    DelKey {
        kind: u8,
        key: u8,
    },
    Get {
        key: u8,
    },
    PoolGet {
        kind: u8,
        key: u8,
    },
    IterAll {
        stop_after: u8,
    },
    SetHealth {
        slot: u8,
        status: u8,
        uptime: u64,
        latency: u64,
        detail: Vec<Piece>,
    },
    SetPriority {
        slot: u8,
        priority: i8,
    },
    Context {
        slot: Option<u8>,
        parent: Option<Option<u8>>,
        release_first: bool,
    },
    Clear,
    PoolSize {
        kind: u8,
    },
    HealthJson {
        format: u8,
    },
    Release {
        slot: u8,
    },
    /// (add the slot's route, or delete `KEYS[k]` from pool `a`), at most 8.
    Batch {
        entries: Vec<(bool, u8, u8)>,
        replace_provider: bool,
        commit_twice: bool,
    },
    Changes {
        stop_after: u8,
    },
    Snapshot {
        which: u8,
    },
}

struct MRoute {
    kind: u32,
    alias: String,
    key: String,
    priority: i32,
    frozen: bool,
    host: &'static str,
    health: Expected,
}

struct Model {
    routes: HashMap<u64, MRoute>,
    pools: [HashMap<String, u64>; 3],
    slots: [Option<(*mut rr_route, u64)>; SLOTS],
    /// Routes named by a change record (the log holds them until the registry is freed).
    logged: Vec<u64>,
    /// The pools as replayed from the change log, up to generation `cursor`.
    replay: [HashMap<String, u64>; 3],
    cursor: u64,
}

impl Model {
    fn slot(&self, s: u8) -> (*mut rr_route, Option<u64>) {
        match self.slots[usize::from(s) % SLOTS] {
            Some((p, id)) => (p, Some(id)),
            None => (std::ptr::null_mut(), None),
        }
    }

    fn alive(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.slots.iter().flatten().map(|&(_, id)| id).collect();
        ids.extend(self.pools.iter().flat_map(|p| p.values().copied()));
        ids.extend(&self.logged);
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// `rr_add` (or `rr_add_if_not_exists`) of route `id`: whether it went in (or holds the
    /// key already), and the route that held its key before. `outranks`: the holder is a
    /// replaced provider's old route, which does not compete on priority. Adding the route
    /// that holds the key changes nothing.
    fn add(&mut self, id: u64, only_if_absent: bool, outranks: bool) -> (bool, Option<u64>) {
        let (kind, key, priority) = {
            let r = &self.routes[&id];
            (r.kind as usize, r.key.clone(), r.priority)
        };
        let holder = self.pools[kind].get(&key).copied();
        let kept = holder
            .is_some_and(|h| only_if_absent || (!outranks && self.routes[&h].priority > priority));
        if !kept && holder != Some(id) {
            self.pools[kind].insert(key, id);
            self.routes.get_mut(&id).unwrap().frozen = true;
            self.logged.push(id);
        }
        (!kept, holder)
    }

    /// The route a lookup in `kinds` (in order) by `key` must find.
    fn lookup(&self, kinds: &[usize], key: &[u8]) -> Option<u64> {
        let key = std::str::from_utf8(key).ok()?;
        kinds.iter().find_map(|&k| self.pools[k].get(key).copied())
    }

    fn health_want(&self) -> BTreeMap<String, Expected> {
        // Per alias, the last live route in (pool, key) order.
        let mut order: Vec<(&str, usize, &str, u64)> = Vec::new();
        for (rank, pool) in self.pools.iter().enumerate() {
            for (key, &id) in pool {
                order.push((&self.routes[&id].alias, rank, key, id));
            }
        }
        order.sort_unstable();
        let mut want = BTreeMap::new();
        for (alias, _, _, id) in order {
            want.insert(alias.to_string(), self.routes[&id].health.clone());
        }
        want
    }
}

fn last_error() -> String {
    let e: rr_str = rr_last_error();
    // SAFETY: (ptr, len) valid until the next failing call on this thread.
    let bytes = unsafe { std::slice::from_raw_parts(e.ptr.cast::<u8>(), e.len) };
    String::from_utf8(bytes.to_vec()).expect("rr_last_error is UTF-8")
}

fn assert_failed(status: u32, want: u32, what: &str) {
    assert_eq!(status, want, "{what}");
    if status != RR_OK && status != RR_NOT_FOUND {
        assert!(
            !last_error().is_empty(),
            "{what}: status {status} without a message"
        );
    }
}

fn ptr(b: &[u8]) -> *const c_char {
    b.as_ptr().cast()
}

/// The id of a returned reference (0 for NULL), releasing the reference.
fn take(r: *mut rr_route) -> Option<u64> {
    if r.is_null() {
        return None;
    }
    let id = rr_route_user_data(r);
    rr_route_release(r);
    Some(id)
}

fn str_of(s: rr_str) -> String {
    // SAFETY: a borrowed string, valid while its owner is held by the caller.
    let bytes = unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
    String::from_utf8(bytes.to_vec()).expect("views are UTF-8")
}

fn run(reg: *mut rr_registry, m: &mut Model, next_id: &mut u64, op: &Op) {
    let gen_before = rr_generation(reg);
    let mut mutated = false;
    match *op {
        Op::New {
            slot,
            kind,
            alias,
            key,
            priority,
            url,
        } => {
            let kind = u32::from(kind % 4);
            let alias = ALIASES[usize::from(alias) % ALIASES.len()];
            let (url, host, proxy_ok, parse_ok) = URLS[usize::from(url) % URLS.len()];
            let alias_ok = !alias.is_empty() && std::str::from_utf8(alias).is_ok();
            let url_ok = match kind {
                0 | 1 => proxy_ok,
                2 => parse_ok,
                _ => false,
            };
            let mut out: *mut rr_route = std::ptr::null_mut();
            let st = rr_route_new(
                kind,
                ptr(alias),
                alias.len(),
                ptr(url.as_bytes()),
                url.len(),
                &mut out,
            );
            let want = if kind < 3 && alias_ok && url_ok {
                RR_OK
            } else {
                RR_INVALID_ARGUMENT
            };
            assert_failed(st, want, "rr_route_new");
            if st != RR_OK {
                assert!(out.is_null());
                return;
            }
            let id = *next_id;
            *next_id += 1;
            assert_eq!(rr_route_set_user_data(out, id), RR_OK);
            assert_eq!(rr_route_set_finalizer(out, Some(finalizer)), RR_OK);
            let alias = String::from_utf8(alias.to_vec()).unwrap();
            let mut key_s = alias.clone();
            if let Some(k) = key {
                let k = KEYS[usize::from(k) % KEYS.len()];
                let st = rr_route_set_key(out, ptr(k), k.len());
                match std::str::from_utf8(k) {
                    Ok(s) => {
                        assert_eq!(st, RR_OK, "rr_route_set_key");
                        if !s.is_empty() {
                            key_s = s.to_string();
                        }
                    }
                    Err(_) => assert_failed(st, RR_INVALID_ARGUMENT, "rr_route_set_key"),
                }
            }
            assert_eq!(rr_route_set_priority(out, i32::from(priority)), RR_OK);
            m.routes.insert(
                id,
                MRoute {
                    kind,
                    alias,
                    key: key_s,
                    priority: i32::from(priority),
                    frozen: false,
                    host,
                    health: Expected::never_set(),
                },
            );
            let s = usize::from(slot) % SLOTS;
            if let Some((old, _)) = m.slots[s].take() {
                rr_route_release(old);
            }
            m.slots[s] = Some((out, id));
        }
        Op::Add { slot } | Op::AddIfNotExists { slot, .. } => {
            let (p, id) = m.slot(slot);
            let only_if_absent = matches!(op, Op::AddIfNotExists { .. });
            let want_actual = matches!(
                op,
                Op::AddIfNotExists {
                    want_actual: true,
                    ..
                }
            );
            let mut actual: *mut rr_route = std::ptr::null_mut();
            let st = if only_if_absent {
                rr_add_if_not_exists(
                    reg,
                    p,
                    if want_actual {
                        &mut actual
                    } else {
                        std::ptr::null_mut()
                    },
                )
            } else {
                rr_add(reg, p)
            };
            let Some(id) = id else {
                assert_failed(st, RR_INVALID_ARGUMENT, "add(NULL)");
                assert!(actual.is_null());
                return;
            };
            let (added, holder) = m.add(id, only_if_absent, false);
            let kept = !added;
            if kept {
                assert_failed(st, RR_KEPT, "add kept");
            } else {
                assert_eq!(st, RR_OK, "add");
                mutated = holder != Some(id); // the route holding its key: nothing changes
            }
            if want_actual {
                let want = if kept { holder } else { Some(id) };
                assert_eq!(take(actual), want, "*actual of add_if_not_exists");
            }
        }
        Op::Del { slot } => {
            let (p, id) = m.slot(slot);
            let st = rr_del(reg, p);
            let Some(id) = id else {
                return assert_failed(st, RR_INVALID_ARGUMENT, "rr_del(NULL)");
            };
            let r = &m.routes[&id];
            if m.pools[r.kind as usize].remove(&r.key).is_some() {
                assert_eq!(st, RR_OK, "rr_del");
                mutated = true;
            } else {
                assert_failed(st, RR_NOT_FOUND, "rr_del of an absent key");
            }
        }
        Op::DelKey { kind, key } => {
            let kind = u32::from(kind % 4);
            let key = KEYS[usize::from(key) % KEYS.len()];
            let st = rr_del_key(reg, kind, ptr(key), key.len());
            match std::str::from_utf8(key) {
                Err(_) => assert_failed(st, RR_INVALID_ARGUMENT, "rr_del_key non-UTF-8"),
                Ok(_) if kind > 2 => assert_failed(st, RR_INVALID_ARGUMENT, "rr_del_key kind"),
                // A key no route can have (here: empty) is a bad argument.
                Ok("") => assert_failed(st, RR_INVALID_ARGUMENT, "rr_del_key empty key"),
                Ok(k) => {
                    if m.pools[kind as usize].remove(k).is_some() {
                        assert_eq!(st, RR_OK, "rr_del_key");
                        mutated = true;
                    } else {
                        assert_failed(st, RR_NOT_FOUND, "rr_del_key of an absent key");
                    }
                }
            }
        }
        Op::Get { key } => {
            let key = KEYS[usize::from(key) % KEYS.len()];
            let got = take(rr_get(reg, ptr(key), key.len()));
            assert_eq!(got, m.lookup(&[0, 1], key), "rr_get({key:?})");
            if std::str::from_utf8(key).is_err() {
                assert!(last_error().contains("UTF-8"), "{}", last_error());
            }
        }
        Op::PoolGet { kind, key } => {
            let kind = u32::from(kind % 4);
            let key = KEYS[usize::from(key) % KEYS.len()];
            let got = take(rr_pool_get(reg, kind, ptr(key), key.len()));
            let want = if kind > 2 {
                None
            } else {
                m.lookup(&[kind as usize], key)
            };
            assert_eq!(got, want, "rr_pool_get({kind}, {key:?})");
        }
        Op::IterAll { stop_after } => {
            let mut v = Visit {
                stop_after: stop_after % 8,
                seen: Vec::new(),
            };
            let n = rr_iter_all(reg, Some(visit), (&mut v as *mut Visit).cast());
            assert_eq!(n, v.seen.len(), "rr_iter_all's count");
            let total: usize = m.pools.iter().map(HashMap::len).sum();
            let want_n = if v.stop_after == 0 {
                total
            } else {
                total.min(usize::from(v.stop_after))
            };
            assert_eq!(n, want_n, "routes visited");
            assert!(
                v.seen.windows(2).all(|w| w[0].0 <= w[1].0),
                "pool order {:?}",
                v.seen
            );
            for &(kind, id) in &v.seen {
                let r = &m.routes[&id];
                assert_eq!(r.kind, kind);
                assert_eq!(
                    m.pools[kind as usize].get(&r.key),
                    Some(&id),
                    "visited a dead route"
                );
            }
            if v.stop_after == 0 {
                let mut seen: Vec<u64> = v.seen.iter().map(|&(_, id)| id).collect();
                let mut want: Vec<u64> = m.pools.iter().flat_map(|p| p.values().copied()).collect();
                seen.sort_unstable();
                want.sort_unstable();
                assert_eq!(seen, want, "routes visited");
            }
        }
        Op::SetHealth {
            slot,
            status,
            uptime,
            latency,
            ref detail,
        } => {
            let (p, id) = m.slot(slot);
            let raw = if status & 0x80 != 0 {
                u32::from(status)
            } else {
                [0, 1, 2, 4, 8, 16][usize::from(status) % 6]
            };
            let detail = detail_bytes(detail);
            let st = rr_route_set_health(p, raw, uptime, latency, ptr(&detail), detail.len());
            let Some(id) = id else {
                return assert_failed(st, RR_INVALID_ARGUMENT, "set_health(NULL)");
            };
            let Some(name) = status_name(raw) else {
                return assert_failed(st, RR_INVALID_ARGUMENT, "set_health bad status");
            };
            assert_eq!(st, RR_OK, "rr_route_set_health");
            m.routes.get_mut(&id).unwrap().health = Expected {
                status: name,
                uptime_ns: uptime,
                latency_ns: latency,
                detail,
            };
            let (mut s, mut u, mut l) = (99, 0, 0);
            assert_eq!(rr_route_health(p, &mut s, &mut u, &mut l), RR_OK);
            assert_eq!((s, u, l), (raw, uptime, latency), "rr_route_health");
        }
        Op::SetPriority { slot, priority } => {
            let (p, id) = m.slot(slot);
            let st = rr_route_set_priority(p, i32::from(priority));
            let Some(id) = id else {
                return assert_failed(st, RR_INVALID_ARGUMENT, "set_priority(NULL)");
            };
            let r = m.routes.get_mut(&id).unwrap();
            if r.frozen {
                assert_failed(st, RR_FROZEN, "set_priority on an added route");
            } else {
                assert_eq!(st, RR_OK, "set_priority");
                r.priority = i32::from(priority);
            }
        }
        Op::Context {
            slot,
            parent,
            release_first,
        } => {
            let (parent_ctx, parent_id) = match parent {
                None => (std::ptr::null_mut(), None),
                Some(ps) => {
                    let (pp, pid) = ps.map_or((std::ptr::null_mut(), None), |s| m.slot(s));
                    let c = rr_with_route_context(std::ptr::null(), pp);
                    assert!(!c.is_null());
                    (c, pid)
                }
            };
            let (p, id) = slot.map_or((std::ptr::null_mut(), None), |s| m.slot(s));
            let ctx = rr_with_route_context(parent_ctx, p);
            assert!(!ctx.is_null());
            let want_id = id.or(parent_id);
            if release_first {
                // The context holds its own references: drop the caller's ones first.
                rr_ctx_free(parent_ctx);
                if let Some(s) = slot {
                    if let Some((h, _)) = m.slots[usize::from(s) % SLOTS].take() {
                        rr_route_release(h);
                    }
                }
            }
            let host = str_of(rr_try_get_upstream_host(ctx));
            let want_host = want_id.map_or("", |id| m.routes[&id].host);
            assert_eq!(host, want_host, "rr_try_get_upstream_host");
            assert_eq!(take(rr_try_get_route(ctx)), want_id, "rr_try_get_route");
            rr_ctx_free(ctx);
            if !release_first {
                rr_ctx_free(parent_ctx);
            }
        }
        Op::Clear => {
            rr_clear(reg);
            for p in &mut m.pools {
                mutated |= !p.is_empty();
                p.clear();
            }
        }
        Op::PoolSize { kind } => {
            let kind = u32::from(kind % 4);
            let want = if kind > 2 {
                0
            } else {
                m.pools[kind as usize].len()
            };
            assert_eq!(rr_pool_size(reg, kind), want, "rr_pool_size({kind})");
        }
        Op::HealthJson { format } => {
            let format = u32::from(format % 4);
            let s = rr_health_json(reg, format);
            if format > 2 {
                assert!(s.is_null(), "rr_health_json with format {format}");
                assert!(!last_error().is_empty());
                return;
            }
            assert!(!s.is_null());
            // SAFETY: a NUL-terminated string from the library, freed below.
            let text = unsafe { CStr::from_ptr(s) }
                .to_str()
                .expect("UTF-8 JSON")
                .to_string();
            rr_string_free(s);
            check_health_json(&text, format, &m.health_want());
        }
        Op::Release { slot } => {
            if let Some((p, _)) = m.slots[usize::from(slot) % SLOTS].take() {
                rr_route_release(p);
            }
        }
        Op::Batch {
            ref entries,
            replace_provider,
            commit_twice,
        } => {
            let b = rr_batch_new();
            if replace_provider {
                // Every route has the empty provider: the batch is the new set of all routes.
                assert_eq!(rr_batch_replace_provider(b, ptr(b""), 0), RR_OK);
            }
            let mut plan: Vec<Result<u64, (usize, &str)>> = Vec::new();
            for &(add, a, k) in entries.iter().take(8) {
                if add {
                    let (p, id) = m.slot(a);
                    let st = rr_batch_add(b, p);
                    match id {
                        Some(id) => plan.push(Ok(id)),
                        None => assert_failed(st, RR_INVALID_ARGUMENT, "rr_batch_add(NULL)"),
                    }
                    continue;
                }
                let (kind, key) = (u32::from(a % 4), KEYS[usize::from(k) % KEYS.len()]);
                let st = rr_batch_del_key(b, kind, ptr(key), key.len());
                match std::str::from_utf8(key) {
                    Ok(s) if kind < 3 && !s.is_empty() => plan.push(Err((kind as usize, s))),
                    _ => assert_failed(st, RR_INVALID_ARGUMENT, "rr_batch_del_key"),
                }
            }
            // Keys whose old route the batch adds again: the first add of each replaces it
            // whatever the priorities.
            let mut superseded: Vec<(usize, String)> = Vec::new();
            if replace_provider {
                let readded: Vec<(usize, String)> = (plan.iter().filter_map(|e| e.ok()))
                    .map(|id| (m.routes[&id].kind as usize, m.routes[&id].key.clone()))
                    .collect();
                for (kind, pool) in m.pools.iter_mut().enumerate() {
                    let before = pool.len();
                    pool.retain(|k, _| readded.contains(&(kind, k.clone())));
                    mutated |= pool.len() != before;
                    superseded.extend(pool.keys().map(|k| (kind, k.clone())));
                }
            }
            for e in plan {
                mutated |= match e {
                    Ok(id) => {
                        let at = (m.routes[&id].kind as usize, m.routes[&id].key.clone());
                        let outranks = match superseded.iter().position(|s| *s == at) {
                            Some(i) => {
                                superseded.swap_remove(i);
                                true
                            }
                            None => false,
                        };
                        let (added, holder) = m.add(id, false, outranks);
                        added && holder != Some(id)
                    }
                    Err((kind, key)) => m.pools[kind].remove(key).is_some(),
                };
            }
            let mut g = u64::MAX;
            assert_eq!(rr_batch_commit(reg, b, &mut g), RR_OK, "rr_batch_commit");
            assert_eq!(g, rr_generation(reg), "*generation of rr_batch_commit");
            if commit_twice {
                let mut g = 7;
                let st = rr_batch_commit(reg, b, &mut g);
                assert_failed(st, RR_INVALID_ARGUMENT, "second rr_batch_commit");
                assert_eq!(g, 7, "*generation of a failed commit");
                let st = rr_batch_del_key(b, 0, ptr(b"a"), 1);
                assert_failed(st, RR_INVALID_ARGUMENT, "rr_batch_del_key after commit");
            }
            rr_batch_free(b);
        }
        Op::Changes { stop_after } => {
            let stop_after = stop_after % 4;
            let mut v = Records {
                stop_after,
                seen: Vec::new(),
            };
            let (since, mut next) = (m.cursor, u64::MAX);
            let ud = (&mut v as *mut Records).cast();
            let st = rr_changes_since(reg, since, Some(record), ud, &mut next);
            assert_eq!(st, RR_OK, "rr_changes_since({since})");
            let now = rr_generation(reg);
            assert!(
                since <= next && next <= now,
                "*next {next} of ({since}, {now}]"
            );
            let last = v.seen.last().map_or(0, |r| r.0);
            assert!(
                last <= now,
                "a record of {last}, after the generation {now}"
            );
            for (g, op, kind, key, id) in &v.seen {
                assert!(
                    *g > since && *g <= last,
                    "record of {g} after ({since}, {last}]"
                );
                if *g > next {
                    assert_eq!(*g, last, "only the set cut short is given again");
                    continue;
                }
                let pool = &mut m.replay[*kind as usize];
                match *op {
                    RR_CHANGE_CLEARED => pool.clear(),
                    RR_CHANGE_REMOVED => assert_eq!(pool.remove(key), Some(*id), "{key:?}"),
                    _ => {
                        let r = &m.routes[id];
                        assert_eq!((r.kind, r.key.as_str()), (*kind, key.as_str()));
                        let had = pool.insert(key.clone(), *id).is_some();
                        assert_eq!(had, *op == RR_CHANGE_REPLACED, "op {op} for {key:?}");
                    }
                }
            }
            m.cursor = next;
            if stop_after == 0 || v.seen.len() < usize::from(stop_after) {
                assert_eq!(next, now, "*next after every record");
                assert_eq!(m.replay, m.pools, "the pools replayed from the change log");
            }
        }
        Op::Snapshot { which } => {
            let which = u32::from(which % 6);
            let mut v = Visit {
                stop_after: 0,
                seen: Vec::new(),
            };
            let mut g = u64::MAX;
            let n = rr_snapshot(
                reg,
                which,
                Some(visit),
                (&mut v as *mut Visit).cast(),
                &mut g,
            );
            assert_eq!(n, v.seen.len(), "rr_snapshot's count");
            if which > 4 {
                assert_eq!((n, g), (0, 0), "rr_snapshot({which})");
                return assert!(!last_error().is_empty());
            }
            assert_eq!(g, rr_generation(reg), "rr_snapshot's generation");
            let all = [0, 1, 2];
            let kinds = match which {
                3 => &all[..2],
                4 => &all[..],
                k => &all[k as usize..=k as usize],
            };
            let mut want: Vec<(u32, u64)> = (kinds.iter())
                .flat_map(|&k| m.pools[k as usize].values().map(move |&id| (k, id)))
                .collect();
            want.sort_unstable();
            v.seen.sort_unstable();
            assert_eq!(v.seen, want, "rr_snapshot({which})");
        }
    }
    let gen_after = rr_generation(reg);
    let want = gen_before + u64::from(mutated);
    assert_eq!(
        gen_after, want,
        "generation after {op:?} (mutated: {mutated})"
    );
    let calls = std::mem::take(&mut *NOTIFIED.lock().unwrap());
    let want: &[u64] = if mutated { &[gen_after] } else { &[] };
    assert_eq!(calls, want, "subscriber calls after {op:?}");
}

/// `rr_live_routes()` counts exactly the live model routes; finalizers ran once each, only
/// for routes that are gone.
fn check_lifetimes(m: &Model, base: usize, created: u64, first_id: u64) {
    let alive = m.alive();
    assert_eq!(
        rr_live_routes(),
        base + alive.len(),
        "rr_live_routes vs model"
    );
    let mut fin = FINALIZED.lock().unwrap().clone();
    fin.sort_unstable();
    let mut want: Vec<u64> = (first_id..created)
        .filter(|id| alive.binary_search(id).is_err())
        .collect();
    want.sort_unstable();
    assert_eq!(fin, want, "finalized routes");
}

fuzz_target!(|ops: Vec<Op>| {
    FINALIZED.lock().unwrap().clear();
    let base = rr_live_routes();
    NOTIFIED.lock().unwrap().clear();
    let reg = rr_registry_new();
    assert!(!reg.is_null());
    assert_eq!(rr_set_change_log_capacity(reg, 1 << 20), RR_OK);
    let token = rr_subscribe(reg, Some(notified), std::ptr::null_mut());
    assert_ne!(token, 0);
    let mut m = Model {
        routes: HashMap::new(),
        pools: Default::default(),
        slots: [None; SLOTS],
        logged: Vec::new(),
        replay: Default::default(),
        cursor: rr_generation(reg),
    };
    let first_id = 1;
    let mut next_id = first_id;
    for op in ops.iter().take(256) {
        run(reg, &mut m, &mut next_id, op);
        check_lifetimes(&m, base, next_id, first_id);
    }
    assert_eq!(rr_unsubscribe(reg, token), RR_OK);
    assert_failed(
        rr_unsubscribe(reg, token),
        RR_NOT_FOUND,
        "rr_unsubscribe twice",
    );
    rr_registry_free(reg);
    m.pools = Default::default();
    m.logged.clear();
    for s in &mut m.slots {
        if let Some((p, _)) = s.take() {
            rr_route_release(p);
        }
    }
    check_lifetimes(&m, base, next_id, first_id);
    assert_eq!(rr_live_routes(), base, "routes leaked");
});
