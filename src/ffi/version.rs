//! Version, errors and freeing returned strings.

use super::{ffi_guard, last_error, rr_str, AbiVersion, RR_ABI_VERSION};
use std::ffi::{c_char, CString};

/// The ABI version of the loaded library; equals `RR_ABI_VERSION` of the header it was built
/// with. A caller compares the two to detect a mismatched library.
#[no_mangle]
pub extern "C" fn rr_abi_version() -> u32 {
    ffi_guard!("rr_abi_version", AbiVersion, { AbiVersion(RR_ABI_VERSION) })
}

/// The crate version, e.g. "0.1.0". Static: valid for the life of the process.
#[no_mangle]
pub extern "C" fn rr_version() -> rr_str {
    ffi_guard!("rr_version", rr_str, {
        rr_str::from_static_nul(concat!(env!("CARGO_PKG_VERSION"), "\0"))
    })
}

/// The message of the last failing call on this OS thread (empty if none). Owned by the
/// library; valid until the next failing call on this thread. Copy it to keep it.
#[no_mangle]
pub extern "C" fn rr_last_error() -> rr_str {
    ffi_guard!("rr_last_error", rr_str, { last_error() })
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
    ffi_guard!("rr_live_routes", usize, { crate::route::live_routes() })
}

/// Turns a JSON text from the core into a `char *` for C (freed with `rr_string_free`)
/// without copying or scanning it: the core's JSON never holds a NUL byte (its string writer
/// escapes every control character, NUL as `\u0000`), and its writer keeps a spare byte of
/// capacity for the terminator. Debug builds (all the tests) check the first point.
pub(crate) fn json_into_raw(json: String) -> *mut c_char {
    let bytes = json.into_bytes();
    debug_assert!(!bytes.contains(&0), "JSON text with a NUL byte");
    // SAFETY: `bytes` holds no NUL byte (see above).
    unsafe { CString::from_vec_unchecked(bytes) }.into_raw()
}
