//! Helpers shared by the tests that call the C ABI from Rust.
#![allow(dead_code)] // each test binary uses a different subset

use route_registry::ffi::route::rr_route_new;
use route_registry::ffi::version::rr_last_error;
use route_registry::ffi::{rr_route, RR_KIND_HTTP, RR_OK};

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
