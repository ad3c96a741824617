//! Fault injection (feature `fault-injection`, tests only): makes chosen exports panic, to
//! show that every export is a panic boundary and the library stays usable afterwards.

use parking_lot::RwLock;

static TARGET: RwLock<Option<String>> = RwLock::new(None);

/// Makes the point named `name` panic from now on; None: stop. Points are the exports (by
/// their C name; `"*"` is every export) and places inside the core where a lock is held:
/// `pool.add`, `pool.del` (a shard's write lock), `pool.snapshot` (every shard's read lock),
/// `route.health`, `route.set_health` (a route's health lock).
pub fn set_target(name: Option<&str>) {
    *TARGET.write() = name.map(str::to_string);
}

/// Panics if `name` is the current target.
pub fn hit(name: &str) {
    let target = TARGET.read();
    if let Some(t) = target.as_deref() {
        if t == name || (t == "*" && name.starts_with("rr_")) {
            drop(target);
            panic!("injected fault in {name}");
        }
    }
}
