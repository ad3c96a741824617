//! The C ABI's cost over the core for lookups, measured robustly: core and ABI batches
//! alternate (so machine noise hits both alike) and the medians are compared.
//! The same method compares host resolution (`rr_find_http_route`) with `rr_get`.
//! Run: `cargo bench --bench abi_overhead` (figures in BENCHMARKS.md); only the host part:
//! `RR_BENCH_ONLY=host cargo bench --bench abi_overhead`.

use route_registry::ffi::host::{rr_find_http_route, rr_set_route_domains};
use route_registry::ffi::registry::{rr_add, rr_get, rr_registry_free, rr_registry_new};
use route_registry::ffi::route::{rr_route_new, rr_route_release};
use route_registry::ffi::{rr_registry, rr_route, rr_str, RR_KIND_HTTP, RR_OK};
use route_registry::Registry;
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 100_000;
const ROUNDS: usize = 31;

fn alias(i: usize) -> String {
    format!("app-{i:06}.example")
}

fn filled(n: usize) -> *mut rr_registry {
    let reg = rr_registry_new();
    for i in 0..n {
        let (a, url) = (alias(i), "http://10.0.0.1:8080");
        let mut r: *mut rr_route = std::ptr::null_mut();
        assert_eq!(
            rr_route_new(
                RR_KIND_HTTP,
                a.as_ptr().cast(),
                a.len(),
                url.as_ptr().cast(),
                url.len(),
                &mut r
            ),
            RR_OK
        );
        assert_eq!(rr_add(reg, r), RR_OK);
        rr_route_release(r);
    }
    reg
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median ns per lookup of `core` and `abi` over alternating batches.
fn compare(keys: &[String], core: impl Fn(&str), abi: impl Fn(&str)) -> (f64, f64) {
    let (mut c, mut a) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for i in 0..BATCH {
            core(&keys[i & 1023]);
        }
        c.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        let t = Instant::now();
        for i in 0..BATCH {
            abi(&keys[i & 1023]);
        }
        a.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    (median(c), median(a))
}

fn add_key(reg: *mut rr_registry, key: &str) {
    let url = "http://10.0.0.1:80";
    let mut r: *mut rr_route = std::ptr::null_mut();
    assert_eq!(
        rr_route_new(
            RR_KIND_HTTP,
            key.as_ptr().cast(),
            key.len(),
            url.as_ptr().cast(),
            url.len(),
            &mut r
        ),
        RR_OK
    );
    assert_eq!(rr_add(reg, r), RR_OK);
    rr_route_release(r);
}

/// `rr_find_http_route` vs `rr_get` of the key it finds, on 10 000 routes `app<i>` and 100
/// wildcard routes `*.zone<j>.example.com` (targets: first label ≤ 2×, wildcard ≤ 3×).
fn host_resolution() {
    let reg = rr_registry_new();
    for i in 0..10_000 {
        add_key(reg, &format!("app{i}"));
    }
    for j in 0..100 {
        add_key(reg, &format!("*.zone{j}.example.com"));
    }
    let pick = |i: usize| i * 7919 % 10_000;
    let keys: Vec<String> = (0..1024).map(|i| format!("app{}", pick(i))).collect();
    let label: Vec<String> = (0..1024)
        .map(|i| format!("app{}.example.com", pick(i)))
        .collect();
    let wild: Vec<String> = (0..1024)
        .map(|i| format!("web{}.zone{}.example.com", pick(i), i % 100))
        .collect();
    let wild_keys: Vec<String> = (0..1024)
        .map(|i| format!("*.zone{}.example.com", i % 100))
        .collect();
    let get = |k: &str| rr_route_release(black_box(rr_get(reg, k.as_ptr().cast(), k.len())));
    let find = |h: &str| {
        rr_route_release(black_box(rr_find_http_route(
            reg,
            h.as_ptr().cast(),
            h.len(),
        )))
    };
    println!("host resolution on 10 000 routes + 100 wildcards, median of {ROUNDS} alternating batches of {BATCH}:");
    println!(
        "{:>28} {:>10} {:>10} {:>7}",
        "case", "rr_get ns", "find ns", "ratio"
    );
    let row = |name: &str, keys: &[String], hosts: &[String]| {
        let (mut g, mut f) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let t = Instant::now();
            for i in 0..BATCH {
                get(&keys[i & 1023]);
            }
            g.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
            let t = Instant::now();
            for i in 0..BATCH {
                find(&hosts[i & 1023]);
            }
            f.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        }
        let (g, f) = (median(g), median(f));
        println!("{name:>28} {g:>10.1} {f:>10.1} {:>6.2}x", f / g);
    };
    row("first label (app.example.com)", &keys, &label);
    row("wildcard (web.zoneN.example.com)", &keys, &wild);
    row("wildcard vs rr_get of *.zoneN", &wild_keys, &wild);
    // Keys as long as the hosts, so the per-length census no longer skips the exact lookup.
    for n in 4..=15 {
        add_key(reg, &format!("{}.example.com", "z".repeat(n)));
    }
    row("first label, exact tried too", &keys, &label);
    row("wildcard, exact tried too", &keys, &wild);
    let domain = [rr_str {
        ptr: c"example.com".as_ptr(),
        len: 11,
    }];
    assert_eq!(rr_set_route_domains(reg, domain.as_ptr(), 1), RR_OK);
    row("by domain (app.example.com)", &keys, &label);
    rr_registry_free(reg);
}

fn main() {
    if std::env::var("RR_BENCH_ONLY").as_deref() == Ok("host") {
        host_resolution();
        return;
    }
    host_resolution();
    println!("lookup cost, median of {ROUNDS} alternating batches of {BATCH}: core Registry::get vs rr_get (+ rr_route_release on a hit)");
    println!(
        "{:>8} {:>5} {:>10} {:>10} {:>7}",
        "routes", "kind", "core ns", "abi ns", "ratio"
    );
    for n in [10usize, 1_000, 100_000] {
        let reg = filled(n);
        // SAFETY: the registry lives until rr_registry_free below.
        let core: &Registry = unsafe { &*reg.cast::<Registry>() };
        let hits: Vec<String> = (0..1024).map(|i| alias(i * 7919 % n)).collect();
        let misses: Vec<String> = (0..1024).map(|i| format!("missing-{i}.example")).collect();
        for (kind, keys) in [("hit", &hits), ("miss", &misses)] {
            let (c, a) = compare(
                keys,
                |k| drop(black_box(core.get(k))),
                |k| rr_route_release(black_box(rr_get(reg, k.as_ptr().cast(), k.len()))),
            );
            println!("{n:>8} {kind:>5} {c:>10.1} {a:>10.1} {:>6.2}x", a / c);
        }
        rr_registry_free(reg);
    }
}
