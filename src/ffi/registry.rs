//! Registries: adding, deleting, lookups, iteration, JSON, Proxmox inventory, generation.

use super::version::json_into_raw;
use super::{
    bytes_arg, fail, ffi_guard, null_arg, registry_arg, registry_ref, route_arc, route_arg,
    route_into_raw, rr_health_format, rr_kind, rr_registry, rr_route, rr_status, status_of,
    str_arg, write_out, RR_OK, RR_PANIC,
};
use crate::error::{quote, Error, Result, Status};
use crate::health::HealthFormat;
use crate::registry::{Added, Registry};
use crate::route::{Kind, Route};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Creates an empty registry, owned by the caller: free it with `rr_registry_free`.
/// Never NULL (except if a panic was caught: then NULL with a message).
#[no_mangle]
pub extern "C" fn rr_registry_new() -> *mut rr_registry {
    ffi_guard!("rr_registry_new", std::ptr::null_mut(), {
        Box::into_raw(Box::new(Registry::new())).cast::<rr_registry>()
    })
}

/// Frees a registry from `rr_registry_new`, releasing its references to its routes (routes
/// others still hold stay valid). NULL and the global registry are no-ops. The registry must
/// not be in use by another thread, and is invalid afterwards (as is its generation pointer).
#[no_mangle]
pub extern "C" fn rr_registry_free(reg: *mut rr_registry) {
    ffi_guard!("rr_registry_free", (), {
        let global: *const Registry = Registry::global();
        if !reg.is_null() && !std::ptr::eq(reg.cast::<Registry>(), global) {
            // SAFETY: `reg` came from Box::into_raw in rr_registry_new and is freed once.
            drop(unsafe { Box::from_raw(reg.cast::<Registry>()) });
        }
    })
}

/// The process-wide registry. Never freed; valid for the life of the process.
#[no_mangle]
pub extern "C" fn rr_registry_global() -> *mut rr_registry {
    ffi_guard!("rr_registry_global", std::ptr::null_mut(), {
        (Registry::global() as *const Registry)
            .cast_mut()
            .cast::<rr_registry>()
    })
}

fn kept_error(route: &Route, stays: &Route) -> Error {
    let (alias, key, prio) =
        route.with_identity(|i| (quote(i.alias()), quote(i.key()), i.priority()));
    let other = stays.priority();
    Error::new(
        Status::Kept,
        format!("route {alias} was not added: the route with key {key} (priority {other}) stays (new priority {prio})"),
    )
}

/// Adds `r` to the pool of its kind. `RR_OK` when it was added, replaced a route of lower or
/// equal priority, or reloaded a key deleted less than 1 s ago; the registry then holds its own
/// reference and the route's identity is frozen. `RR_KEPT` when a live route with the same key
/// and a higher priority stays (`r` is not registered and not frozen). The caller keeps its own
/// reference either way.
#[no_mangle]
pub extern "C" fn rr_add(reg: *mut rr_registry, r: *mut rr_route) -> rr_status {
    ffi_guard!("rr_add", RR_PANIC, {
        // SAFETY: handles are NULL or live.
        let (reg, route) = match unsafe { (registry_arg(reg), route_arc(r)) } {
            (Ok(reg), Some(route)) => (reg, route),
            (Err(e), _) => return fail(&e),
            (_, None) => return fail(&null_arg("route")),
        };
        match reg.add(&route) {
            Added::Kept(stays) => fail(&kept_error(&route, &stays)),
            _ => RR_OK,
        }
    })
}

/// Adds `r` only if no live route has its key. `RR_OK`: `r` was added (a tombstone younger than
/// 1 s counts as a reload). `RR_KEPT`: a live route stays. Either way, if `actual` is not NULL,
/// `*actual` is a new reference (caller releases it) to the route now registered under the key;
/// on other failures `*actual` is NULL.
#[no_mangle]
pub extern "C" fn rr_add_if_not_exists(
    reg: *mut rr_registry,
    r: *mut rr_route,
    actual: *mut *mut rr_route,
) -> rr_status {
    ffi_guard!("rr_add_if_not_exists", RR_PANIC, {
        // SAFETY: `actual` is NULL or writable.
        unsafe { write_out(actual, std::ptr::null_mut()) };
        // SAFETY: handles are NULL or live.
        let (reg, route) = match unsafe { (registry_arg(reg), route_arc(r)) } {
            (Ok(reg), Some(route)) => (reg, route),
            (Err(e), _) => return fail(&e),
            (_, None) => return fail(&null_arg("route")),
        };
        let (status, now) = match reg.add_if_not_exists(&route) {
            Added::Kept(stays) => (fail(&kept_error(&route, &stays)), stays),
            _ => (RR_OK, route),
        };
        if !actual.is_null() {
            // SAFETY: checked non-NULL; writable.
            unsafe { actual.write(route_into_raw(now)) };
        }
        status
    })
}

/// Deletes the live route with `r`'s key from `r`'s pool (whichever route holds that key),
/// leaving a tombstone. `RR_NOT_FOUND` if no live route has that key.
#[no_mangle]
pub extern "C" fn rr_del(reg: *mut rr_registry, r: *const rr_route) -> rr_status {
    ffi_guard!("rr_del", RR_PANIC, {
        status_of((|| {
            // SAFETY: handles are NULL or live.
            let (reg, route) = unsafe { (registry_arg(reg)?, route_arg(r)?) };
            match reg.del_route(route) {
                Some(_) => Ok(()),
                None => Err(route.with_identity(|i| not_found(i.kind(), i.key()))),
            }
        })())
    })
}

fn not_found(kind: Kind, key: &str) -> Error {
    Error::not_found(format!(
        "no route with key {} in {}",
        quote(key),
        kind.pool_name()
    ))
}

/// Deletes the live route with `key` from `kind`'s pool. `RR_NOT_FOUND` if none.
#[no_mangle]
pub extern "C" fn rr_del_key(
    reg: *mut rr_registry,
    kind: rr_kind,
    key: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_del_key", RR_PANIC, {
        status_of((|| {
            // SAFETY: handle NULL or live; (key, len) readable.
            let (reg, key) = unsafe { (registry_arg(reg)?, str_arg("key", key, len)?) };
            let kind = Kind::from_u32(kind)?;
            reg.del(kind, key)
                .map(drop)
                .ok_or_else(|| not_found(kind, key))
        })())
    })
}

/// Empties all three pools (tombstones included). NULL is a no-op.
#[no_mangle]
pub extern "C" fn rr_clear(reg: *mut rr_registry) {
    ffi_guard!("rr_clear", (), {
        // SAFETY: handle NULL or live.
        if let Some(reg) = unsafe { registry_ref(reg) } {
            reg.clear();
        }
    })
}

/// Empties one pool. NULL or a bad kind is a no-op (a bad kind records a message).
#[no_mangle]
pub extern "C" fn rr_pool_clear(reg: *mut rr_registry, kind: rr_kind) {
    ffi_guard!("rr_pool_clear", (), {
        // SAFETY: handle NULL or live.
        if let Some(reg) = unsafe { registry_ref(reg) } {
            match Kind::from_u32(kind) {
                Ok(kind) => reg.pool_clear(kind),
                Err(e) => {
                    fail(&e);
                }
            }
        }
    })
}

/// Removes tombstones older than 1 s from every pool now; returns how many. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_purge_tombstones(reg: *mut rr_registry) -> usize {
    // SAFETY: handle NULL or live.
    ffi_guard!(
        "rr_purge_tombstones",
        0,
        unsafe { registry_ref(reg) }.map_or(0, Registry::purge_tombstones)
    )
}

/// The number of live routes in `kind`'s pool (tombstones not counted). 0 for NULL or a bad kind.
#[no_mangle]
pub extern "C" fn rr_pool_size(reg: *const rr_registry, kind: rr_kind) -> usize {
    ffi_guard!("rr_pool_size", 0, {
        // SAFETY: handle NULL or live.
        match (unsafe { registry_ref(reg) }, Kind::from_u32(kind)) {
            (Some(reg), Ok(kind)) => reg.pool(kind).size(),
            _ => 0,
        }
    })
}

/// The number of tombstones (keys deleted and not yet purged) in `kind`'s pool: for
/// monitoring and soak tests. 0 for NULL or a bad kind.
#[no_mangle]
pub extern "C" fn rr_pool_tombstones(reg: *const rr_registry, kind: rr_kind) -> usize {
    ffi_guard!("rr_pool_tombstones", 0, {
        // SAFETY: handle NULL or live.
        match (unsafe { registry_ref(reg) }, Kind::from_u32(kind)) {
            (Some(reg), Ok(kind)) => reg.pool(kind).tombstones(),
            _ => 0,
        }
    })
}

/// HTTP + STREAM live routes. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_num_active_routes(reg: *const rr_registry) -> usize {
    // SAFETY: handle NULL or live.
    ffi_guard!(
        "rr_num_active_routes",
        0,
        unsafe { registry_ref(reg) }.map_or(0, Registry::num_active_routes)
    )
}

/// HTTP + STREAM + EXCLUDED live routes. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_num_all_routes(reg: *const rr_registry) -> usize {
    // SAFETY: handle NULL or live.
    ffi_guard!(
        "rr_num_all_routes",
        0,
        unsafe { registry_ref(reg) }.map_or(0, Registry::num_all_routes)
    )
}

/// Runs a lookup: a new reference for C, or NULL (recording a message only for bad input).
fn lookup(result: Result<Option<Arc<Route>>>) -> *mut rr_route {
    match result {
        Ok(Some(r)) => route_into_raw(r),
        Ok(None) => std::ptr::null_mut(),
        Err(e) => {
            fail(&e);
            std::ptr::null_mut()
        }
    }
}

/// A lookup key: bytes, checked for UTF-8 only after a miss (a hit proves the bytes equal a
/// stored key, which is UTF-8), so the hot path does not scan the key twice.
struct Key<'a> {
    what: &'static str,
    bytes: &'a [u8],
}

impl<'a> Key<'a> {
    /// # Safety
    /// As [`bytes_arg`].
    unsafe fn new(what: &'static str, ptr: *const c_char, len: usize) -> Result<Self> {
        // SAFETY: forwarded contract.
        let bytes = unsafe { bytes_arg(what, ptr, len)? };
        Ok(Key { what, bytes })
    }

    /// After a miss: an error if the key was not UTF-8.
    #[inline]
    fn check(&self) -> Result<()> {
        if std::str::from_utf8(self.bytes).is_ok() {
            return Ok(());
        }
        // SAFETY: the bytes are a valid slice; str_arg re-checks them to build the message.
        unsafe { str_arg(self.what, self.bytes.as_ptr().cast(), self.bytes.len()) }.map(drop)
    }

    /// The result of a lookup by this key: a miss with a non-UTF-8 key is bad input.
    fn found(&self, r: Option<Arc<Route>>) -> Result<Option<Arc<Route>>> {
        match r {
            Some(r) => Ok(Some(r)),
            None => self.check().map(|()| None),
        }
    }
}

/// The live HTTP route with `key`, else the STREAM one (never EXCLUDED). A new reference
/// (caller releases it), or NULL when absent or on bad input (then `rr_last_error()` says why).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_get(reg: *const rr_registry, key: *const c_char, len: usize) -> *mut rr_route {
    ffi_guard!("rr_get", std::ptr::null_mut(), {
        lookup((|| {
            // SAFETY: handle NULL or live; (key, len) readable.
            let (reg, key) = unsafe { (registry_arg(reg)?, Key::new("key", key, len)?) };
            key.found(reg.get(key.bytes))
        })())
    })
}

/// As `rr_get`, then the EXCLUDED pool.
#[no_mangle]
pub extern "C" fn rr_get_include_excluded(
    reg: *const rr_registry,
    key: *const c_char,
    len: usize,
) -> *mut rr_route {
    ffi_guard!("rr_get_include_excluded", std::ptr::null_mut(), {
        lookup((|| {
            // SAFETY: handle NULL or live; (key, len) readable.
            let (reg, key) = unsafe { (registry_arg(reg)?, Key::new("key", key, len)?) };
            key.found(reg.get_include_excluded(key.bytes))
        })())
    })
}

/// The live route with `key` in `kind`'s pool: a new reference, or NULL (absent, bad input).
#[no_mangle]
pub extern "C" fn rr_pool_get(
    reg: *const rr_registry,
    kind: rr_kind,
    key: *const c_char,
    len: usize,
) -> *mut rr_route {
    ffi_guard!("rr_pool_get", std::ptr::null_mut(), {
        lookup((|| {
            // SAFETY: handle NULL or live; (key, len) readable.
            let (reg, key) = unsafe { (registry_arg(reg)?, Key::new("key", key, len)?) };
            key.found(reg.pool(Kind::from_u32(kind)?).get(key.bytes))
        })())
    })
}

/// The HTTP route keyed `alias`, else the HTTP route keyed `host`: a new reference, or NULL.
#[no_mangle]
pub extern "C" fn rr_get_http_route_or_exact(
    reg: *const rr_registry,
    alias: *const c_char,
    alias_len: usize,
    host: *const c_char,
    host_len: usize,
) -> *mut rr_route {
    ffi_guard!("rr_get_http_route_or_exact", std::ptr::null_mut(), {
        lookup((|| {
            // SAFETY: handle NULL or live; pairs readable.
            let (reg, alias, host) = unsafe {
                (
                    registry_arg(reg)?,
                    Key::new("alias", alias, alias_len)?,
                    Key::new("host", host, host_len)?,
                )
            };
            match reg.get_http_route_or_exact(alias.bytes, host.bytes) {
                Some(r) => Ok(Some(r)),
                None => alias.check().and_then(|()| host.found(None)),
            }
        })())
    })
}

/// Called for each route of an iteration with a route borrowed for the duration of the call
/// (retain it to keep it) and the caller's `user_data`; returns false to stop.
pub type rr_route_visitor =
    Option<unsafe extern "C" fn(r: *const rr_route, user_data: *mut c_void) -> bool>;

fn visit(
    reg: *const rr_registry,
    f: rr_route_visitor,
    user_data: *mut c_void,
    run: impl FnOnce(&Registry, &mut dyn FnMut(&Arc<Route>) -> bool) -> usize,
) -> usize {
    // SAFETY: handle NULL or live.
    let (Some(reg), Some(f)) = (unsafe { registry_ref(reg) }, f) else {
        return 0;
    };
    // SAFETY: the visitor gets a route kept alive by the snapshot during the call.
    run(reg, &mut |r| unsafe {
        f(Arc::as_ptr(r).cast::<rr_route>(), user_data)
    })
}

/// Visits the live HTTP routes, then the STREAM ones. Each pool is visited as a snapshot taken
/// under its lock; `f` runs outside every lock and may add, delete or look up. Returns how many
/// times `f` was called (including the call that returned false). 0 for NULL `reg` or `f`.
#[no_mangle]
pub extern "C" fn rr_iter_active(
    reg: *const rr_registry,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!(
        "rr_iter_active",
        0,
        visit(reg, f, user_data, |reg, g| reg.iter_active(g))
    )
}

/// As `rr_iter_active`, then the EXCLUDED routes.
#[no_mangle]
pub extern "C" fn rr_iter_all(
    reg: *const rr_registry,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!(
        "rr_iter_all",
        0,
        visit(reg, f, user_data, |reg, g| reg.iter_all(g))
    )
}

/// Visits the live routes of `kind`'s pool (a snapshot, in no particular order), as
/// `rr_iter_active`. 0 for a bad kind.
#[no_mangle]
pub extern "C" fn rr_pool_iter(
    reg: *const rr_registry,
    kind: rr_kind,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!("rr_pool_iter", 0, {
        let Ok(kind) = Kind::from_u32(kind).map_err(|e| fail(&e)) else {
            return 0;
        };
        visit(reg, f, user_data, |reg, g| reg.iter_kinds(&[kind], g))
    })
}

/// Visits the live routes of `kind`'s pool sorted by alias, then key (the seed's `Slice`).
#[no_mangle]
pub extern "C" fn rr_pool_iter_sorted(
    reg: *const rr_registry,
    kind: rr_kind,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!("rr_pool_iter_sorted", 0, {
        let Ok(kind) = Kind::from_u32(kind).map_err(|e| fail(&e)) else {
            return 0;
        };
        visit(reg, f, user_data, |reg, g| {
            let mut n = 0;
            for r in reg.pool(kind).sorted() {
                n += 1;
                if !g(&r) {
                    break;
                }
            }
            n
        })
    })
}

/// Visits the live routes of all three pools ordered by provider name, then key, then pool
/// (HTTP, STREAM, EXCLUDED), as `rr_iter_active` (a snapshot; `f` runs outside every lock and
/// gets a borrowed route). Group consecutive routes by `rr_route_provider` to build the
/// by-provider map with the routes themselves. 0 for NULL `reg` or `f`.
#[no_mangle]
pub extern "C" fn rr_iter_by_provider(
    reg: *const rr_registry,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!("rr_iter_by_provider", 0, {
        visit(reg, f, user_data, |reg, g| {
            let mut n = 0;
            for r in reg.by_provider_routes() {
                n += 1;
                if !g(&r) {
                    break;
                }
            }
            n
        })
    })
}

/// The health of every route as JSON, keyed by alias (see SPEC §3), byte-identical to Go's
/// `encoding/json`. `format` is `RR_HEALTH_FULL`, `RR_HEALTH_WITHOUT_DETAIL` or
/// `RR_HEALTH_SIMPLE`. Owned by the caller: free with `rr_string_free`. NULL only on bad input.
#[no_mangle]
pub extern "C" fn rr_health_json(reg: *const rr_registry, format: rr_health_format) -> *mut c_char {
    ffi_guard!("rr_health_json", std::ptr::null_mut(), {
        // SAFETY: handle NULL or live.
        match unsafe { registry_arg(reg) }.and_then(|r| Ok((r, HealthFormat::from_u32(format)?))) {
            Ok((reg, format)) => json_into_raw(reg.health_json(format)),
            Err(e) => {
                fail(&e);
                std::ptr::null_mut()
            }
        }
    })
}

/// `{"provider":["key",...],...}` over all three pools, providers and keys sorted. Owned by
/// the caller: free with `rr_string_free`. NULL only for a NULL registry.
#[no_mangle]
pub extern "C" fn rr_by_provider_json(reg: *const rr_registry) -> *mut c_char {
    ffi_guard!("rr_by_provider_json", std::ptr::null_mut(), {
        // SAFETY: handle NULL or live.
        match unsafe { registry_arg(reg) } {
            Ok(reg) => json_into_raw(reg.by_provider_json()),
            Err(e) => {
                fail(&e);
                std::ptr::null_mut()
            }
        }
    })
}

/// Replaces the registry's Proxmox inventory with the JSON `(json, len)` (see SPEC §3). On
/// `RR_INVALID_ARGUMENT` the old inventory stays. Applies to routes added afterwards.
#[no_mangle]
pub extern "C" fn rr_proxmox_load_json(
    reg: *mut rr_registry,
    json: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_proxmox_load_json", RR_PANIC, {
        status_of((|| {
            // SAFETY: handle NULL or live; (json, len) readable.
            let (reg, json) = unsafe { (registry_arg(reg)?, bytes_arg("json", json, len)?) };
            reg.load_proxmox_json(json)
        })())
    })
}

/// A counter that changes on every mutation of the registry (add, del, clear, inventory load);
/// lookups and health updates leave it alone. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_generation(reg: *const rr_registry) -> u64 {
    // SAFETY: handle NULL or live.
    ffi_guard!(
        "rr_generation",
        0,
        unsafe { registry_ref(reg) }.map_or(0, Registry::generation)
    )
}

/// The generation counter's address: 8-byte aligned, valid while the registry lives (forever
/// for the global one). Read it only with an atomic 64-bit load. NULL for NULL.
#[no_mangle]
pub extern "C" fn rr_generation_ptr(reg: *const rr_registry) -> *const u64 {
    ffi_guard!("rr_generation_ptr", std::ptr::null(), {
        // SAFETY: handle NULL or live.
        unsafe { registry_ref(reg) }.map_or(std::ptr::null(), |r| {
            r.generation_counter().as_ptr().cast_const()
        })
    })
}
