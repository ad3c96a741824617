//! Version, errors and freeing returned strings.

use super::{ffi_guard, last_error, rr_str, RR_ABI_VERSION};
use std::ffi::{c_char, CString};

/// The ABI version of the loaded library; equals `RR_ABI_VERSION` of the header it was built
/// with. A caller compares the two to detect a mismatched library.
#[no_mangle]
pub extern "C" fn rr_abi_version() -> u32 {
    RR_ABI_VERSION
}

/// The crate version, e.g. "0.1.0". Static: valid for the life of the process.
#[no_mangle]
pub extern "C" fn rr_version() -> rr_str {
    rr_str::from_static_nul(concat!(env!("CARGO_PKG_VERSION"), "\0"))
}

/// The message of the last failing call on this OS thread (empty if none). Owned by the
/// library; valid until the next failing call on this thread. Copy it to keep it.
#[no_mangle]
pub extern "C" fn rr_last_error() -> rr_str {
    ffi_guard!("rr_last_error", rr_str::EMPTY, last_error())
}

/// Frees a string returned by the library as `char *` (the JSON functions). NULL is a no-op.
/// Freeing a string twice, or one not from this library, is undefined behaviour.
#[no_mangle]
pub extern "C" fn rr_string_free(s: *mut c_char) {
    ffi_guard!("rr_string_free", (), {
        if !s.is_null() {
            // SAFETY: the library made `s` with CString::into_raw; the caller frees it once.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// How many routes exist in this process (alive anywhere: in a registry, held by a caller or a
/// context). For leak checks in tests.
#[no_mangle]
pub extern "C" fn rr_live_routes() -> usize {
    ffi_guard!("rr_live_routes", 0, crate::route::live_routes())
}

/// Turns an owned Rust string into a `char *` for C (freed with `rr_string_free`).
/// The library's JSON never contains a NUL byte (it is escaped), so this cannot fail; a NUL
/// would be a bug and yields NULL.
pub(crate) fn string_into_raw(s: String) -> *mut c_char {
    CString::new(s).map_or(std::ptr::null_mut(), CString::into_raw)
}
