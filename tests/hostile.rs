//! Hostile input through the C ABI: huge keys, NUL bytes, invalid UTF-8, every byte value,
//! NULL/len combinations. Always a clean miss or RR_INVALID_ARGUMENT, no crash, and no
//! allocation proportional to the input. And the map's hasher is seeded per process.

use route_registry::ffi::context::*;
use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

mod common;
use common::http_route;

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

fn registry_with_one_route() -> (*mut rr_registry, *mut rr_route) {
    let reg = rr_registry_new();
    let r = http_route("app");
    assert_eq!(rr_add(reg, r), RR_OK);
    (reg, r)
}

#[test]
fn huge_and_binary_keys_are_clean_misses_without_proportional_allocation() {
    let (reg, r) = registry_with_one_route();
    let mut keys: Vec<Vec<u8>> = vec![
        vec![b'a'; 1 << 20],                         // 1 MiB of ASCII
        "é".repeat(1 << 19).into_bytes(),            // 1 MiB of 2-byte UTF-8
        vec![0u8; 1 << 20],                          // NUL bytes
        b"app\0".to_vec(),                           // the alias plus a NUL
        (0..=255u8).collect(),                       // every byte value (invalid UTF-8)
        (0..=255u8).cycle().take(1 << 20).collect(), // 1 MiB of them
    ];
    for b in 0..=255u8 {
        keys.push(vec![b]);
    }
    // The first lookup on a thread registers the thread with the read-mostly lock (a fixed,
    // one-time allocation); every lookup after that allocates nothing.
    rr_route_release(rr_get(reg, "warm-up".as_ptr().cast(), 7));
    for key in &keys {
        let utf8 = std::str::from_utf8(key).is_ok();
        let (got, bytes) = allocated_by(|| rr_get(reg, key.as_ptr().cast(), key.len()));
        assert!(got.is_null(), "no key here matches");
        if utf8 {
            assert_eq!(
                bytes,
                0,
                "a lookup allocates nothing (key of {} bytes)",
                key.len()
            );
        } else {
            assert!(
                bytes < 1024,
                "error message for a {}-byte key took {bytes} bytes",
                key.len()
            );
        }
        let (ctx_host, bytes) = allocated_by(|| {
            let got = rr_get_http_route_or_exact(
                reg,
                key.as_ptr().cast(),
                key.len(),
                key.as_ptr().cast(),
                key.len(),
            );
            assert!(got.is_null());
            rr_try_get_upstream_host(std::ptr::null()).len
        });
        assert_eq!(ctx_host, 0);
        assert!(bytes < 2048);
        assert_ne!(
            rr_del_key(reg, RR_KIND_HTTP, key.as_ptr().cast(), key.len()),
            RR_OK
        );
    }
    // A hit allocates nothing either.
    let (got, bytes) = allocated_by(|| rr_get(reg, "app".as_ptr().cast(), 3));
    assert_eq!((got, bytes), (r, 0));
    rr_route_release(got);
    // Context accessors allocate nothing.
    let ctx = rr_with_route_context(std::ptr::null(), r);
    let (len, bytes) =
        allocated_by(|| rr_try_get_upstream_host(ctx).len + rr_try_get_upstream_url(ctx).len);
    assert!(len > 0);
    assert_eq!(bytes, 0);
    rr_ctx_free(ctx);
    rr_route_release(r);
    rr_registry_free(reg);
}

#[test]
fn null_and_length_combinations_never_crash() {
    let (reg, r) = registry_with_one_route();
    for len in [0usize, 1, 7, usize::MAX / 2, usize::MAX] {
        let got = rr_get(reg, std::ptr::null(), len);
        assert!(got.is_null());
        let st = rr_route_set_key(r, std::ptr::null(), len);
        assert_eq!(
            st,
            if len == 0 {
                RR_FROZEN
            } else {
                RR_INVALID_ARGUMENT
            },
            "len {len}"
        );
        let mut out = std::ptr::null_mut();
        let st = rr_route_new(
            RR_KIND_HTTP,
            std::ptr::null(),
            len,
            std::ptr::null(),
            0,
            &mut out,
        );
        assert_eq!(st, RR_INVALID_ARGUMENT);
        assert!(out.is_null());
        assert_eq!(
            rr_proxmox_load_json(reg, std::ptr::null(), len),
            RR_INVALID_ARGUMENT
        );
        assert_ne!(rr_del_key(reg, RR_KIND_HTTP, std::ptr::null(), len), RR_OK);
    }
    // Every handle NULL.
    assert_eq!(rr_add(std::ptr::null_mut(), r), RR_INVALID_ARGUMENT);
    assert_eq!(rr_add(reg, std::ptr::null_mut()), RR_INVALID_ARGUMENT);
    assert!(rr_health_json(std::ptr::null(), RR_HEALTH_FULL).is_null());
    assert!(rr_health_json(reg, 3).is_null());
    assert_eq!(
        rr_route_set_health(r, 3, 0, 0, std::ptr::null(), 0),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(
        rr_route_set_health(
            r,
            RR_HEALTH_STATUS_HEALTHY,
            u64::MAX,
            u64::MAX,
            std::ptr::null(),
            0
        ),
        RR_OK
    );
    assert!(rr_try_get_route(std::ptr::null()).is_null());
    rr_route_release(r);
    rr_registry_free(reg);
}

/// The order a pool's snapshot lists 2 000 keys in: it follows the hash of each key.
fn snapshot_order() -> String {
    let reg = route_registry::Registry::new();
    for i in 0..2000 {
        let r =
            route_registry::Route::new(route_registry::Kind::Http, &format!("k{i}"), "http://h:1")
                .unwrap();
        reg.add(&std::sync::Arc::new(r));
    }
    let order: Vec<String> = reg
        .pool(route_registry::Kind::Http)
        .snapshot()
        .iter()
        .take(20)
        .map(|r| r.key())
        .collect();
    order.join(",")
}

#[test]
fn child_prints_snapshot_order() {
    if std::env::var_os("RR_HASH_CHILD").is_some() {
        println!("ORDER={}", snapshot_order());
    }
}

#[test]
fn hasher_is_seeded_randomly_per_process() {
    let exe = std::env::current_exe().unwrap();
    let run = || {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "child_prints_snapshot_order",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("RR_HASH_CHILD", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.split_once("ORDER=").map(|(_, o)| o.to_string()))
            .expect("child output")
    };
    let (a, b) = (run(), run());
    assert_ne!(
        a, b,
        "two processes hashed 2 000 keys into the same order: the hasher is not seeded"
    );
}
