//! route-registry: the route registry of a reverse proxy (after GoDoxy's `routes` package),
//! as a Rust library with a C ABI.
//!
//! The core (every module but [`ffi`]) is safe Rust; `ffi` holds every `extern "C"` function
//! and is the only place with `unsafe`. It converts and checks arguments, calls the core, and
//! converts results; no registry logic lives there.

#![deny(unsafe_code)]
#![warn(missing_docs)]

/// A place where the `fault-injection` feature lets tests make the core panic (see
/// `fault.rs`); without the feature it is nothing.
macro_rules! fault_point {
    ($name:expr) => {
        #[cfg(feature = "fault-injection")]
        $crate::fault::hit($name);
    };
}

pub mod batch;
pub mod changelog;
pub mod clock;
mod commit;
pub mod context;
pub mod error;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod ffi;
pub mod health;
mod health_index;
pub mod host;
mod host_index;
mod lock;
pub mod log;
pub mod notify;
pub mod pool;
pub mod proxmox;
pub mod registry;
pub mod route;
pub mod text;
pub mod upstream;

pub use batch::Batch;
pub use changelog::{Change, ChangeOp};
pub use context::RouteContext;
pub use error::{Error, Result, Status};
pub use health::{Health, HealthFormat, HealthStatus};
pub use registry::{Added, Registry};
pub use route::{Kind, ProxmoxLink, Route};
pub use upstream::Upstream;
