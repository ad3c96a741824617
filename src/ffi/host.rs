//! Host resolution: a `Host` header to an HTTP route, and the domain suffixes it strips.

use super::{
    bytes_arg, ffi_guard, null_arg, rr_registry, rr_route, rr_status, rr_str, try_ref_from_ptr,
};
use crate::error::{Error, Result};
use crate::route::Route;
use std::ffi::c_char;
use std::sync::Arc;

/// The HTTP route for a request's `Host` header `(host, len)`: a new reference (the caller
/// releases it with `rr_route_release`), or NULL when no route matches.
///
/// Rules: the port is removed as Go's `net.SplitHostPort` does (`app:8080` → `app`,
/// `[::1]:80` → `::1`; when that fails the host is used as it is), then one trailing dot.
/// Hosts and keys compare ASCII-case-insensitively, and a key's trailing dot is ignored too.
/// With no domains set: the route keyed by the host, else by its first label
/// (`app.example.com` → `app`). With domains (`rr_set_route_domains`): for each domain in
/// order that the host ends with, the route keyed by the part before it; else the route keyed
/// by the whole host. Then a wildcard route keyed `*.<suffix>` whose suffix is the host after
/// its first label. Several routes whose keys are equal that way (`App`, `app.`): the highest
/// priority wins, then the one added last. Only the HTTP pool is searched.
///
/// A host that is empty, not valid UTF-8, contains a NUL byte or is longer than 1024 bytes is
/// a miss (NULL, no message), as is any host that matches nothing. NULL `reg`, or a NULL `host` with `len > 0`:
/// NULL with a message in `rr_last_error()`. Allocates nothing. Sees every add, delete and
/// `rr_set_route_domains` that returned before the call started.
#[no_mangle]
pub extern "C" fn rr_find_http_route(
    reg: *const rr_registry,
    host: *const c_char,
    len: usize,
) -> *mut rr_route {
    ffi_guard!("rr_find_http_route", Result<Option<Arc<Route>>>, {
        let reg = try_ref_from_ptr!(reg);
        // SAFETY: the caller passes a readable (host, len) pair.
        let host = unsafe { bytes_arg("host", host, len)? };
        Ok(reg.find_http_route(host))
    })
}

/// Sets the domain suffixes `rr_find_http_route` strips, in the order given: `n` strings at
/// `domains` (read during the call only; the registry keeps its own copy). Each may be given
/// with or without its leading dot and is stored with it, lowercased, without a trailing dot
/// (`Example.com.` → `.example.com`). `n = 0` (with any `domains`, NULL included): no domains,
/// the default.
///
/// `RR_INVALID_ARGUMENT`, naming the bad value, for a NULL `reg`, a NULL `domains` with
/// `n > 0`, or a domain that is empty, not UTF-8, contains a NUL byte, is longer than 255
/// bytes, or is nothing but dots; the old domains then stay. On success the generation is
/// bumped (answers of `rr_find_http_route` may change).
#[no_mangle]
pub extern "C" fn rr_set_route_domains(
    reg: *mut rr_registry,
    domains: *const rr_str,
    n: usize,
) -> rr_status {
    ffi_guard!("rr_set_route_domains", Result<()>, {
        let reg = try_ref_from_ptr!(reg);
        let list: &[rr_str] = if n == 0 {
            &[]
        } else if domains.is_null() {
            return Err(null_arg("domains"));
        } else if n > isize::MAX as usize / std::mem::size_of::<rr_str>() {
            return Err(Error::invalid(format!("domains: count {n} is too large")));
        } else {
            // SAFETY: the caller promises `n` readable rr_str values at `domains`.
            unsafe { std::slice::from_raw_parts(domains, n) }
        };
        let bytes = list
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if d.ptr.is_null() && d.len > 0 {
                    return Err(Error::invalid(format!(
                        "domain {i}: NULL pointer with length {}",
                        d.len
                    )));
                }
                // SAFETY: each rr_str is (ptr, len) readable bytes, as the header says.
                unsafe { bytes_arg("domain", d.ptr, d.len) }
            })
            .collect::<Result<Vec<&[u8]>>>()?;
        reg.set_route_domains(&bytes)
    })
}
