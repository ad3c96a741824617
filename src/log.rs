//! Logging: the core logs through the `log` facade; a forwarder sends those records to one
//! sink that the foreign runtime installs (through `rr_set_logger`). No sink: silent.
//!
//! The sink is called outside every lock of the library (it is cloned out of its slot first),
//! so it may call back into the library, even to replace itself.

use parking_lot::RwLock;
use std::sync::{Arc, Once};

pub use log::{Level, LevelFilter};

/// Where log records go: level and formatted message.
pub type LogSink = Arc<dyn Fn(Level, &str) + Send + Sync>;

static SINK: RwLock<Option<LogSink>> = RwLock::new(None);
static INSTALL: Once = Once::new();

struct Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.target()
            .starts_with(module_path!().split("::").next().unwrap_or(""))
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let sink = SINK.read().clone();
        if let Some(sink) = sink {
            let msg = record.args().to_string();
            sink(record.level(), &msg);
        }
    }

    fn flush(&self) {}
}

static FORWARDER: Forwarder = Forwarder;

/// Installs `sink` (None: logging off) for records up to `max`. If the process already has a
/// `log` logger of its own (a Rust host), records go there instead and `sink` is unused.
pub fn set_sink(max: LevelFilter, sink: Option<LogSink>) {
    INSTALL.call_once(|| {
        let _ = log::set_logger(&FORWARDER);
    });
    let level = if sink.is_some() {
        max
    } else {
        LevelFilter::Off
    };
    // Replace, then drop the old sink outside the lock.
    let _old = std::mem::replace(&mut *SINK.write(), sink);
    log::set_max_level(level);
}

/// The level for a C `rr_log_level` number: 0 off … 5 trace; above 5 means trace.
pub fn level_filter_from_u32(v: u32) -> LevelFilter {
    match v {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

/// The C `rr_log_level` number of a level.
pub fn level_to_u32(l: Level) -> u32 {
    l as u32
}
