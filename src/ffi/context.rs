//! Route contexts: a request-scoped value carrying one route.

use super::{
    arc_into_raw, clone_arc, ffi_guard, free_arc, rr_ctx, rr_route, rr_str, try_ref_from_ptr,
};
use crate::context::RouteContext;
use crate::route::{Identity, Route};
use crate::text::CText;
use std::sync::Arc;

/// Makes a context carrying `r` (or, when `r` is NULL, its parent's route), chained to `parent`
/// (nullable). The child holds its own references to `r` and `parent`, so the caller may
/// release those. Owned by the caller: free with `rr_ctx_free`. Never NULL (except if a panic
/// was caught). O(1): copies nothing but two pointers.
#[no_mangle]
pub extern "C" fn rr_with_route_context(parent: *const rr_ctx, r: *const rr_route) -> *mut rr_ctx {
    ffi_guard!("rr_with_route_context", *mut rr_ctx, {
        // SAFETY: both handles are NULL (allowed here) or live.
        let (parent, route) = unsafe { (clone_arc(parent), clone_arc(r)) };
        arc_into_raw(Arc::new(RouteContext::new(parent, route)))
    })
}

/// Frees a context (its route and parent are released when nothing else holds them). NULL is
/// a no-op.
#[no_mangle]
pub extern "C" fn rr_ctx_free(ctx: *mut rr_ctx) {
    ffi_guard!("rr_ctx_free", (), {
        // SAFETY: `ctx` is NULL or came from rr_with_route_context; the caller gives it up.
        unsafe { free_arc(ctx) }
    })
}

/// The route of `ctx` or its nearest ancestor that has one: a new reference (caller releases
/// it), or NULL when there is none (NULL `ctx` allowed).
#[no_mangle]
pub extern "C" fn rr_try_get_route(ctx: *const rr_ctx) -> *mut rr_route {
    ffi_guard!("rr_try_get_route", Option<Arc<Route>>, {
        try_ref_from_ptr!(ctx).route().map(Arc::clone)
    })
}

/// Reads a string field of the context's route (borrowed from it); empty without a route.
fn ctx_str(ctx: &RouteContext, field: impl FnOnce(&Identity) -> &CText) -> rr_str {
    ctx.route().map_or(rr_str::EMPTY, |r| {
        r.with_identity(|i| rr_str::from_ctext(field(i)))
    })
}

/// The upstream name: the route's alias.
///
/// Borrowed from the context's route: valid while the caller holds the context (or a
/// reference to the route). `{"", 0}` when there is no route (NULL `ctx` allowed).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_try_get_upstream_name(ctx: *const rr_ctx) -> rr_str {
    ffi_guard!("rr_try_get_upstream_name", rr_str, {
        ctx_str(try_ref_from_ptr!(ctx), |i| i.alias())
    })
}
/// The upstream scheme (Go: `u.Scheme`).
///
/// Borrowed from the context's route: valid while the caller holds the context (or a
/// reference to the route). `{"", 0}` when there is no route (NULL `ctx` allowed).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_try_get_upstream_scheme(ctx: *const rr_ctx) -> rr_str {
    ffi_guard!("rr_try_get_upstream_scheme", rr_str, {
        ctx_str(try_ref_from_ptr!(ctx), |i| i.upstream().scheme())
    })
}
/// The upstream host (Go: `u.Hostname()`).
///
/// Borrowed from the context's route: valid while the caller holds the context (or a
/// reference to the route). `{"", 0}` when there is no route (NULL `ctx` allowed).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_try_get_upstream_host(ctx: *const rr_ctx) -> rr_str {
    ffi_guard!("rr_try_get_upstream_host", rr_str, {
        ctx_str(try_ref_from_ptr!(ctx), |i| i.upstream().host())
    })
}
/// The upstream port (Go: `u.Port()`).
///
/// Borrowed from the context's route: valid while the caller holds the context (or a
/// reference to the route). `{"", 0}` when there is no route (NULL `ctx` allowed).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_try_get_upstream_port(ctx: *const rr_ctx) -> rr_str {
    ffi_guard!("rr_try_get_upstream_port", rr_str, {
        ctx_str(try_ref_from_ptr!(ctx), |i| i.upstream().port())
    })
}
/// The upstream host:port (Go: `u.Host`).
///
/// Borrowed from the context's route: valid while the caller holds the context (or a
/// reference to the route). `{"", 0}` when there is no route (NULL `ctx` allowed).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_try_get_upstream_host_port(ctx: *const rr_ctx) -> rr_str {
    ffi_guard!("rr_try_get_upstream_host_port", rr_str, {
        ctx_str(try_ref_from_ptr!(ctx), |i| i.upstream().host_port())
    })
}
/// The upstream address (Go: `u.Host`).
///
/// Borrowed from the context's route: valid while the caller holds the context (or a
/// reference to the route). `{"", 0}` when there is no route (NULL `ctx` allowed).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_try_get_upstream_addr(ctx: *const rr_ctx) -> rr_str {
    ffi_guard!("rr_try_get_upstream_addr", rr_str, {
        ctx_str(try_ref_from_ptr!(ctx), |i| i.upstream().host_port())
    })
}
/// The upstream URL (Go: `u.String()`).
///
/// Borrowed from the context's route: valid while the caller holds the context (or a
/// reference to the route). `{"", 0}` when there is no route (NULL `ctx` allowed).
/// Allocates nothing.
#[no_mangle]
pub extern "C" fn rr_try_get_upstream_url(ctx: *const rr_ctx) -> rr_str {
    ffi_guard!("rr_try_get_upstream_url", rr_str, {
        ctx_str(try_ref_from_ptr!(ctx), |i| i.upstream().url())
    })
}
