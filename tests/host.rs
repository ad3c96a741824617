//! Host resolution through the C ABI: `rr_find_http_route` and `rr_set_route_domains`.
//! tests/host_vectors.json holds GoDoxy's entrypoint cases and this library's own rules;
//! the tests here run them, plus hostile hosts, bad domain lists, the generation rule and the
//! host index's consistency with the HTTP pool under concurrent adds and deletes.

use route_registry::ffi::host::*;
use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::*;
use route_registry::{Kind, Registry, Route};
use serde_json::Value;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod common;
use common::last_error;
#[path = "common/host_model.rs"]
mod host_model;

/// Counts bytes allocated by the current thread.
struct Counting;
thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + l.size()));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    let v = f();
    (v, ALLOCATED.with(Cell::get) - before)
}

fn new_route(kind: rr_kind, key: &str, priority: i32) -> *mut rr_route {
    let mut r = std::ptr::null_mut();
    let url = "http://10.0.0.1:80";
    // The alias is the key: the vectors name routes by key.
    let st = rr_route_new(
        kind,
        key.as_ptr().cast(),
        key.len(),
        url.as_ptr().cast(),
        url.len(),
        &mut r,
    );
    assert_eq!(st, RR_OK, "route {key:?}: {}", last_error());
    assert_eq!(rr_route_set_priority(r, priority), RR_OK);
    r
}

fn add(reg: *mut rr_registry, kind: rr_kind, key: &str, priority: i32) {
    let r = new_route(kind, key, priority);
    assert_eq!(rr_add(reg, r), RR_OK, "add {key:?}: {}", last_error());
    rr_route_release(r);
}

/// The key of the route `rr_find_http_route` returns, or None.
fn find(reg: *const rr_registry, host: &[u8]) -> Option<String> {
    let r = rr_find_http_route(reg, host.as_ptr().cast(), host.len());
    if r.is_null() {
        return None;
    }
    let k = rr_route_key(r);
    // SAFETY: the route is held; its key is `len` valid bytes.
    let key = unsafe { std::slice::from_raw_parts(k.ptr.cast::<u8>(), k.len) };
    let key = String::from_utf8(key.to_vec()).unwrap();
    rr_route_release(r);
    Some(key)
}

fn set_domains(reg: *mut rr_registry, domains: &[&[u8]]) -> rr_status {
    let strs: Vec<rr_str> = domains
        .iter()
        .map(|d| rr_str {
            ptr: d.as_ptr().cast(),
            len: d.len(),
        })
        .collect();
    rr_set_route_domains(reg, strs.as_ptr(), strs.len())
}

fn kind_of(v: &Value) -> rr_kind {
    match v.get("kind").and_then(Value::as_str) {
        None | Some("http") => RR_KIND_HTTP,
        Some("stream") => RR_KIND_STREAM,
        Some("excluded") => RR_KIND_EXCLUDED,
        Some(k) => panic!("bad kind {k}"),
    }
}

#[test]
fn vectors_resolve_as_listed() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/host_vectors.json"
    ))
    .expect("tests/host_vectors.json");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 25);
    let (mut hits, mut misses) = (0, 0);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let reg = rr_registry_new();
        let domains: Vec<&[u8]> = case
            .get("domains")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|d| d.as_str().unwrap().as_bytes()).collect())
            .unwrap_or_default();
        assert_eq!(
            set_domains(reg, &domains),
            RR_OK,
            "{name}: {}",
            last_error()
        );
        for r in case["routes"].as_array().unwrap() {
            match r {
                Value::String(key) => add(reg, RR_KIND_HTTP, key, 0),
                obj => add(
                    reg,
                    kind_of(obj),
                    obj["key"].as_str().unwrap(),
                    obj.get("priority").and_then(Value::as_i64).unwrap_or(0) as i32,
                ),
            }
        }
        for key in case
            .get("delete")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().unwrap();
            assert_eq!(
                rr_del_key(reg, RR_KIND_HTTP, key.as_ptr().cast(), key.len()),
                RR_OK
            );
        }
        for (host, want) in case["match"].as_object().unwrap() {
            let got = find(reg, host.as_bytes());
            assert_eq!(got.as_deref(), want.as_str(), "{name}: host {host:?}");
            hits += 1;
        }
        for host in case["no_match"].as_array().unwrap() {
            let host = host.as_str().unwrap();
            assert_eq!(
                find(reg, host.as_bytes()),
                None,
                "{name}: host {host:?} must miss"
            );
            misses += 1;
        }
        rr_registry_free(reg);
    }
    assert!(hits >= 60 && misses >= 85, "{hits} hits, {misses} misses");
}

#[test]
fn hostile_hosts_are_clean_misses_and_lookups_allocate_nothing() {
    let reg = rr_registry_new();
    for key in ["app", "*.example.com", "a"] {
        add(reg, RR_KIND_HTTP, key, 0);
    }
    // Warm up this thread's registration with the read-mostly locks (a one-time allocation).
    assert_eq!(find(reg, b"app.example.com").as_deref(), Some("app"));

    let long_label = format!("{}.example.com", "x".repeat(1000));
    let too_long = format!("{}.example.com", "x".repeat(1013));
    assert_eq!(too_long.len(), 1025);
    let hostile: Vec<Vec<u8>> = vec![
        vec![b'a'; 1 << 20],
        format!("{}.example.com", "x".repeat(1 << 20)).into_bytes(),
        format!("app:{}", "9".repeat(1 << 20)).into_bytes(),
        too_long.clone().into_bytes(),
        vec![0; 4096],
        b"app\xff.example.com".to_vec(),
        b"x.example.com:\xff".to_vec(),
        b"\xff\xfe".to_vec(),
        b"app.\xc3".to_vec(),
        ".".repeat(300).into_bytes(),
        b":8080".to_vec(),
        b":".to_vec(),
        b"x\0.example.com".to_vec(),
        "[".repeat(100).into_bytes(),
        "]:".repeat(100).into_bytes(),
    ];
    for host in &hostile {
        let (r, bytes) = allocated_by(|| rr_find_http_route(reg, host.as_ptr().cast(), host.len()));
        assert!(
            r.is_null(),
            "{:?} must miss",
            String::from_utf8_lossy(&host[..host.len().min(40)])
        );
        assert_eq!(bytes, 0, "a miss allocates nothing");
    }
    // Up to the limit a long label still matches the wildcard, without allocating.
    let (r, bytes) =
        allocated_by(|| rr_find_http_route(reg, long_label.as_ptr().cast(), long_label.len()));
    assert!(!r.is_null());
    assert_eq!(bytes, 0);
    rr_route_release(r);
    // A 255-byte host that hits: no allocation either.
    let host = format!("app.{}", "b".repeat(251));
    assert_eq!(host.len(), 255);
    let (r, bytes) = allocated_by(|| rr_find_http_route(reg, host.as_ptr().cast(), host.len()));
    assert!(!r.is_null());
    assert_eq!(bytes, 0);
    rr_route_release(r);

    // Bad arguments: NULL with a message; a NULL host with length 0 is the empty host.
    assert!(rr_find_http_route(std::ptr::null(), b"app".as_ptr().cast(), 3).is_null());
    assert!(
        last_error().contains("registry is NULL"),
        "{}",
        last_error()
    );
    assert!(rr_find_http_route(reg, std::ptr::null(), 3).is_null());
    assert!(
        last_error().contains("NULL pointer with length 3"),
        "{}",
        last_error()
    );
    assert!(rr_find_http_route(reg, std::ptr::null(), 0).is_null());
    rr_registry_free(reg);
}

#[test]
fn bad_domain_lists_are_refused_and_the_old_domains_stay() {
    let reg = rr_registry_new();
    add(reg, RR_KIND_HTTP, "app", 0);
    assert_eq!(set_domains(reg, &[b"example.com"]), RR_OK);
    assert_eq!(find(reg, b"app.example.com").as_deref(), Some("app"));
    assert_eq!(find(reg, b"app.example.org"), None);

    let long = vec![b'a'; 256];
    let cases: Vec<(Vec<&[u8]>, &str)> = vec![
        (vec![b"ok.org", b""], "domain 1 \"\" is empty"),
        (vec![b"a\0b"], "domain 0 \"a\\0b\" contains a NUL byte"),
        (
            vec![b"ok.org", b"ex\xffample"],
            "domain 1 \"ex\\xffample\" is not valid UTF-8",
        ),
        (vec![b"."], "domain 0 \".\" names no domain"),
        (vec![b"..."], "domain 0 \"...\" names no domain"),
        (vec![&long], "is longer than 255 bytes"),
    ];
    let gen = rr_generation(reg);
    for (list, msg) in cases {
        assert_eq!(set_domains(reg, &list), RR_INVALID_ARGUMENT);
        assert!(last_error().contains(msg), "{} lacks {msg}", last_error());
    }
    assert_eq!(
        rr_set_route_domains(reg, std::ptr::null(), 2),
        RR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("domains is NULL"), "{}", last_error());
    let null_entry = [rr_str {
        ptr: std::ptr::null(),
        len: 4,
    }];
    assert_eq!(
        rr_set_route_domains(reg, null_entry.as_ptr(), 1),
        RR_INVALID_ARGUMENT
    );
    assert!(
        last_error().contains("domain 0: NULL pointer with length 4"),
        "{}",
        last_error()
    );
    assert_eq!(
        rr_set_route_domains(std::ptr::null_mut(), std::ptr::null(), 0),
        RR_INVALID_ARGUMENT
    );
    // Nothing changed: same generation, same answers.
    assert_eq!(rr_generation(reg), gen);
    assert_eq!(find(reg, b"app.example.com").as_deref(), Some("app"));
    assert_eq!(find(reg, b"app.example.org"), None);

    // n = 0 (NULL allowed): back to no domains, and the generation moves.
    assert_eq!(rr_set_route_domains(reg, std::ptr::null(), 0), RR_OK);
    assert_eq!(rr_generation(reg), gen + 1);
    assert_eq!(find(reg, b"app.example.org").as_deref(), Some("app"));
    rr_registry_free(reg);
}

#[test]
fn domains_are_stored_with_the_leading_dot_in_lowercase() {
    let reg = Registry::new();
    reg.set_route_domains(&["Example.COM.", ".sub.example.com", "x"])
        .unwrap();
    assert_eq!(
        reg.route_domains().iter().collect::<Vec<_>>(),
        [".example.com", ".sub.example.com", ".x"]
    );
}

#[test]
fn lookups_and_kept_routes_leave_the_generation_alone() {
    let reg = rr_registry_new();
    add(reg, RR_KIND_HTTP, "app", 5);
    let gen = rr_generation(reg);
    assert!(find(reg, b"app.example.com").is_some());
    let low = new_route(RR_KIND_HTTP, "app", 1);
    assert_eq!(rr_add(reg, low), RR_KEPT);
    rr_route_release(low);
    assert_eq!(rr_generation(reg), gen);
    rr_registry_free(reg);
}

/// What the index must hold, recounted from the HTTP pool: each live route under its key
/// lowercased without one trailing dot, and per name the best by priority.
fn check_index_matches_pool(reg: &Registry) {
    let mut want: BTreeMap<String, Vec<Arc<Route>>> = BTreeMap::new();
    for r in reg.pool(Kind::Http).snapshot() {
        let key = r.key();
        let name = key.strip_suffix('.').unwrap_or(&key).to_ascii_lowercase();
        want.entry(name).or_default().push(r);
    }
    let got = reg.host_index_snapshot();
    assert_eq!(
        got.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        want.keys().cloned().collect::<Vec<_>>(),
        "index names"
    );
    for (name, routes) in &got {
        let expect = &want[name];
        assert_eq!(routes.len(), expect.len(), "{name}");
        for r in routes {
            assert!(
                expect.iter().any(|e| Arc::ptr_eq(e, r)),
                "{name}: a route not in the pool"
            );
        }
        let best = expect.iter().map(|r| r.priority()).max().unwrap();
        assert_eq!(routes[0].priority(), best, "{name}: the best comes first");
        // And the lookup answers with that route.
        let host = if let Some(suffix) = name.strip_prefix("*.") {
            format!("zz.{suffix}")
        } else {
            name.clone()
        };
        let bad_wildcard = name.starts_with("*.") && name[2..].contains('*');
        if !name.is_empty() && !bad_wildcard {
            let found = reg.find_http_route(&host).expect("the name resolves");
            if !name.starts_with("*.") {
                assert!(Arc::ptr_eq(&found, &routes[0]), "{name}");
            }
        }
    }
}

#[test]
fn index_stays_consistent_with_the_pool_under_concurrent_adds_and_deletes() {
    let reg = Arc::new(Registry::new());
    let stop = Arc::new(AtomicBool::new(false));
    // Keys that collide as host names (case, trailing dot, wildcards), so names are shared.
    let keys: Vec<String> = (0..24)
        .flat_map(|i| {
            [
                format!("app{i}"),
                format!("APP{i}"),
                format!("app{i}."),
                format!("*.d{i}.example.com"),
                format!("*.D{i}.example.com."),
            ]
        })
        .collect();
    let keys = Arc::new(keys);
    let mut threads = Vec::new();
    for t in 0..4u64 {
        let (reg, stop, keys) = (Arc::clone(&reg), Arc::clone(&stop), Arc::clone(&keys));
        threads.push(std::thread::spawn(move || {
            let mut x = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let mut ops = 0u64;
            while !stop.load(Ordering::Relaxed) || ops < 2000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let key = &keys[(x % keys.len() as u64) as usize];
                match (x >> 20) % 4 {
                    0 | 1 => {
                        let r = Route::new(Kind::Http, key, "http://10.0.0.1:80").unwrap();
                        r.set_priority(((x >> 30) % 3) as i32).unwrap();
                        reg.add(&Arc::new(r));
                    }
                    2 => {
                        let _ = reg.del(Kind::Http, key); // absent keys: RR_NOT_FOUND
                    }
                    _ => {
                        let host = format!("{}.example.com", key.trim_start_matches("*."));
                        let _ = reg.find_http_route(host);
                    }
                }
                if ops % 500 == 0 && t == 0 {
                    reg.pool_clear(Kind::Http);
                }
                ops += 1;
            }
            ops
        }));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    stop.store(true, Ordering::Relaxed);
    let ops: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(ops >= 8000);
    check_index_matches_pool(&reg);
    // And it stays right through a final round of deletes.
    for key in keys.iter().step_by(2) {
        let _ = reg.del(Kind::Http, key);
    }
    check_index_matches_pool(&reg);
    reg.clear();
    assert!(reg.host_index_snapshot().is_empty());
}

#[test]
fn a_route_found_stays_valid_after_it_is_deleted() {
    let reg = rr_registry_new();
    add(reg, RR_KIND_HTTP, "*.example.com", 0);
    let host = b"a.example.com";
    let r = rr_find_http_route(reg, host.as_ptr().cast(), host.len());
    assert!(!r.is_null());
    let key = "*.example.com";
    assert_eq!(
        rr_del_key(reg, RR_KIND_HTTP, key.as_ptr().cast(), key.len()),
        RR_OK
    );
    assert!(find(reg, host).is_none());
    rr_registry_free(reg);
    let k = rr_route_key(r);
    assert_eq!(k.len, key.len());
    rr_route_release(r);
}

#[test]
fn random_sequences_agree_with_the_model() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut bytes = Vec::new();
    let (mut sequences, mut ops, mut hits) = (0, 0, 0);
    for round in 0..3000 {
        bytes.clear();
        for _ in 0..(32 + round % 200) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push((x >> 24) as u8);
        }
        let seq = host_model::decode(&bytes);
        ops += seq.len();
        hits += host_model::check(&seq);
        sequences += 1;
    }
    eprintln!("{sequences} sequences, {ops} operations, {hits} lookups found a route");
    assert!(
        sequences == 3000 && ops > 50_000 && hits > 2_000,
        "{ops} ops, {hits} hits"
    );
}

/// The inputs the `host_resolution` fuzz target found (fuzz/artifacts-found/host_resolution-*,
/// minimised), replayed through the same checker: each once made the model and the library
/// disagree (fuzz/RESULTS.md says why and what was fixed).
#[test]
fn fuzz_found_sequences_agree_with_the_model() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/artifacts-found");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("host_resolution-") {
            let seq = host_model::decode(&std::fs::read(&path).unwrap());
            assert!(!seq.is_empty(), "{name} decodes to no operation");
            host_model::check(&seq);
            replayed += 1;
        }
    }
    assert!(
        replayed >= 1,
        "no host_resolution input in {}",
        dir.display()
    );
}
