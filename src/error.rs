//! The error type of the core: a status (the C ABI's `rr_status` numbers) and a message that
//! names the bad value.

use std::fmt;

/// Why an operation failed. The numbers are the C ABI's `rr_status` values and never change;
/// a retired value is never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Status {
    /// Success (not used inside [`Error`]; here so the table is complete).
    Ok = 0,
    /// Nothing has that key, or a route has no Proxmox link.
    NotFound = 1,
    /// A bad argument: NULL handle, invalid UTF-8, bad URL, out-of-range enum, bad JSON.
    InvalidArgument = 2,
    /// An existing route of higher priority stays; the new one was not registered.
    Kept = 3,
    /// An identity setter was called on a route that was already added to a registry.
    Frozen = 4,
    /// Change records after the generation asked for were dropped from the change log: take a
    /// snapshot and continue from its generation.
    Stale = 5,
    /// A panic inside the library was caught at the boundary.
    Panic = 255,
}

/// An error with its status and a message that names the bad value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    /// A new error.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
        }
    }

    /// `RR_INVALID_ARGUMENT` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(Status::InvalidArgument, message)
    }

    /// `RR_NOT_FOUND` with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(Status::NotFound, message)
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of the core.
pub type Result<T> = std::result::Result<T, Error>;

/// A short, printable rendering of a value for an error message: quoted, escaped, and cut
/// after 64 characters so that hostile input cannot make messages huge.
pub fn quote(s: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}
