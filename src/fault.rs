//! Fault injection (feature `fault-injection`, tests only): makes chosen exports panic, to
//! show that every export is a panic boundary and the library stays usable afterwards.

use parking_lot::RwLock;

static TARGET: RwLock<Option<String>> = RwLock::new(None);

/// Makes the export named `name` (or every export, for `"*"`) panic from now on; None: stop.
pub fn set_target(name: Option<&str>) {
    *TARGET.write() = name.map(str::to_string);
}

/// Panics if `name` is the current target.
pub fn hit(name: &str) {
    let target = TARGET.read();
    if let Some(t) = target.as_deref() {
        if t == "*" || t == name {
            drop(target);
            panic!("injected fault in {name}");
        }
    }
}
