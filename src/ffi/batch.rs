//! Batches: adds and deletes committed as one change set.

use super::{
    box_into_raw, ffi_guard, free_box, rr_kind, rr_registry, rr_route, rr_status, str_arg,
    try_clone_arc, try_ref_from_ptr, write_out,
};
use crate::batch::Batch;
use crate::error::Result;
use crate::route::Kind;
use std::ffi::c_char;

/// A batch of adds and deletes. Opaque; `rr_batch_new` / `rr_batch_free`.
pub struct rr_batch {
    _private: [u8; 0],
}

/// A new, empty batch, owned by the caller: free it with `rr_batch_free` (committed or not).
/// NULL only if a panic was caught.
#[no_mangle]
pub extern "C" fn rr_batch_new() -> *mut rr_batch {
    ffi_guard!("rr_batch_new", *mut rr_batch, {
        box_into_raw(Box::new(Batch::new()))
    })
}

/// Puts "add `r`" in the batch; the batch holds its own reference to `r` (the caller keeps
/// its own). At commit the route is added by the rules of `rr_add` (in batch order), and frozen
/// and linked if it is registered; its identity is read then. `RR_INVALID_ARGUMENT` for a NULL
/// batch or route, or a batch already committed; the batch is then unchanged and usable.
#[no_mangle]
pub extern "C" fn rr_batch_add(b: *mut rr_batch, r: *mut rr_route) -> rr_status {
    ffi_guard!("rr_batch_add", Result<()>, {
        let b = try_ref_from_ptr!(b);
        b.add(try_clone_arc!(r))
    })
}

/// Puts "delete the live route with `key` from `kind`'s pool" in the batch (at commit; nothing
/// if there is none then). `RR_INVALID_ARGUMENT` for a NULL batch, a bad kind, a NULL `key`
/// with a length, a key that is not UTF-8, empty, over 255 bytes or holds a NUL byte, or a
/// batch already committed; the batch is then unchanged and usable.
#[no_mangle]
pub extern "C" fn rr_batch_del_key(
    b: *mut rr_batch,
    kind: rr_kind,
    key: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_batch_del_key", Result<()>, {
        let b = try_ref_from_ptr!(b);
        // SAFETY: the caller passes a readable (key, len) pair.
        let key = unsafe { str_arg("key", key, len)? };
        b.del_key(Kind::from_u32(kind)?, key)
    })
}

/// Marks the batch as the complete new set of `provider`'s routes: at commit, before the
/// batch's entries, every live route of that provider (in any pool) that the batch does not add
/// under the same (pool, key) is removed; one that it does add there is replaced by the first
/// such add whatever the priorities (adding the same route object again keeps it unchanged).
/// Readers see the old set or the new one, never a mix.
/// May be called for several providers. `RR_INVALID_ARGUMENT` for a NULL batch, a provider
/// that is not UTF-8, over 255 bytes or holds a NUL byte, or a batch already committed.
#[no_mangle]
pub extern "C" fn rr_batch_replace_provider(
    b: *mut rr_batch,
    provider: *const c_char,
    len: usize,
) -> rr_status {
    ffi_guard!("rr_batch_replace_provider", Result<()>, {
        let b = try_ref_from_ptr!(b);
        // SAFETY: the caller passes a readable (provider, len) pair.
        let provider = unsafe { str_arg("provider", provider, len)? };
        b.replace_provider(provider)
    })
}

/// Commits the batch to `reg` as one change set under one generation: first the removals of
/// `rr_batch_replace_provider`, then the entries in order (priority and reload rules as for
/// `rr_add`; a route kept out gives no record). It cannot fail half-way. `*generation` (if not
/// NULL) is the registry's generation after the commit (unchanged when the batch changed
/// nothing). The batch is spent: free it with `rr_batch_free`. `RR_INVALID_ARGUMENT` for a
/// NULL registry or batch, or a batch already committed (nothing changes; `*generation` is
/// left alone).
#[no_mangle]
pub extern "C" fn rr_batch_commit(
    reg: *mut rr_registry,
    b: *mut rr_batch,
    generation: *mut u64,
) -> rr_status {
    ffi_guard!("rr_batch_commit", Result<()>, {
        let reg = try_ref_from_ptr!(reg);
        let b = try_ref_from_ptr!(b);
        let g = reg.commit_batch(b)?;
        // SAFETY: NULL or writable, as documented.
        unsafe { write_out(generation, g) };
        Ok(())
    })
}

/// Frees a batch, committed or not (an uncommitted batch changes nothing), releasing its
/// references to routes. NULL is a no-op. The handle is invalid afterwards.
#[no_mangle]
pub extern "C" fn rr_batch_free(b: *mut rr_batch) {
    ffi_guard!("rr_batch_free", (), {
        // SAFETY: `b` is NULL or came from rr_batch_new, and the caller frees it once.
        unsafe { free_box(b) }
    })
}
