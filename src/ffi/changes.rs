//! The change log, snapshots at one generation, and subscriptions.

use super::registry::rr_route_visitor;
use super::{
    borrowed_ptr, ffi_guard, null_arg, rr_registry, rr_route, rr_status, rr_str, try_ref_from_ptr,
    write_out,
};
use crate::changelog::Change;
use crate::error::{Error, Result, Status};
use crate::route::{Kind, Route};
use std::ffi::c_void;
use std::sync::Arc;

/// What a change record says happened (a plain integer).
pub type rr_change_op = u32;
/// A route was registered under a key that was absent (or whose tombstone had expired).
pub const RR_CHANGE_ADDED: rr_change_op = 0;
/// A route was registered under a key deleted less than 1 s before.
pub const RR_CHANGE_RELOADED: rr_change_op = 1;
/// A live route of lower or equal priority was replaced; `route` is the new one.
pub const RR_CHANGE_REPLACED: rr_change_op = 2;
/// A route was deleted; `route` is the route that was removed.
pub const RR_CHANGE_REMOVED: rr_change_op = 3;
/// A pool that held live routes was cleared: `key` empty, `route` NULL.
pub const RR_CHANGE_CLEARED: rr_change_op = 4;
/// The Proxmox inventory was replaced: `key` empty, `route` NULL, `kind` 0.
pub const RR_CHANGE_INVENTORY: rr_change_op = 5;

/// One change record, borrowed for the duration of a visitor call.
#[repr(C)]
pub struct rr_change {
    /// The generation of the change set the record belongs to.
    pub generation: u64,
    /// An `rr_change_op`.
    pub op: u32,
    /// The pool (an `rr_kind`).
    pub kind: u32,
    /// The key; borrowed, valid during the visitor call; empty for CLEARED and INVENTORY.
    pub key: rr_str,
    /// The route; borrowed, valid during the visitor call (retain it to keep it); NULL for
    /// CLEARED and INVENTORY.
    pub route: *const rr_route,
}

/// Called for each change record with the record (borrowed for the call) and the caller's
/// `user_data`; returns false to stop.
pub type rr_change_visitor =
    Option<unsafe extern "C" fn(c: *const rr_change, user_data: *mut c_void) -> bool>;

fn c_change(c: &Change) -> rr_change {
    let route = c.route.as_deref();
    rr_change {
        generation: c.generation,
        op: c.op as u32,
        kind: c.kind as u32,
        key: route
            .and_then(Route::frozen_identity)
            .map_or(rr_str::EMPTY, |i| rr_str::from_ctext(i.key())),
        route: c
            .route
            .as_ref()
            .map_or(std::ptr::null(), borrowed_ptr::<rr_route>),
    }
}

/// Visits the change records with a generation after `since`, oldest first, outside every lock
/// (`f` may call back into the library). Records of one change set share its generation and
/// come in the order applied. `*next` (if `next` is not NULL) is set to the generation to pass
/// next time: the last change set all of whose records `f` saw (a set cut short by `f`
/// returning false is given again), or the current generation when `f` saw every record.
/// `f` may be NULL (then nothing is visited, and `*next` is `since`, unless there is nothing
/// to visit).
///
/// `RR_STALE` when some records after `since` were already dropped from the log (bounded, see
/// `rr_set_change_log_capacity`): nothing is visited; take a snapshot (`rr_snapshot`) and
/// continue from its generation. `RR_INVALID_ARGUMENT` for a NULL registry or when `since` is
/// greater than the current generation. On any failure `*next` is left unchanged.
#[no_mangle]
pub extern "C" fn rr_changes_since(
    reg: *const rr_registry,
    since: u64,
    f: rr_change_visitor,
    user_data: *mut c_void,
    next: *mut u64,
) -> rr_status {
    ffi_guard!("rr_changes_since", Result<()>, {
        let changes = try_ref_from_ptr!(reg).changes_since(since)?;
        let (_, after) = match f {
            // SAFETY: the record and its route live in `changes` during the call.
            Some(f) => changes.visit(since, |c| unsafe { f(&c_change(c), user_data) }),
            None if changes.records.is_empty() => (0, changes.current),
            None => (0, since),
        };
        // SAFETY: NULL or writable, as documented.
        unsafe { write_out(next, after) };
        Ok(())
    })
}

/// Sets how many change records the registry's log keeps (at least 1; the default is 4096).
/// Change sets are kept or dropped whole: the oldest go first, and the newest set stays even
/// when it alone is larger. Shrinking drops old sets now. `RR_INVALID_ARGUMENT` for NULL or 0.
#[no_mangle]
pub extern "C" fn rr_set_change_log_capacity(reg: *mut rr_registry, records: usize) -> rr_status {
    ffi_guard!("rr_set_change_log_capacity", Result<()>, {
        try_ref_from_ptr!(reg).set_change_log_capacity(records)
    })
}

/// Visits the live routes of a pool (`which` 0, 1, 2: `RR_KIND_HTTP`, `_STREAM`, `_EXCLUDED`),
/// of the active pools (3: HTTP then STREAM) or of all three (4), as they were at one
/// generation, which is written to `*generation` (if not NULL): the records after it, from
/// `rr_changes_since`, are exactly the changes made since. `f` gets borrowed routes, runs
/// outside every lock and may call back into the library; it returns false to stop. Returns how
/// many times `f` was called. 0 (and `*generation` 0) for a NULL registry or a `which` above
/// 4 (with a message); with a NULL `f`, 0 and the generation.
#[no_mangle]
pub extern "C" fn rr_snapshot(
    reg: *const rr_registry,
    which: u32,
    f: rr_route_visitor,
    user_data: *mut c_void,
    generation: *mut u64,
) -> usize {
    ffi_guard!("rr_snapshot", Result<usize>, {
        // SAFETY: NULL or writable, as documented.
        unsafe { write_out(generation, 0) };
        let reg = try_ref_from_ptr!(reg);
        let kinds: &[Kind] = match which {
            0 => &[Kind::Http],
            1 => &[Kind::Stream],
            2 => &[Kind::Excluded],
            3 => &[Kind::Http, Kind::Stream],
            4 => &Kind::ALL,
            _ => {
                return Err(Error::invalid(format!(
                    "which {which} is not a pool (0..2), active (3) or all (4)"
                )))
            }
        };
        let (routes, at) = match f {
            Some(_) => reg.snapshot(kinds),
            None => (Vec::new(), reg.snapshot(&[]).1),
        };
        // SAFETY: NULL or writable, as documented.
        unsafe { write_out(generation, at) };
        let Some(f) = f else { return Ok(0) };
        let mut n = 0;
        for r in &routes {
            n += 1;
            // SAFETY: the route is kept alive by `routes` during the call.
            if !unsafe { f(borrowed_ptr::<rr_route>(r), user_data) } {
                break;
            }
        }
        Ok(n)
    })
}

/// Called after every committed change set with the registry's new generation and the
/// `user_data` given to `rr_subscribe`.
pub type rr_change_fn = Option<unsafe extern "C" fn(generation: u64, user_data: *mut c_void)>;

/// The caller's `user_data`, which the library only hands back.
struct UserData(*mut c_void);
// SAFETY: the library never dereferences it; the caller chose to use it from writer threads.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

/// Calls `f(generation, user_data)` after every committed change set of `reg`: on the thread of
/// the writer that committed, after the commit, outside every lock of the library, in commit
/// order. `f` is a wake-up, not the data: pull the records with `rr_changes_since`. It may call
/// back into the library (`rr_changes_since`, `rr_add`, `rr_unsubscribe`, even of itself); the
/// callbacks of a commit made from inside a callback run on the same thread right after the
/// outer callback returns. A slow callback delays the writer that committed (its `rr_add`,
/// `rr_del`, `rr_batch_commit`... returns after the callbacks) and the writers that commit
/// after it (callbacks run one commit at a time, in order). Returns a token for
/// `rr_unsubscribe`, or 0 for a NULL registry or `f` (with a message). `user_data` stays the
/// caller's; it must remain valid until `rr_unsubscribe` returns.
#[no_mangle]
pub extern "C" fn rr_subscribe(
    reg: *mut rr_registry,
    f: rr_change_fn,
    user_data: *mut c_void,
) -> u64 {
    ffi_guard!("rr_subscribe", Result<u64>, {
        let reg = try_ref_from_ptr!(reg);
        let f = f.ok_or_else(|| null_arg("callback"))?;
        let ud = UserData(user_data);
        Ok(reg.subscribe(Arc::new(move |g| {
            let ud = &ud;
            // SAFETY: the caller's callback, with the caller's user data.
            unsafe { f(g, ud.0) }
        })))
    })
}

/// Ends a subscription. Once it returns, the callback is not running and is never called
/// again — except when `rr_unsubscribe` is called from inside that very callback: then the
/// current call finishes normally and no other follows. `RR_NOT_FOUND` for an unknown (or
/// already ended) token; `RR_INVALID_ARGUMENT` for a NULL registry or token 0.
#[no_mangle]
pub extern "C" fn rr_unsubscribe(reg: *mut rr_registry, token: u64) -> rr_status {
    ffi_guard!("rr_unsubscribe", Result<()>, {
        let reg = try_ref_from_ptr!(reg);
        if token == 0 {
            return Err(Error::invalid("subscription token 0 is never issued"));
        }
        if reg.unsubscribe(token) {
            Ok(())
        } else {
            Err(Error::new(
                Status::NotFound,
                format!("no subscription with token {token}"),
            ))
        }
    })
}
