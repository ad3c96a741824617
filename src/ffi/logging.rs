//! Installing the log callback.

use super::{ffi_guard, rr_log_level};
use crate::log::{level_filter_from_u32, level_to_u32, set_sink, LogSink};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Receives one log line: its level, the message (`len` bytes of UTF-8, not NUL-terminated,
/// valid only during the call) and the `user_data` given to `rr_set_logger`. Called on the
/// thread that logs, outside every lock of the library: it may call back into the library.
pub type rr_log_fn = Option<
    unsafe extern "C" fn(
        level: rr_log_level,
        msg: *const c_char,
        len: usize,
        user_data: *mut c_void,
    ),
>;

/// The C callback and its user data, sendable to any thread (the caller promises that).
struct CSink {
    f: unsafe extern "C" fn(rr_log_level, *const c_char, usize, *mut c_void),
    user_data: usize,
}

/// Installs `f` for log lines up to `max_level` (`RR_LOG_*`; above 5 means TRACE;
/// `RR_LOG_OFF` or NULL `f`: logging off). Process-wide; replaces the previous logger. Add,
/// remove, reload, replace and clear are logged at `RR_LOG_DEBUG`. `user_data` is passed back
/// as is; it must stay valid until the logger is replaced.
#[no_mangle]
pub extern "C" fn rr_set_logger(max_level: rr_log_level, f: rr_log_fn, user_data: *mut c_void) {
    ffi_guard!("rr_set_logger", (), {
        let sink = f.map(|f| {
            let c = CSink {
                f,
                user_data: user_data as usize,
            };
            Arc::new(move |level: log::Level, msg: &str| {
                // SAFETY: the caller registered a function of this signature; msg lives
                // for the call.
                unsafe {
                    (c.f)(
                        level_to_u32(level),
                        msg.as_ptr().cast(),
                        msg.len(),
                        c.user_data as *mut c_void,
                    )
                }
            }) as LogSink
        });
        set_sink(level_filter_from_u32(max_level), sink);
    })
}
