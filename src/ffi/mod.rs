//! FFI placeholder
