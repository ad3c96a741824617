//! Building routes, reading them, and their health.

use super::{
    arc_into_raw, bytes_arg, ffi_guard, free_arc, null_arg, rr_health_status, rr_kind, rr_route,
    rr_status, rr_str, str_arg, try_clone_arc, try_ref_from_ptr, write_out,
};
use crate::error::Result;
use crate::health::HealthStatus;
use crate::route::{Identity, Kind, Route};
use crate::text::CText;
use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

/// Creates a route of `kind` (`RR_KIND_*`) named `alias` with upstream `url` (may be empty
/// only for `RR_KIND_EXCLUDED`). On `RR_OK`, `*out` is a new reference owned by the caller
/// (release with `rr_route_release`); on failure `*out` is set to NULL.
/// Fails with `RR_INVALID_ARGUMENT` for a bad kind, an empty, over-long (> 255 bytes) or
/// non-UTF-8 alias, or a URL Go's net/url rejects or that lacks a scheme, host or valid port.
#[no_mangle]
pub extern "C" fn rr_route_new(
    kind: rr_kind,
    alias: *const c_char,
    alias_len: usize,
    url: *const c_char,
    url_len: usize,
    out: *mut *mut rr_route,
) -> rr_status {
    ffi_guard!("rr_route_new", Result<()>, {
        if out.is_null() {
            return Err(null_arg("out"));
        }
        // SAFETY: checked non-NULL; the caller provides a writable pointer.
        unsafe { out.write(std::ptr::null_mut()) };
        let kind = Kind::from_u32(kind)?;
        // SAFETY: the caller passes readable (ptr, len) pairs.
        let alias = unsafe { str_arg("alias", alias, alias_len)? };
        // SAFETY: as above.
        let url = unsafe { str_arg("url", url, url_len)? };
        let route = Route::new(kind, alias, url)?;
        // SAFETY: checked non-NULL above.
        unsafe { out.write(arc_into_raw(Arc::new(route))) };
        Ok(())
    })
}

/// Adds a reference to `r` and returns `r` (NULL for NULL). Each reference is released with
/// `rr_route_release`.
#[no_mangle]
pub extern "C" fn rr_route_retain(r: *mut rr_route) -> *mut rr_route {
    ffi_guard!("rr_route_retain", *mut rr_route, {
        let arc = try_clone_arc!(r);
        arc_into_raw(arc) // the new reference now belongs to the caller; the same address
    })
}

/// Releases one reference. The route is destroyed (and its finalizer, if any, runs) when the
/// last reference, including the registries' and contexts', is gone. NULL is a no-op.
#[no_mangle]
pub extern "C" fn rr_route_release(r: *mut rr_route) {
    ffi_guard!("rr_route_release", (), {
        // SAFETY: `r` is NULL or came from this library, and the caller gives up this reference.
        unsafe { free_arc(r) }
    })
}

/// Runs a setter on the route behind `r` with the string argument `(s, len)`.
fn set_text(
    r: *mut rr_route,
    what: &str,
    s: *const c_char,
    len: usize,
    set: impl FnOnce(&Route, &str) -> Result<()>,
) -> Result<()> {
    let route = try_ref_from_ptr!(r);
    // SAFETY: the caller passes a readable (s, len) pair.
    let s = unsafe { str_arg(what, s, len)? };
    set(route, s)
}

/// Sets the key (defaults to the alias; "" resets it). `RR_FROZEN` once added.
#[no_mangle]
pub extern "C" fn rr_route_set_key(r: *mut rr_route, s: *const c_char, len: usize) -> rr_status {
    ffi_guard!("rr_route_set_key", Result<()>, {
        set_text(r, "key", s, len, Route::set_key)
    })
}

/// Sets the display name used in log lines ("" resets it to the alias). `RR_FROZEN` once added.
#[no_mangle]
pub extern "C" fn rr_route_set_display_name(
    r: *mut rr_route,
    s: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_route_set_display_name", Result<()>, {
        set_text(r, "display name", s, len, Route::set_display_name)
    })
}

/// Sets the provider's name (may be empty). `RR_FROZEN` once added.
#[no_mangle]
pub extern "C" fn rr_route_set_provider(
    r: *mut rr_route,
    s: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_route_set_provider", Result<()>, {
        set_text(r, "provider", s, len, Route::set_provider)
    })
}

/// Sets the priority (default 0): an added route replaces a live one with the same key only if
/// its priority is at least that one's. `RR_FROZEN` once added.
#[no_mangle]
pub extern "C" fn rr_route_set_priority(r: *mut rr_route, priority: i32) -> rr_status {
    ffi_guard!("rr_route_set_priority", Result<()>, {
        try_ref_from_ptr!(r).set_priority(priority)
    })
}

/// Marks the route as coming from Docker (such routes are not linked to Proxmox).
/// `RR_FROZEN` once added.
#[no_mangle]
pub extern "C" fn rr_route_set_docker(r: *mut rr_route, is_docker: bool) -> rr_status {
    ffi_guard!("rr_route_set_docker", Result<()>, {
        try_ref_from_ptr!(r).set_docker(is_docker)
    })
}

/// Links the route explicitly to Proxmox node `node` (non-empty) and VM `vmid` (0 for the node
/// itself, never negative). `RR_FROZEN` once added.
#[no_mangle]
pub extern "C" fn rr_route_set_proxmox(
    r: *mut rr_route,
    node: *const c_char,
    node_len: usize,
    vmid: i32,
) -> rr_status {
    ffi_guard!("rr_route_set_proxmox", Result<()>, {
        set_text(r, "proxmox node", node, node_len, |r, n| {
            r.set_proxmox(n, vmid)
        })
    })
}

/// Stores an opaque value the library never interprets (e.g. a Go `cgo.Handle`).
/// `RR_FROZEN` once added.
#[no_mangle]
pub extern "C" fn rr_route_set_user_data(r: *mut rr_route, user_data: u64) -> rr_status {
    ffi_guard!("rr_route_set_user_data", Result<()>, {
        try_ref_from_ptr!(r).set_user_data(user_data)
    })
}

/// Called once with a route's `user_data` when the route is destroyed.
pub type rr_finalizer = Option<unsafe extern "C" fn(user_data: u64)>;

/// Sets the function called once, with the route's `user_data`, when the route is destroyed
/// (after its last reference is released), on whichever thread releases it, outside every
/// lock of the library. NULL removes it. `RR_FROZEN` once added. The route's memory is freed
/// only after `f` returns (a binding may use the route's address as a key until then), but `f`
/// must not pass the route to the library: its last reference is gone.
#[no_mangle]
pub extern "C" fn rr_route_set_finalizer(r: *mut rr_route, f: rr_finalizer) -> rr_status {
    ffi_guard!("rr_route_set_finalizer", Result<()>, {
        let route = try_ref_from_ptr!(r);
        route.set_finalizer(f.map(|f| -> crate::route::Finalizer {
            Box::new(move |ud| {
                // SAFETY: the caller registered a function of this signature.
                unsafe { f(ud) }
            })
        }))
    })
}

/// Reads a string field of the route's identity (borrowed from the route).
fn ident_str(r: &Route, field: impl FnOnce(&Identity) -> &CText) -> rr_str {
    r.with_identity(|i| rr_str::from_ctext(field(i)))
}

/// The route's kind; `UINT32_MAX` for NULL.
#[no_mangle]
pub extern "C" fn rr_route_kind(r: *const rr_route) -> rr_kind {
    ffi_guard!("rr_route_kind", Option<Kind>, {
        Some(try_ref_from_ptr!(r).with_identity(Identity::kind))
    })
}

/// The alias (the route's name).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_alias(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_alias", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.alias())
    })
}
/// The key in its pool (the alias unless set).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_key(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_key", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.key())
    })
}
/// The display name (the alias unless set).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_display_name(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_display_name", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.display_name())
    })
}
/// The provider's name (may be empty).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_provider(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_provider", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.provider())
    })
}
/// The upstream URL's scheme (Go: `u.Scheme`).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_upstream_scheme(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_upstream_scheme", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.upstream().scheme())
    })
}
/// The upstream host without port or IPv6 brackets (Go: `u.Hostname()`).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_upstream_host(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_upstream_host", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.upstream().host())
    })
}
/// The upstream port, empty when absent (Go: `u.Port()`).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_upstream_port(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_upstream_port", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.upstream().port())
    })
}
/// The upstream host:port as written (Go: `u.Host`).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_upstream_host_port(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_upstream_host_port", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.upstream().host_port())
    })
}
/// The upstream address (Go: `u.Host`, as GoDoxy's `TryGetUpstreamAddr`).
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_upstream_addr(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_upstream_addr", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.upstream().host_port())
    })
}
/// The upstream URL as Go's `u.String()` gives it.
///
/// Borrowed from the route: valid while the caller holds a reference to it. `{"", 0}`
/// for NULL.
#[no_mangle]
pub extern "C" fn rr_route_upstream_url(r: *const rr_route) -> rr_str {
    ffi_guard!("rr_route_upstream_url", rr_str, {
        ident_str(try_ref_from_ptr!(r), |i| i.upstream().url())
    })
}

/// The priority; 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_route_priority(r: *const rr_route) -> i32 {
    ffi_guard!("rr_route_priority", i32, {
        try_ref_from_ptr!(r).with_identity(Identity::priority)
    })
}

/// The caller's opaque value; 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_route_user_data(r: *const rr_route) -> u64 {
    ffi_guard!("rr_route_user_data", u64, {
        try_ref_from_ptr!(r).with_identity(Identity::user_data)
    })
}

/// Whether the route comes from Docker; false for NULL.
#[no_mangle]
pub extern "C" fn rr_route_is_docker(r: *const rr_route) -> bool {
    ffi_guard!("rr_route_is_docker", bool, {
        try_ref_from_ptr!(r).with_identity(Identity::is_docker)
    })
}

/// Whether the route has been added to a registry (its identity is frozen); false for NULL.
#[no_mangle]
pub extern "C" fn rr_route_is_frozen(r: *const rr_route) -> bool {
    ffi_guard!("rr_route_is_frozen", bool, {
        try_ref_from_ptr!(r).is_frozen()
    })
}

/// The Proxmox link: `RR_OK` and the node, vmid and vmname written through the non-NULL out
/// pointers (strings borrowed from the route, valid while the caller holds a reference), or
/// `RR_NOT_FOUND` when the route has no link.
#[no_mangle]
pub extern "C" fn rr_route_proxmox(
    r: *const rr_route,
    node: *mut rr_str,
    vmid: *mut i32,
    vmname: *mut rr_str,
) -> rr_status {
    ffi_guard!("rr_route_proxmox", Result<()>, {
        let route = try_ref_from_ptr!(r);
        let (n, id, name) = route.with_identity(|i| {
            i.proxmox_link().map(|l| {
                (
                    rr_str::from_ctext(&l.node),
                    l.vmid,
                    rr_str::from_ctext(&l.vmname),
                )
            })
        })?;
        // SAFETY: each out pointer is NULL or writable.
        unsafe {
            write_out(node, n);
            write_out(vmid, id);
            write_out(vmname, name);
        }
        Ok(())
    })
}

/// Records the route's health: any thread, any time, frozen or not. `status` is one of the
/// `RR_HEALTH_STATUS_*` values (else `RR_INVALID_ARGUMENT`); `detail` may hold any bytes (the
/// health JSON renders them as Go does). The library copies `detail`.
#[no_mangle]
pub extern "C" fn rr_route_set_health(
    r: *mut rr_route,
    status: rr_health_status,
    uptime_ns: u64,
    latency_ns: u64,
    detail: *const c_char,
    detail_len: usize,
) -> rr_status {
    ffi_guard!("rr_route_set_health", Result<()>, {
        let route = try_ref_from_ptr!(r);
        // SAFETY: the caller passes a readable (detail, len) pair.
        let detail = unsafe { bytes_arg("detail", detail, detail_len)? };
        let status = HealthStatus::from_u32(status)?;
        route.set_health(
            status,
            Duration::from_nanos(uptime_ns),
            Duration::from_nanos(latency_ns),
            detail,
        );
        Ok(())
    })
}

/// The health status (`RR_HEALTH_STATUS_UNKNOWN` when never set, and for NULL).
#[no_mangle]
pub extern "C" fn rr_route_health_status(r: *const rr_route) -> rr_health_status {
    ffi_guard!("rr_route_health_status", HealthStatus, {
        try_ref_from_ptr!(r).health_status()
    })
}

/// The health: status, uptime and latency written through the non-NULL out pointers.
/// `RR_INVALID_ARGUMENT` for NULL `r`. (The detail is in the registry's health JSON.)
#[no_mangle]
pub extern "C" fn rr_route_health(
    r: *const rr_route,
    status: *mut rr_health_status,
    uptime_ns: *mut u64,
    latency_ns: *mut u64,
) -> rr_status {
    ffi_guard!("rr_route_health", Result<()>, {
        let route = try_ref_from_ptr!(r);
        let clamp = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let (s, u, l) = route.with_health(|h| (h.status as u32, clamp(h.uptime), clamp(h.latency)));
        // SAFETY: each out pointer is NULL or writable.
        unsafe {
            write_out(status, s);
            write_out(uptime_ns, u);
            write_out(latency_ns, l);
        }
        Ok(())
    })
}

/// Copies the health detail (the raw bytes last set; "n/a" when never set) into `buf`, at most
/// `cap` bytes, no NUL added, and returns the detail's full length, like `snprintf`: call with
/// `cap` 0 to learn the size. 0 for NULL `r`; a NULL `buf` is treated as `cap` 0.
#[no_mangle]
pub extern "C" fn rr_route_health_detail(
    r: *const rr_route,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    ffi_guard!("rr_route_health_detail", usize, {
        let route = try_ref_from_ptr!(r);
        route.with_health(|h| {
            let n = h.detail.len().min(if buf.is_null() { 0 } else { cap });
            if n > 0 {
                // SAFETY: the caller provides `cap` writable bytes at `buf`; n <= cap.
                unsafe { std::ptr::copy_nonoverlapping(h.detail.as_ptr(), buf.cast::<u8>(), n) };
            }
            h.detail.len()
        })
    })
}
