//! The C ABI of change sets: NULLs and bad inputs of every new export, records as C
//! sees them, `*next`, snapshots, subscriptions and batches.

mod common;

use common::{http_route, last_error};
use route_registry::ffi::batch::*;
use route_registry::ffi::changes::*;
use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::*;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

const NULL: *mut c_void = std::ptr::null_mut();

fn s(x: &str) -> *const std::ffi::c_char {
    x.as_ptr().cast()
}

/// Collected records: (generation, op, kind, key, route is NULL).
type Seen = Vec<(u64, u32, u32, String, bool)>;

unsafe extern "C" fn collect(c: *const rr_change, ud: *mut c_void) -> bool {
    // SAFETY: the library passes a valid record; `ud` is a `(Seen, limit)` below.
    let (c, (seen, limit)) = unsafe { (&*c, &mut *ud.cast::<(Seen, usize)>()) };
    // SAFETY: the key is valid during the call.
    let key = unsafe { std::slice::from_raw_parts(c.key.ptr.cast::<u8>(), c.key.len) };
    // The key is NUL-terminated as well.
    // SAFETY: as above; ptr[len] is readable.
    assert_eq!(unsafe { *c.key.ptr.add(c.key.len) }, 0);
    if !c.route.is_null() {
        assert_eq!(rr_route_key(c.route).len, c.key.len);
    }
    seen.push((
        c.generation,
        c.op,
        c.kind,
        String::from_utf8(key.to_vec()).unwrap(),
        c.route.is_null(),
    ));
    seen.len() < *limit
}

fn changes(reg: *mut rr_registry, since: u64, limit: usize) -> (rr_status, Seen, u64) {
    let mut ud: (Seen, usize) = (Vec::new(), limit);
    let mut next = u64::MAX;
    let st = rr_changes_since(
        reg,
        since,
        Some(collect),
        (&mut ud as *mut (Seen, usize)).cast(),
        &mut next,
    );
    (st, ud.0, next)
}

unsafe extern "C" fn count(_: *const rr_route, ud: *mut c_void) -> bool {
    // SAFETY: `ud` is a usize below.
    unsafe { *ud.cast::<usize>() += 1 };
    true
}

#[test]
fn records_next_and_stale_through_the_abi() {
    let reg = rr_registry_new();
    let a = http_route("a");
    let b = http_route("b");
    assert_eq!(rr_add(reg, a), RR_OK);
    let batch = rr_batch_new();
    assert_eq!(rr_batch_add(batch, b), RR_OK);
    assert_eq!(rr_batch_del_key(batch, RR_KIND_HTTP, s("a"), 1), RR_OK);
    let mut g = 0;
    assert_eq!(rr_batch_commit(reg, batch, &mut g), RR_OK);
    assert_eq!(g, 2);
    assert_eq!(rr_batch_commit(reg, batch, &mut g), RR_INVALID_ARGUMENT);
    assert!(last_error().contains("already committed"));
    assert_eq!(rr_batch_add(batch, a), RR_INVALID_ARGUMENT);
    rr_batch_free(batch);
    rr_pool_clear(reg, RR_KIND_HTTP);
    assert_eq!(rr_proxmox_load_json(reg, s("{}"), 2), RR_OK);

    let (st, seen, next) = changes(reg, 0, usize::MAX);
    assert_eq!(st, RR_OK);
    assert_eq!(next, 4);
    assert_eq!(
        seen,
        vec![
            (1, RR_CHANGE_ADDED, RR_KIND_HTTP, "a".into(), false),
            (2, RR_CHANGE_ADDED, RR_KIND_HTTP, "b".into(), false),
            (2, RR_CHANGE_REMOVED, RR_KIND_HTTP, "a".into(), false),
            (3, RR_CHANGE_CLEARED, RR_KIND_HTTP, "".into(), true),
            (4, RR_CHANGE_INVENTORY, 0, "".into(), true),
        ]
    );
    // Stopping inside set 2 gives it again; stopping at its end does not.
    assert_eq!(changes(reg, 0, 2).2, 1);
    assert_eq!(changes(reg, 0, 3).2, 2);
    assert_eq!(changes(reg, 1, 1).2, 1);
    // Nothing new: next is the current generation.
    let (st, seen, next) = changes(reg, 4, usize::MAX);
    assert_eq!((st, seen.len(), next), (RR_OK, 0, 4));
    // NULL visitor and NULL next are allowed.
    assert_eq!(
        rr_changes_since(reg, 0, None, NULL, std::ptr::null_mut()),
        RR_OK
    );
    let mut next = 9;
    assert_eq!(rr_changes_since(reg, 4, None, NULL, &mut next), RR_OK);
    assert_eq!(next, 4);
    // Future generation, NULL registry.
    let (st, _, next) = changes(reg, 5, usize::MAX);
    assert_eq!((st, next), (RR_INVALID_ARGUMENT, u64::MAX));
    assert!(last_error().contains("after the registry's current generation"));
    let (st, _, _) = changes(std::ptr::null_mut(), 0, usize::MAX);
    assert_eq!(st, RR_INVALID_ARGUMENT);
    // Wrapping the log: RR_STALE, then resync from a snapshot.
    assert_eq!(rr_set_change_log_capacity(reg, 0), RR_INVALID_ARGUMENT);
    assert_eq!(
        rr_set_change_log_capacity(std::ptr::null_mut(), 5),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(rr_set_change_log_capacity(reg, 1), RR_OK);
    let (st, seen, next) = changes(reg, 0, usize::MAX);
    assert_eq!((st, seen.len(), next), (RR_STALE, 0, u64::MAX));
    assert_eq!(RR_STALE, 5);
    assert!(last_error().contains("snapshot"));
    let mut n = 0usize;
    let mut gen = 0;
    assert_eq!(
        rr_snapshot(reg, 4, Some(count), (&mut n as *mut usize).cast(), &mut gen),
        0
    );
    assert_eq!((n, gen), (0, 4));
    assert_eq!(changes(reg, gen, usize::MAX).0, RR_OK);

    rr_route_release(a);
    rr_route_release(b);
    rr_registry_free(reg);
}

#[test]
fn snapshot_which_and_nulls() {
    let reg = rr_registry_new();
    let a = http_route("a");
    assert_eq!(rr_add(reg, a), RR_OK);
    for (which, want) in [(0u32, 1usize), (1, 0), (2, 0), (3, 1), (4, 1)] {
        let mut n = 0usize;
        let mut gen = 0;
        let visited = rr_snapshot(
            reg,
            which,
            Some(count),
            (&mut n as *mut usize).cast(),
            &mut gen,
        );
        assert_eq!((visited, n, gen), (want, want, 1), "which {which}");
    }
    let mut gen = 7;
    let mut n = 0usize;
    assert_eq!(
        rr_snapshot(reg, 5, Some(count), (&mut n as *mut usize).cast(), &mut gen),
        0
    );
    assert_eq!((n, gen), (0, 0));
    assert!(last_error().contains("which 5"));
    gen = 7;
    assert_eq!(
        rr_snapshot(std::ptr::null(), 4, Some(count), NULL, &mut gen),
        0
    );
    assert_eq!(gen, 0);
    assert_eq!(rr_snapshot(reg, 4, None, NULL, &mut gen), 0);
    assert_eq!(gen, 1);
    assert_eq!(
        rr_snapshot(
            reg,
            4,
            Some(count),
            (&mut n as *mut usize).cast(),
            std::ptr::null_mut()
        ),
        1
    );
    rr_route_release(a);
    rr_registry_free(reg);
}

#[test]
fn batch_bad_inputs_leave_it_unchanged_and_usable() {
    let reg = rr_registry_new();
    let b = rr_batch_new();
    assert!(!b.is_null());
    let null_b: *mut rr_batch = std::ptr::null_mut();
    let r = http_route("r");
    assert_eq!(rr_batch_add(null_b, r), RR_INVALID_ARGUMENT);
    assert!(last_error().contains("batch is NULL"));
    assert_eq!(rr_batch_add(b, std::ptr::null_mut()), RR_INVALID_ARGUMENT);
    assert!(last_error().contains("route is NULL"));
    assert_eq!(rr_batch_del_key(null_b, 0, s("k"), 1), RR_INVALID_ARGUMENT);
    assert_eq!(rr_batch_del_key(b, 3, s("k"), 1), RR_INVALID_ARGUMENT);
    assert_eq!(
        rr_batch_del_key(b, 0, std::ptr::null(), 1),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(rr_batch_del_key(b, 0, s("\u{ff}"), 1), RR_INVALID_ARGUMENT);
    assert_eq!(rr_batch_del_key(b, 0, s("a\0b"), 3), RR_INVALID_ARGUMENT);
    assert!(last_error().contains("NUL"));
    assert_eq!(rr_batch_del_key(b, 0, s(""), 0), RR_INVALID_ARGUMENT);
    let long = "x".repeat(256);
    assert_eq!(rr_batch_del_key(b, 0, s(&long), 256), RR_INVALID_ARGUMENT);
    assert_eq!(
        rr_batch_replace_provider(null_b, s("p"), 1),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(
        rr_batch_replace_provider(b, std::ptr::null(), 2),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(
        rr_batch_replace_provider(b, s("p\0"), 2),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(
        rr_batch_replace_provider(b, s(&long), 256),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(
        rr_batch_replace_provider(b, s(""), 0),
        RR_OK,
        "the empty provider is one"
    );
    assert_eq!(
        rr_batch_commit(std::ptr::null_mut(), b, std::ptr::null_mut()),
        RR_INVALID_ARGUMENT
    );
    assert_eq!(
        rr_batch_commit(reg, null_b, std::ptr::null_mut()),
        RR_INVALID_ARGUMENT
    );
    // Still usable, nothing committed yet.
    assert_eq!(rr_generation(reg), 0);
    assert_eq!(rr_batch_add(b, r), RR_OK);
    assert_eq!(rr_batch_del_key(b, RR_KIND_STREAM, s("k"), 1), RR_OK);
    assert_eq!(rr_batch_commit(reg, b, std::ptr::null_mut()), RR_OK);
    assert_eq!(rr_generation(reg), 1);
    assert!(rr_route_is_frozen(r));
    rr_batch_free(b);
    rr_batch_free(null_b);
    // A batch freed uncommitted changes nothing.
    let b = rr_batch_new();
    assert_eq!(rr_batch_del_key(b, RR_KIND_HTTP, s("r"), 1), RR_OK);
    rr_batch_free(b);
    assert_eq!(rr_num_all_routes(reg), 1);
    rr_route_release(r);
    rr_registry_free(reg);
}

#[test]
fn replace_provider_through_the_abi() {
    let reg = rr_registry_new();
    let mk = |alias: &str, provider: &str| {
        let r = http_route(alias);
        assert_eq!(rr_route_set_provider(r, s(provider), provider.len()), RR_OK);
        r
    };
    let (a, b, c) = (mk("a", "file"), mk("b", "file"), mk("c", "docker"));
    for r in [a, b, c] {
        assert_eq!(rr_add(reg, r), RR_OK);
    }
    let b2 = mk("b", "file");
    let d = mk("d", "file");
    let batch = rr_batch_new();
    assert_eq!(rr_batch_replace_provider(batch, s("file"), 4), RR_OK);
    assert_eq!(rr_batch_add(batch, b2), RR_OK);
    assert_eq!(rr_batch_add(batch, d), RR_OK);
    let mut g = 0;
    assert_eq!(rr_batch_commit(reg, batch, &mut g), RR_OK);
    assert_eq!(g, 4);
    let (_, seen, _) = changes(reg, 3, usize::MAX);
    assert_eq!(
        seen,
        vec![
            (4, RR_CHANGE_REMOVED, 0, "a".into(), false),
            (4, RR_CHANGE_REPLACED, 0, "b".into(), false),
            (4, RR_CHANGE_ADDED, 0, "d".into(), false),
        ]
    );
    assert_eq!(rr_num_all_routes(reg), 3);
    rr_batch_free(batch);
    for r in [a, b, c, b2, d] {
        rr_route_release(r);
    }
    rr_registry_free(reg);
}

static CALLS: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn on_change(generation: u64, ud: *mut c_void) {
    // SAFETY: `ud` is the registry handle.
    let reg = ud.cast::<rr_registry>();
    let mut next = 0;
    assert_eq!(
        rr_changes_since(reg, generation - 1, None, NULL, &mut next),
        RR_OK
    );
    CALLS.fetch_add(generation, Ordering::SeqCst);
}

#[test]
fn subscribe_and_unsubscribe_through_the_abi() {
    let reg = rr_registry_new();
    assert_eq!(rr_subscribe(std::ptr::null_mut(), Some(on_change), NULL), 0);
    assert_eq!(rr_subscribe(reg, None, NULL), 0);
    assert!(last_error().contains("callback is NULL"));
    let t = rr_subscribe(reg, Some(on_change), reg.cast());
    assert_ne!(t, 0);
    let r = http_route("a");
    assert_eq!(rr_add(reg, r), RR_OK);
    assert_eq!(rr_del(reg, r), RR_OK);
    assert_eq!(rr_del(reg, r), RR_NOT_FOUND, "no change: no call");
    assert_eq!(CALLS.load(Ordering::SeqCst), 1 + 2);
    assert_eq!(rr_unsubscribe(reg, 0), RR_INVALID_ARGUMENT);
    assert_eq!(rr_unsubscribe(std::ptr::null_mut(), t), RR_INVALID_ARGUMENT);
    assert_eq!(rr_unsubscribe(reg, t), RR_OK);
    assert_eq!(rr_unsubscribe(reg, t), RR_NOT_FOUND);
    assert_eq!(rr_add(reg, r), RR_OK);
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
    rr_route_release(r);
    rr_registry_free(reg);
}
