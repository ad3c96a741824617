//! Every export is a panic boundary: with faults injected, each returns its "nothing" value
//! (RR_PANIC, NULL, 0, an empty string) with a message, and the library stays usable.
//! Run with `cargo test --features fault-injection --test fault_injection`.

use route_registry::fault::set_target;
use route_registry::ffi::batch::*;
use route_registry::ffi::changes::*;
use route_registry::ffi::context::*;
use route_registry::ffi::host::*;
use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::version::*;
use route_registry::ffi::*;
use std::sync::Mutex;

mod common;
use common::{http_route, last_error};

// The fault target is process-wide: run the cases one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

type Call<'a> = (&'a str, Box<dyn Fn() -> rr_status + 'a>);

fn quiet() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    std::panic::set_hook(Box::new(|_| {}));
    g
}

fn expect_panic_message(name: &str) {
    let msg = last_error();
    assert!(
        msg.contains(&format!("panic in {name}")) && msg.contains("injected fault"),
        "{name}: {msg}"
    );
}

#[test]
fn status_returning_exports_give_rr_panic_and_the_registry_stays_usable() {
    let _g = quiet();
    let reg = rr_registry_new();
    let r = http_route("a");
    let key = "a";
    let batch = rr_batch_new();
    let cases: Vec<Call> = vec![
        ("rr_add", Box::new(|| rr_add(reg, r))),
        (
            "rr_route_set_key",
            Box::new(|| rr_route_set_key(r, key.as_ptr().cast(), 1)),
        ),
        (
            "rr_route_set_priority",
            Box::new(|| rr_route_set_priority(r, 1)),
        ),
        (
            "rr_route_set_health",
            Box::new(|| rr_route_set_health(r, 1, 0, 0, std::ptr::null(), 0)),
        ),
        (
            "rr_del_key",
            Box::new(|| rr_del_key(reg, RR_KIND_HTTP, key.as_ptr().cast(), 1)),
        ),
        (
            "rr_proxmox_load_json",
            Box::new(|| rr_proxmox_load_json(reg, "{}".as_ptr().cast(), 2)),
        ),
        (
            "rr_add_if_not_exists",
            Box::new(|| rr_add_if_not_exists(reg, r, std::ptr::null_mut())),
        ),
        ("rr_del", Box::new(|| rr_del(reg, r))),
        (
            "rr_set_route_domains",
            Box::new(|| rr_set_route_domains(reg, std::ptr::null(), 0)),
        ),
        (
            "rr_changes_since",
            Box::new(|| rr_changes_since(reg, 0, None, std::ptr::null_mut(), std::ptr::null_mut())),
        ),
        (
            "rr_set_change_log_capacity",
            Box::new(|| rr_set_change_log_capacity(reg, 10)),
        ),
        ("rr_unsubscribe", Box::new(|| rr_unsubscribe(reg, 1))),
        ("rr_batch_add", Box::new(|| rr_batch_add(batch, r))),
        (
            "rr_batch_del_key",
            Box::new(|| rr_batch_del_key(batch, RR_KIND_HTTP, key.as_ptr().cast(), 1)),
        ),
        (
            "rr_batch_replace_provider",
            Box::new(|| rr_batch_replace_provider(batch, key.as_ptr().cast(), 1)),
        ),
        (
            "rr_batch_commit",
            Box::new(|| rr_batch_commit(reg, batch, std::ptr::null_mut())),
        ),
    ];
    for (name, call) in &cases {
        set_target(Some(name));
        assert_eq!(call(), RR_PANIC, "{name}");
        expect_panic_message(name);
        set_target(None);
    }
    // Still usable: no lock poisoned or held.
    assert_eq!(rr_add(reg, r), RR_OK);
    assert_eq!(rr_num_active_routes(reg), 1);
    let got = rr_get(reg, key.as_ptr().cast(), 1);
    assert!(!got.is_null());
    rr_route_release(got);
    // The batch was left as it was by the panicking calls, and commits.
    assert_eq!(
        rr_batch_del_key(batch, RR_KIND_HTTP, key.as_ptr().cast(), 1),
        RR_OK
    );
    let mut g = 0;
    assert_eq!(rr_batch_commit(reg, batch, &mut g), RR_OK);
    assert_eq!((g, rr_num_active_routes(reg)), (2, 0));
    rr_batch_free(batch);
    rr_route_release(r);
    rr_registry_free(reg);
}

#[test]
fn pointer_and_value_returning_exports_give_their_nothing_value() {
    let _g = quiet();
    let reg = rr_registry_new();
    let r = http_route("b");
    assert_eq!(rr_add(reg, r), RR_OK);
    let ctx = rr_with_route_context(std::ptr::null(), r);

    set_target(Some("*"));
    assert!(rr_get(reg, "b".as_ptr().cast(), 1).is_null());
    assert!(rr_find_http_route(reg, "b".as_ptr().cast(), 1).is_null());
    assert!(rr_health_json(reg, RR_HEALTH_FULL).is_null());
    assert!(rr_by_provider_json(reg).is_null());
    assert!(rr_registry_new().is_null());
    assert!(rr_with_route_context(std::ptr::null(), r).is_null());
    assert!(rr_try_get_route(ctx).is_null());
    assert_eq!(rr_route_alias(r).len, 0);
    assert!(!rr_route_alias(r).ptr.is_null());
    assert_eq!(rr_try_get_upstream_host(ctx).len, 0);
    assert_eq!(rr_route_kind(r), u32::MAX);
    assert_eq!(rr_num_all_routes(reg), 0);
    assert_eq!(rr_generation(reg), 0);
    assert!(rr_generation_ptr(reg).is_null());
    assert_eq!(rr_iter_all(reg, None, std::ptr::null_mut()), 0);
    assert_eq!(rr_route_health_status(r), RR_HEALTH_STATUS_UNKNOWN);
    assert_eq!(rr_route_priority(r), 0);
    // The version exports are panic boundaries too: 0 is never a real ABI version.
    assert_eq!(rr_abi_version(), 0);
    assert_eq!(rr_version().len, 0);
    assert!(!rr_version().ptr.is_null());
    let mut gen = 7;
    assert_eq!(rr_snapshot(reg, 4, None, std::ptr::null_mut(), &mut gen), 0);
    assert!(rr_batch_new().is_null());
    assert_eq!(rr_subscribe(reg, None, std::ptr::null_mut()), 0);
    rr_batch_free(std::ptr::null_mut());
    rr_clear(reg); // void: nothing happens
    set_target(None);
    expect_panic_message("rr_clear");

    // Nothing was cleared and everything still works.
    assert_eq!(rr_abi_version(), RR_ABI_VERSION);
    assert_eq!(rr_num_all_routes(reg), 1);
    let found = rr_find_http_route(reg, "b.example.com".as_ptr().cast(), 13);
    assert_eq!(found, r);
    rr_route_release(found);
    let h = rr_try_get_upstream_host(ctx);
    assert_eq!(h.len, "10.0.0.1".len());
    rr_ctx_free(ctx);
    rr_route_release(r);
    rr_registry_free(reg);
}

#[test]
fn core_panics_inside_locks_do_not_poison_the_registry() {
    // A panic while the core holds locks: the visitor panics inside iteration (which holds no
    // lock while visiting) and a logger panics inside add (called after locks are released).
    let _g = quiet();
    let reg = rr_registry_new();
    let r = http_route("c");
    // (A C callback cannot unwind at all; a Rust sink can, so it stands in for one here.)
    route_registry::log::set_sink(
        route_registry::log::LevelFilter::Debug,
        Some(std::sync::Arc::new(|_, _: &str| panic!("logger exploded"))),
    );
    assert_eq!(rr_add(reg, r), RR_PANIC);
    assert!(last_error().contains("logger exploded"));
    route_registry::log::set_sink(route_registry::log::LevelFilter::Off, None);
    // The add itself completed before the logger ran; the registry is consistent.
    assert_eq!(rr_num_active_routes(reg), 1);
    assert_eq!(rr_del(reg, r), RR_OK);
    assert_eq!(rr_add(reg, r), RR_OK);
    rr_route_release(r);
    rr_registry_free(reg);
}

#[test]
fn panics_inside_the_core_while_holding_locks_leave_it_usable() {
    let _g = quiet();
    let reg = rr_registry_new();
    let a = http_route("a");
    let b = http_route("b");
    assert_eq!(rr_add(reg, a), RR_OK);
    let check_usable = || {
        // Nothing is left locked: every operation that takes these locks works.
        let r = http_route("probe");
        assert_eq!(rr_add(reg, r), RR_OK);
        assert_eq!(
            rr_route_set_health(r, RR_HEALTH_STATUS_HEALTHY, 1, 1, std::ptr::null(), 0),
            RR_OK
        );
        assert_eq!(rr_route_health_status(r), RR_HEALTH_STATUS_HEALTHY);
        let json = rr_health_json(reg, RR_HEALTH_SIMPLE);
        assert!(!json.is_null());
        rr_string_free(json);
        assert!(rr_iter_all(reg, None, std::ptr::null_mut()) == 0);
        assert_eq!(rr_del(reg, r), RR_OK);
        rr_route_release(r);
        let got = rr_get(reg, "a".as_ptr().cast(), 1);
        assert_eq!(got, a, "the route added before the faults is still there");
        rr_route_release(got);
    };
    // (point, the call that reaches it, what it must return)
    set_target(Some("pool.add"));
    assert_eq!(rr_add(reg, b), RR_PANIC);
    expect_core_fault("rr_add", "pool.add");
    assert!(
        !rr_route_is_frozen(b),
        "a route whose add panicked is not registered"
    );
    set_target(None);
    check_usable();

    set_target(Some("pool.del"));
    assert_eq!(rr_del(reg, a), RR_PANIC);
    expect_core_fault("rr_del", "pool.del");
    set_target(None);
    check_usable();

    set_target(Some("pool.snapshot"));
    assert!(rr_by_provider_json(reg).is_null());
    expect_core_fault("rr_by_provider_json", "pool.snapshot");
    set_target(None);
    check_usable();

    // A batch whose commit panics inside the pool (commit lock and shard locks held): every
    // lock is released and the counts' sequence is even again (check_usable would hang).
    let batch = rr_batch_new();
    let (c, d) = (http_route("c"), http_route("d"));
    assert_eq!(rr_batch_add(batch, c), RR_OK);
    assert_eq!(rr_batch_add(batch, d), RR_OK);
    let before = rr_generation(reg);
    set_target(Some("pool.add"));
    assert_eq!(rr_batch_commit(reg, batch, std::ptr::null_mut()), RR_PANIC);
    expect_core_fault("rr_batch_commit", "pool.add");
    set_target(None);
    check_usable();
    let mut next = 0;
    assert_eq!(
        rr_changes_since(reg, before, None, std::ptr::null_mut(), &mut next),
        RR_OK
    );
    rr_batch_free(batch);
    rr_route_release(c);
    rr_route_release(d);

    set_target(Some("registry.read"));
    let mut gen = 0;
    assert_eq!(rr_snapshot(reg, 4, None, std::ptr::null_mut(), &mut gen), 0);
    expect_core_fault("rr_snapshot", "registry.read");
    set_target(None);
    check_usable();

    set_target(Some("health_index.render"));
    assert!(rr_health_json(reg, RR_HEALTH_FULL).is_null());
    expect_core_fault("rr_health_json", "health_index.render");
    set_target(None);
    check_usable();

    set_target(Some("route.health"));
    assert!(rr_health_json(reg, RR_HEALTH_FULL).is_null());
    expect_core_fault("rr_health_json", "route.health");
    set_target(None);
    check_usable();

    set_target(Some("route.set_health"));
    assert_eq!(
        rr_route_set_health(a, RR_HEALTH_STATUS_ERROR, 0, 0, std::ptr::null(), 0),
        RR_PANIC
    );
    expect_core_fault("rr_route_set_health", "route.set_health");
    set_target(None);
    check_usable();
    assert_eq!(
        rr_route_health_status(a),
        RR_HEALTH_STATUS_UNKNOWN,
        "the panicked update did not land"
    );

    assert_eq!(rr_add(reg, b), RR_OK);
    assert_eq!(rr_num_active_routes(reg), 2);
    rr_route_release(a);
    rr_route_release(b);
    rr_registry_free(reg);
}

fn expect_core_fault(export: &str, point: &str) {
    let msg = last_error();
    assert!(
        msg.contains(&format!("panic in {export}"))
            && msg.contains(&format!("injected fault in {point}")),
        "{point}: {msg}"
    );
}
