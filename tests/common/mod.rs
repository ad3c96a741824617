//! Helpers shared by the tests: calling the C ABI from Rust, and a recount of the health JSON.
#![allow(dead_code)] // each test binary uses a different subset

use route_registry::ffi::route::rr_route_new;
use route_registry::ffi::version::rr_last_error;
use route_registry::ffi::{rr_route, RR_KIND_HTTP, RR_OK};
use route_registry::{Kind, Registry, Route};
use std::collections::BTreeMap;
use std::sync::Arc;

/// This thread's last error message, copied.
pub fn last_error() -> String {
    let e = rr_last_error();
    // SAFETY: the library returns `len` valid bytes at `ptr`.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(e.ptr.cast::<u8>(), e.len) })
        .into_owned()
}

/// A new HTTP route named `alias` with upstream http://10.0.0.1:80; the caller releases it.
pub fn http_route(alias: &str) -> *mut rr_route {
    let mut r = std::ptr::null_mut();
    let url = "http://10.0.0.1:80";
    let status = rr_route_new(
        RR_KIND_HTTP,
        alias.as_ptr().cast(),
        alias.len(),
        url.as_ptr().cast(),
        url.len(),
        &mut r,
    );
    assert_eq!(status, RR_OK, "{}", last_error());
    r
}

/// The routes the health JSON must show, recounted from the pools by the rule of docs/BEHAVIOUR.md ("Health"): one per
/// alias, the one met last going through HTTP, STREAM, EXCLUDED, each by ascending key; sorted
/// by alias. Only meaningful while nothing changes the registry.
pub fn health_recount(reg: &Registry) -> Vec<Arc<Route>> {
    let mut winners: BTreeMap<String, Arc<Route>> = BTreeMap::new();
    for kind in Kind::ALL {
        let mut routes = reg.pool(kind).snapshot();
        routes.sort_by_key(|r| r.key());
        for r in routes {
            winners.insert(r.alias(), r);
        }
    }
    winners.into_values().collect()
}

/// Asserts that the registry's health routes are exactly `health_recount`'s.
pub fn assert_health_matches_recount(reg: &Registry) {
    let got = reg.health_routes();
    let want = health_recount(reg);
    let names = |v: &[Arc<Route>]| -> Vec<(String, Kind, String)> {
        v.iter().map(|r| (r.alias(), r.kind(), r.key())).collect()
    };
    assert_eq!(names(&got), names(&want));
    for (g, w) in got.iter().zip(&want) {
        assert!(Arc::ptr_eq(g, w), "the same names but another route");
    }
}
