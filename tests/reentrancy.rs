//! Callbacks run outside every lock: a visitor or logger that re-enters the library (add, del,
//! get, health_json, set_logger) does not deadlock. A watchdog fails the test if it hangs.

use route_registry::ffi::logging::rr_set_logger;
use route_registry::ffi::registry::*;
use route_registry::ffi::route::*;
use route_registry::ffi::version::rr_string_free;
use route_registry::ffi::*;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod common;
use common::http_route;

static REENTERED: AtomicUsize = AtomicUsize::new(0);

/// Does a bit of everything with the registry in `ud`.
fn reenter(reg: *mut rr_registry, tag: usize) {
    let n = REENTERED.fetch_add(1, Ordering::SeqCst);
    let alias = format!("inner-{tag}-{n}");
    let r = http_route(&alias);
    rr_add(reg, r);
    let got = rr_get(reg, alias.as_ptr().cast(), alias.len());
    rr_route_release(got);
    rr_del(reg, r);
    rr_route_release(r);
    rr_string_free(rr_health_json(reg, RR_HEALTH_FULL));
    let _ = rr_num_all_routes(reg);
}

unsafe extern "C" fn logger(_level: u32, _msg: *const c_char, _len: usize, ud: *mut c_void) {
    // Re-entering from inside the logger: turn logging off first so this does not recurse
    // forever, do everything, then put the logger back — all from inside the callback.
    rr_set_logger(RR_LOG_OFF, None, std::ptr::null_mut());
    reenter(ud.cast(), 1);
    rr_set_logger(RR_LOG_DEBUG, Some(logger), ud);
}

unsafe extern "C" fn visitor(_r: *const rr_route, ud: *mut c_void) -> bool {
    reenter(ud.cast(), 2);
    rr_set_logger(RR_LOG_OFF, None, std::ptr::null_mut());
    true
}

#[test]
fn callbacks_may_reenter_the_library() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let reg = rr_registry_new();
        rr_set_logger(RR_LOG_DEBUG, Some(logger), reg.cast());
        let r = http_route("outer");
        assert_eq!(rr_add(reg, r), RR_OK); // logs "added": the logger re-enters
        rr_set_logger(RR_LOG_DEBUG, Some(logger), reg.cast());
        let visited = rr_iter_all(reg, Some(visitor), reg.cast());
        assert!(visited >= 1);
        rr_set_logger(RR_LOG_OFF, None, std::ptr::null_mut());
        rr_route_release(r);
        rr_registry_free(reg);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("deadlock: the re-entrant calls did not finish");
    assert!(REENTERED.load(Ordering::SeqCst) >= 2);
}
