//! Registries: adding, deleting, lookups, iteration, JSON, Proxmox inventory, generation.

use super::{
    arc_into_raw, borrowed_ptr, box_into_raw, bytes_arg, ffi_guard, free_box, rr_health_format,
    rr_kind, rr_registry, rr_route, rr_status, static_into_raw, str_arg, try_clone_arc,
    try_ref_from_ptr, write_out,
};
use crate::error::Result;
use crate::health::HealthFormat;
use crate::registry::Registry;
use crate::route::{Kind, Route};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Creates an empty registry, owned by the caller: free it with `rr_registry_free`.
/// Never NULL (except if a panic was caught: then NULL with a message).
#[no_mangle]
pub extern "C" fn rr_registry_new() -> *mut rr_registry {
    ffi_guard!("rr_registry_new", *mut rr_registry, {
        box_into_raw(Box::new(Registry::new()))
    })
}

/// Frees a registry from `rr_registry_new`, releasing its references to its routes (routes
/// others still hold stay valid). NULL and the global registry are no-ops. The registry must
/// not be in use by another thread, and is invalid afterwards (as is its generation pointer).
#[no_mangle]
pub extern "C" fn rr_registry_free(reg: *mut rr_registry) {
    ffi_guard!("rr_registry_free", (), {
        // SAFETY: `reg` is NULL, the global registry (never freed: `Castable::never_freed`) or
        // came from rr_registry_new, and the caller frees it once.
        unsafe { free_box(reg) }
    })
}

/// The process-wide registry. Never freed; valid for the life of the process.
#[no_mangle]
pub extern "C" fn rr_registry_global() -> *mut rr_registry {
    ffi_guard!("rr_registry_global", *mut rr_registry, {
        static_into_raw(Registry::global())
    })
}

/// Adds `r` to the pool of its kind. `RR_OK` when it was added, replaced a route of lower or
/// equal priority, or reloaded a key deleted less than 1 s ago; the registry then holds its own
/// reference and the route's identity is frozen. `RR_KEPT` when a live route with the same key
/// and a higher priority stays (`r` is not registered and not frozen). The caller keeps its own
/// reference either way.
#[no_mangle]
pub extern "C" fn rr_add(reg: *mut rr_registry, r: *mut rr_route) -> rr_status {
    ffi_guard!("rr_add", Result<()>, {
        let reg = try_ref_from_ptr!(reg);
        let route = try_clone_arc!(r);
        reg.add(&route).into_result(&route).map(drop)
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
    ffi_guard!("rr_add_if_not_exists", Result<()>, {
        // SAFETY: `actual` is NULL or writable.
        unsafe { write_out(actual, std::ptr::null_mut()) };
        let reg = try_ref_from_ptr!(reg);
        let route = try_clone_arc!(r);
        let added = reg.add_if_not_exists(&route);
        let now = added.holder(&route);
        if !actual.is_null() {
            // SAFETY: checked non-NULL; writable.
            unsafe { actual.write(arc_into_raw(now)) };
        }
        added.into_result(&route).map(drop)
    })
}

/// Deletes the live route with `r`'s key from `r`'s pool (whichever route holds that key),
/// leaving a tombstone. `RR_NOT_FOUND` if no live route has that key.
#[no_mangle]
pub extern "C" fn rr_del(reg: *mut rr_registry, r: *const rr_route) -> rr_status {
    ffi_guard!("rr_del", Result<()>, {
        let reg = try_ref_from_ptr!(reg);
        let route = try_ref_from_ptr!(r);
        reg.del_route(route).map(drop)
    })
}

/// Deletes the live route with `key` from `kind`'s pool. `RR_NOT_FOUND` if none;
/// `RR_INVALID_ARGUMENT` for a bad kind or a key no route can have (not UTF-8, empty, over 255
/// bytes, with a NUL byte), as for `rr_batch_del_key`.
#[no_mangle]
pub extern "C" fn rr_del_key(
    reg: *mut rr_registry,
    kind: rr_kind,
    key: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_del_key", Result<()>, {
        let reg = try_ref_from_ptr!(reg);
        // SAFETY: the caller passes a readable (key, len) pair.
        let key = unsafe { str_arg("key", key, len)? };
        reg.del(Kind::from_u32(kind)?, key).map(drop)
    })
}

/// Empties all three pools (tombstones included). NULL is a no-op.
#[no_mangle]
pub extern "C" fn rr_clear(reg: *mut rr_registry) {
    ffi_guard!("rr_clear", (), { try_ref_from_ptr!(reg).clear() })
}

/// Empties one pool. NULL or a bad kind is a no-op (a bad kind records a message).
#[no_mangle]
pub extern "C" fn rr_pool_clear(reg: *mut rr_registry, kind: rr_kind) {
    ffi_guard!("rr_pool_clear", (), {
        let reg = try_ref_from_ptr!(reg);
        match Kind::from_u32(kind) {
            Ok(kind) => reg.pool_clear(kind),
            Err(e) => drop(super::fail(&e)),
        }
    })
}

/// Removes tombstones older than 1 s from every pool now; returns how many. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_purge_tombstones(reg: *mut rr_registry) -> usize {
    ffi_guard!("rr_purge_tombstones", usize, {
        try_ref_from_ptr!(reg).purge_tombstones()
    })
}

/// The number of live routes in `kind`'s pool (tombstones not counted). 0 for NULL or a bad kind.
#[no_mangle]
pub extern "C" fn rr_pool_size(reg: *const rr_registry, kind: rr_kind) -> usize {
    ffi_guard!("rr_pool_size", usize, {
        let reg = try_ref_from_ptr!(reg);
        Kind::from_u32(kind).map_or(0, |kind| reg.pool_size(kind))
    })
}

/// The number of tombstones (keys deleted and not yet purged) in `kind`'s pool: for
/// monitoring and soak tests. 0 for NULL or a bad kind.
#[no_mangle]
pub extern "C" fn rr_pool_tombstones(reg: *const rr_registry, kind: rr_kind) -> usize {
    ffi_guard!("rr_pool_tombstones", usize, {
        let reg = try_ref_from_ptr!(reg);
        Kind::from_u32(kind).map_or(0, |kind| reg.pool(kind).tombstones())
    })
}

/// HTTP + STREAM live routes. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_num_active_routes(reg: *const rr_registry) -> usize {
    ffi_guard!("rr_num_active_routes", usize, {
        try_ref_from_ptr!(reg).num_active_routes()
    })
}

/// HTTP + STREAM + EXCLUDED live routes. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_num_all_routes(reg: *const rr_registry) -> usize {
    ffi_guard!("rr_num_all_routes", usize, {
        try_ref_from_ptr!(reg).num_all_routes()
    })
}

/// A lookup's result: a new reference for C, NULL when absent, NULL with a message on bad
/// input (see `PanicOrDefault` for `Lookup`).
type Lookup = Result<Option<Arc<Route>>>;

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
    ffi_guard!("rr_get", Lookup, {
        let reg = try_ref_from_ptr!(reg);
        // SAFETY: the caller passes a readable (key, len) pair.
        let key = unsafe { Key::new("key", key, len)? };
        key.found(reg.get(key.bytes))
    })
}

/// As `rr_get`, then the EXCLUDED pool.
#[no_mangle]
pub extern "C" fn rr_get_include_excluded(
    reg: *const rr_registry,
    key: *const c_char,
    len: usize,
) -> *mut rr_route {
    ffi_guard!("rr_get_include_excluded", Lookup, {
        let reg = try_ref_from_ptr!(reg);
        // SAFETY: the caller passes a readable (key, len) pair.
        let key = unsafe { Key::new("key", key, len)? };
        key.found(reg.get_include_excluded(key.bytes))
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
    ffi_guard!("rr_pool_get", Lookup, {
        let reg = try_ref_from_ptr!(reg);
        // SAFETY: the caller passes a readable (key, len) pair.
        let key = unsafe { Key::new("key", key, len)? };
        key.found(reg.pool(Kind::from_u32(kind)?).get(key.bytes))
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
    ffi_guard!("rr_get_http_route_or_exact", Lookup, {
        let reg = try_ref_from_ptr!(reg);
        // SAFETY: the caller passes readable (ptr, len) pairs.
        let (alias, host) = unsafe {
            (
                Key::new("alias", alias, alias_len)?,
                Key::new("host", host, host_len)?,
            )
        };
        match reg.get_http_route_or_exact(alias.bytes, host.bytes) {
            Some(r) => Ok(Some(r)),
            None => alias.check().and_then(|()| host.found(None)),
        }
    })
}

/// Called for each route of an iteration with a route borrowed for the duration of the call
/// (retain it to keep it) and the caller's `user_data`; returns false to stop.
pub type rr_route_visitor =
    Option<unsafe extern "C" fn(r: *const rr_route, user_data: *mut c_void) -> bool>;

/// Runs an iteration of the core with the C visitor `f`; 0 for NULL `f`.
fn visit(
    reg: &Registry,
    f: rr_route_visitor,
    user_data: *mut c_void,
    run: impl FnOnce(&Registry, &mut dyn FnMut(&Arc<Route>) -> bool) -> usize,
) -> usize {
    let Some(f) = f else {
        return 0;
    };
    // SAFETY: the visitor gets a route kept alive by the snapshot during the call.
    run(reg, &mut |r| unsafe {
        f(borrowed_ptr::<rr_route>(r), user_data)
    })
}

/// Visits the live HTTP routes, then the STREAM ones, from a snapshot of both pools taken at one
/// generation (never half of a change set, see `rr_snapshot`); `f` runs outside every lock and may add, delete or look up. Returns how many
/// times `f` was called (including the call that returned false). 0 for NULL `reg` or `f`.
#[no_mangle]
pub extern "C" fn rr_iter_active(
    reg: *const rr_registry,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!("rr_iter_active", usize, {
        let reg = try_ref_from_ptr!(reg);
        visit(reg, f, user_data, |reg, g| reg.iter_active(g))
    })
}

/// As `rr_iter_active`, then the EXCLUDED routes.
#[no_mangle]
pub extern "C" fn rr_iter_all(
    reg: *const rr_registry,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!("rr_iter_all", usize, {
        let reg = try_ref_from_ptr!(reg);
        visit(reg, f, user_data, |reg, g| reg.iter_all(g))
    })
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
    ffi_guard!("rr_pool_iter", Result<usize>, {
        let reg = try_ref_from_ptr!(reg);
        let kind = Kind::from_u32(kind)?;
        Ok(visit(reg, f, user_data, |reg, g| {
            reg.iter_kinds(&[kind], g)
        }))
    })
}

/// Visits the live routes of `kind`'s pool sorted by alias, then key (GoDoxy's `Slice`), as
/// `rr_iter_active` (one snapshot; `f` runs outside every lock and gets a borrowed route).
/// Returns how many times `f` was called; 0 for NULL `reg` or `f`, or a bad kind (with a
/// message).
#[no_mangle]
pub extern "C" fn rr_pool_iter_sorted(
    reg: *const rr_registry,
    kind: rr_kind,
    f: rr_route_visitor,
    user_data: *mut c_void,
) -> usize {
    ffi_guard!("rr_pool_iter_sorted", Result<usize>, {
        let reg = try_ref_from_ptr!(reg);
        let kind = Kind::from_u32(kind)?;
        Ok(visit(reg, f, user_data, |reg, g| reg.iter_sorted(kind, g)))
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
    ffi_guard!("rr_iter_by_provider", usize, {
        let reg = try_ref_from_ptr!(reg);
        visit(reg, f, user_data, |reg, g| reg.iter_by_provider(g))
    })
}

/// The health of every route as JSON, keyed by alias (see docs/BEHAVIOUR.md, "Health"), byte-identical to Go's
/// `encoding/json`. `format` is `RR_HEALTH_FULL`, `RR_HEALTH_WITHOUT_DETAIL` or
/// `RR_HEALTH_SIMPLE`. Owned by the caller: free with `rr_string_free`. NULL only on bad input.
#[no_mangle]
pub extern "C" fn rr_health_json(reg: *const rr_registry, format: rr_health_format) -> *mut c_char {
    ffi_guard!("rr_health_json", Result<String>, {
        let reg = try_ref_from_ptr!(reg);
        Ok(reg.health_json(HealthFormat::from_u32(format)?))
    })
}

/// `{"provider":["key",...],...}` over all three pools, providers and keys sorted. Owned by
/// the caller: free with `rr_string_free`. NULL only for a NULL registry.
#[no_mangle]
pub extern "C" fn rr_by_provider_json(reg: *const rr_registry) -> *mut c_char {
    ffi_guard!("rr_by_provider_json", Result<String>, {
        Ok(try_ref_from_ptr!(reg).by_provider_json())
    })
}

/// Replaces the registry's Proxmox inventory with the JSON `(json, len)` (see docs/BEHAVIOUR.md,
/// "Proxmox linking"). On
/// `RR_INVALID_ARGUMENT` the old inventory stays. Applies to routes added afterwards.
#[no_mangle]
pub extern "C" fn rr_proxmox_load_json(
    reg: *mut rr_registry,
    json: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_proxmox_load_json", Result<()>, {
        let reg = try_ref_from_ptr!(reg);
        // SAFETY: the caller passes a readable (json, len) pair.
        let json = unsafe { bytes_arg("json", json, len)? };
        reg.load_proxmox_json(json)
    })
}

/// The registry's generation: + 1 per committed change set (an add that registered a route, a
/// del that removed one, a clear that removed something, an inventory load, a batch commit that
/// changed something, `rr_set_route_domains`); lookups, health updates and calls that change
/// nothing leave it alone. 0 for NULL.
#[no_mangle]
pub extern "C" fn rr_generation(reg: *const rr_registry) -> u64 {
    ffi_guard!("rr_generation", u64, {
        try_ref_from_ptr!(reg).generation()
    })
}

/// The generation counter's address: 8-byte aligned, valid while the registry lives (forever
/// for the global one). Read it only with an atomic 64-bit load. NULL for NULL.
#[no_mangle]
pub extern "C" fn rr_generation_ptr(reg: *const rr_registry) -> *const u64 {
    ffi_guard!("rr_generation_ptr", *const u64, {
        try_ref_from_ptr!(reg)
            .generation_counter()
            .as_ptr()
            .cast_const()
    })
}
