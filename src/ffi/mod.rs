//! The C ABI. Every `extern "C"` function of the library is in this module and its children,
//! and this is the only place with `unsafe`. Each function converts and checks its arguments,
//! calls the core, and converts the result; no registry logic lives here.
//!
//! Rules every export follows (see docs/DESIGN.md, "The C ABI layer"):
//! - Its whole body runs inside `ffi_guard!`, a panic boundary. The body is written in terms
//!   of a Rust type (`Result<()>`, a lookup result, `rr_str`, `usize`, ...) whose
//!   `PanicOrDefault` impl converts it to the C return type and chooses what a caught panic
//!   returns (`RR_PANIC`, NULL, 0, an empty string), so no export types that value by hand.
//! - Handles are turned back into Rust values only through `Castable` (in `handle`), which
//!   ties each handle type to its ownership (boxed, reference-counted): a wrong cast does not
//!   compile. NULL handles are early returns (`try_ref_from_ptr!`, `try_clone_arc!`) whose
//!   value comes from `NullParameterOrDefault`: `RR_INVALID_ARGUMENT` with a message for
//!   fallible functions, the empty value for accessors.
//! - Enum-typed parameters arrive as plain integers and are checked by the core's
//!   `from_u32` functions.
//!
//! Pointers other than NULL are trusted to be what the header says (a live handle from this
//! library, or `len` readable bytes): C offers no way to check them.

#![allow(unsafe_code)]
#![allow(non_camel_case_types)]
// These are C entry points: every raw pointer argument is checked for NULL and otherwise
// trusted, as the header documents.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod batch;
pub mod changes;
pub mod context;
mod handle;
pub mod host;
pub mod logging;
pub mod registry;
pub mod route;
pub mod version;

pub(crate) use handle::{
    arc_into_raw, borrowed_ptr, box_into_raw, clone_arc, ffi_guard, free_arc, free_box,
    static_into_raw, try_clone_arc, try_from, try_ref_from_ptr, AbiVersion, NullParameterOrDefault,
    PanicOrDefault,
};

use crate::error::{Error, Result};
use crate::text::CText;
use std::cell::RefCell;
use std::ffi::c_char;

/// The ABI version: bumped on every incompatible change to the C ABI (see docs/ABI.md).
pub const RR_ABI_VERSION: u32 = 1;

/// A status code. `RR_OK` is 0; the message of the last failure on this thread is
/// `rr_last_error()`. Numbers never change, and a retired number is never reused.
pub type rr_status = u32;
/// Success.
pub const RR_OK: rr_status = 0;
/// Nothing has that key (or the route has no Proxmox link).
pub const RR_NOT_FOUND: rr_status = 1;
/// A bad argument: NULL handle, NULL pointer with a length, invalid UTF-8, bad URL, bad
/// enum value, bad JSON. `rr_last_error()` names the bad value.
pub const RR_INVALID_ARGUMENT: rr_status = 2;
/// Not added: an existing route with that key stays (higher priority, or add_if_not_exists).
pub const RR_KEPT: rr_status = 3;
/// An identity setter was called on a route already added to a registry.
pub const RR_FROZEN: rr_status = 4;
/// Change records after the generation asked for were dropped from the change log
/// (`rr_changes_since`): take a snapshot (`rr_snapshot`) and continue from its generation.
pub const RR_STALE: rr_status = 5;
/// A panic inside the library was caught; the library stays usable.
pub const RR_PANIC: rr_status = 255;

/// Which pool a route belongs to (passed as a plain integer; checked by the library).
pub type rr_kind = u32;
/// Reverse-proxied HTTP routes.
pub const RR_KIND_HTTP: rr_kind = 0;
/// TCP/UDP stream routes.
pub const RR_KIND_STREAM: rr_kind = 1;
/// Known routes that are not proxied.
pub const RR_KIND_EXCLUDED: rr_kind = 2;

/// A health status: GoDoxy's bit flags (passed as a plain integer; checked).
pub type rr_health_status = u32;
/// Never checked.
pub const RR_HEALTH_STATUS_UNKNOWN: rr_health_status = 0;
/// Up.
pub const RR_HEALTH_STATUS_HEALTHY: rr_health_status = 1;
/// Idle-sleeping.
pub const RR_HEALTH_STATUS_NAPPING: rr_health_status = 2;
/// Waking up.
pub const RR_HEALTH_STATUS_STARTING: rr_health_status = 4;
/// Down.
pub const RR_HEALTH_STATUS_UNHEALTHY: rr_health_status = 8;
/// The check failed.
pub const RR_HEALTH_STATUS_ERROR: rr_health_status = 16;

/// Which health map `rr_health_json` renders (a plain integer; checked).
pub type rr_health_format = u32;
/// `{"alias":{"status":..,"uptime":..,"latency":..,"detail":..}}`
pub const RR_HEALTH_FULL: rr_health_format = 0;
/// The same without `"detail"`.
pub const RR_HEALTH_WITHOUT_DETAIL: rr_health_format = 1;
/// `{"alias":"healthy"}`
pub const RR_HEALTH_SIMPLE: rr_health_format = 2;

/// A log level, in the order of Rust's `log` crate.
pub type rr_log_level = u32;
/// Logging off.
pub const RR_LOG_OFF: rr_log_level = 0;
/// Errors.
pub const RR_LOG_ERROR: rr_log_level = 1;
/// Warnings.
pub const RR_LOG_WARN: rr_log_level = 2;
/// Information.
pub const RR_LOG_INFO: rr_log_level = 3;
/// Debugging: add, remove, reload, replace and clear are logged at this level.
pub const RR_LOG_DEBUG: rr_log_level = 4;
/// Everything.
pub const RR_LOG_TRACE: rr_log_level = 5;

/// A borrowed string: `len` bytes at `ptr`, followed by a NUL byte. Never a NULL `ptr`
/// (empty is `{"", 0}`). Who owns it and how long it lives is said by the function that
/// returns it; the caller never frees it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rr_str {
    /// The bytes (UTF-8), NUL-terminated.
    pub ptr: *const c_char,
    /// The length in bytes, without the NUL.
    pub len: usize,
}

impl rr_str {
    /// `{"", 0}`.
    pub const EMPTY: rr_str = rr_str {
        ptr: c"".as_ptr(),
        len: 0,
    };

    pub(crate) fn from_ctext(t: &CText) -> rr_str {
        rr_str {
            ptr: t.as_c_ptr().cast(),
            len: t.len(),
        }
    }

    /// A static string; `s` must end with a NUL that is not counted.
    pub(crate) fn from_static_nul(s: &'static str) -> rr_str {
        debug_assert!(s.ends_with('\0'));
        rr_str {
            ptr: s.as_ptr().cast(),
            len: s.len() - 1,
        }
    }
}

/// A route. Opaque; reference-counted (`rr_route_retain` / `rr_route_release`).
pub struct rr_route {
    _private: [u8; 0],
}

/// A registry. Opaque; `rr_registry_new` / `rr_registry_free`, or the global one.
pub struct rr_registry {
    _private: [u8; 0],
}

/// A route context. Opaque; `rr_with_route_context` / `rr_ctx_free`.
pub struct rr_ctx {
    _private: [u8; 0],
}

thread_local! {
    static LAST_ERROR: RefCell<CText> = RefCell::new(CText::empty());
}

/// Records `e` as this thread's last error and returns its status number.
pub(crate) fn fail(e: &Error) -> rr_status {
    let _ = LAST_ERROR.try_with(|l| *l.borrow_mut() = CText::new(e.message()));
    e.status() as rr_status
}

pub(crate) fn last_error() -> rr_str {
    LAST_ERROR
        .try_with(|l| rr_str::from_ctext(&l.borrow()))
        .unwrap_or(rr_str::EMPTY)
}

/// Called by `ffi_guard!` when a panic is caught.
pub(crate) fn record_panic(function: &str, payload: &(dyn std::any::Any + Send)) {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    fail(&Error::new(
        crate::error::Status::Panic,
        format!("panic in {function}: {what}"),
    ));
}

/// With the `fault-injection` feature, panics in the export named by
/// `RR_FAULT_INJECT` (tests set it; see tests/fault_injection.rs). Otherwise nothing.
#[inline(always)]
pub(crate) fn fault_point(_name: &str) {
    fault_point!(_name);
}

/// The bytes `ptr[0..len]`; NULL is allowed only with `len == 0`.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable bytes that stay unchanged during the call.
pub(crate) unsafe fn bytes_arg<'a>(what: &str, ptr: *const c_char, len: usize) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::invalid(format!(
            "{what}: NULL pointer with length {len}"
        )));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{what}: length {len} is too large")));
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr`; checked non-NULL above.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The UTF-8 text `ptr[0..len]`.
///
/// # Safety
/// As [`bytes_arg`].
pub(crate) unsafe fn str_arg<'a>(what: &str, ptr: *const c_char, len: usize) -> Result<&'a str> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_arg(what, ptr, len)? };
    std::str::from_utf8(bytes).map_err(|e| {
        let shown = &bytes[..bytes.len().min(64)];
        Error::invalid(format!(
            "{what} \"{}\"{} is not valid UTF-8 (bad byte at offset {})",
            shown.escape_ascii(),
            if bytes.len() > 64 { "..." } else { "" },
            e.valid_up_to()
        ))
    })
}

pub(crate) fn null_arg(what: &str) -> Error {
    Error::invalid(format!("{what} is NULL"))
}

/// Writes `v` through `out` if `out` is not NULL.
///
/// # Safety
/// A non-NULL `out` must be valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { out.write(v) }
    }
}
