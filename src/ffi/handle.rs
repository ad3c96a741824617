//! How handles cross the boundary, and what an export returns when it cannot do its work.
//!
//! After rustls-ffi (`librustls/src/ffi.rs`, `panic.rs`), written for this library:
//! - [`Castable`] ties each opaque C type to the Rust value behind it and to how C owns it
//!   ([`OwnershipBox`]: one owner, freed once; [`OwnershipArc`]: reference-counted). The
//!   conversion functions are generic over it with an ownership bound, so cloning an `Arc`
//!   out of a boxed registry, or freeing a route as a `Box`, does not compile.
//! - [`try_ref_from_ptr!`] and [`try_clone_arc!`] turn a handle into a borrow or a new
//!   reference, and on NULL return early with [`NullParameterOrDefault`]'s value for the
//!   export's body type.
//! - [`ffi_guard!`] runs an export's body inside `catch_unwind`; the body's type implements
//!   [`PanicOrDefault`], which converts it to the C return type and gives the value of a
//!   caught panic.
//!
//! A new handle type (a batch, a watcher) implements `Castable` with its ownership marker and
//! gets every helper and macro for free.

use super::{fail, null_arg, rr_ctx, rr_registry, rr_route, rr_status, rr_str, RR_OK, RR_PANIC};
use crate::context::RouteContext;
use crate::error::Result;
use crate::health::HealthStatus;
use crate::registry::Registry;
use crate::route::{Kind, Route};
use std::ffi::c_char;
use std::sync::Arc;

/// Ownership marker: C holds the only owner (`Box::into_raw`) and gives it back once to free.
pub(crate) struct OwnershipBox;
/// Ownership marker: each C pointer is one strong count of an `Arc` (`Arc::into_raw`).
pub(crate) struct OwnershipArc;

/// An opaque C type standing for a `RustType` owned as `Ownership` says.
pub(crate) trait Castable {
    /// [`OwnershipBox`] or [`OwnershipArc`].
    type Ownership;
    /// The Rust value behind the pointer.
    type RustType;
    /// How error messages name a NULL handle of this type.
    const NAME: &'static str;

    /// Whether this value must never be freed through a handle although its ownership is
    /// `Box` (the global registry is a static handed out as an `rr_registry *`).
    fn never_freed(_: &Self::RustType) -> bool {
        false
    }
}

impl Castable for rr_route {
    type Ownership = OwnershipArc;
    type RustType = Route;
    const NAME: &'static str = "route";
}

impl Castable for rr_ctx {
    type Ownership = OwnershipArc;
    type RustType = RouteContext;
    const NAME: &'static str = "context";
}

impl Castable for super::batch::rr_batch {
    type Ownership = OwnershipBox;
    type RustType = crate::batch::Batch;
    const NAME: &'static str = "batch";
}

impl Castable for rr_registry {
    type Ownership = OwnershipBox;
    type RustType = Registry;
    const NAME: &'static str = "registry";

    fn never_freed(reg: &Registry) -> bool {
        std::ptr::eq(reg, Registry::global())
    }
}

/// Borrows the value behind a handle of any ownership; None for NULL.
///
/// # Safety
/// `p` is NULL or a live handle of type `C` from this library; the borrow must not outlive
/// the caller's hold on it.
pub(crate) unsafe fn try_from<'a, C: Castable>(p: *const C) -> Option<&'a C::RustType> {
    // SAFETY: a non-NULL handle points to a live `C::RustType` (Box, Arc or static).
    unsafe { p.cast::<C::RustType>().as_ref() }
}

/// A new strong reference to the value behind a reference-counted handle; None for NULL.
///
/// # Safety
/// As [`try_from`]; the caller holds a reference, so the count is above zero.
pub(crate) unsafe fn clone_arc<C>(p: *const C) -> Option<Arc<C::RustType>>
where
    C: Castable<Ownership = OwnershipArc>,
{
    if p.is_null() {
        return None;
    }
    let p = p.cast::<C::RustType>();
    // SAFETY: `p` came from Arc::into_raw and the caller holds a reference.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// Hands a strong reference to C.
pub(crate) fn arc_into_raw<C>(a: Arc<C::RustType>) -> *mut C
where
    C: Castable<Ownership = OwnershipArc>,
{
    Arc::into_raw(a).cast_mut().cast::<C>()
}

/// A borrowed handle for a value C does not own (a visitor's argument): valid while the
/// library keeps the value alive, never released by C.
pub(crate) fn borrowed_ptr<C>(r: &Arc<C::RustType>) -> *const C
where
    C: Castable<Ownership = OwnershipArc>,
{
    Arc::as_ptr(r).cast::<C>()
}

/// Gives back one strong reference held by C. NULL is a no-op.
///
/// # Safety
/// `p` is NULL or came from [`arc_into_raw`] (or a retain) and C gives up this reference.
pub(crate) unsafe fn free_arc<C>(p: *const C)
where
    C: Castable<Ownership = OwnershipArc>,
{
    if !p.is_null() {
        // SAFETY: forwarded contract.
        drop(unsafe { Arc::from_raw(p.cast::<C::RustType>()) });
    }
}

/// Hands a boxed value to C, its only owner.
pub(crate) fn box_into_raw<C>(b: Box<C::RustType>) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    Box::into_raw(b).cast::<C>()
}

/// Hands a process-wide value to C under a boxed handle type; [`free_box`] leaves it alone
/// because the type's [`Castable::never_freed`] recognises it.
pub(crate) fn static_into_raw<C>(r: &'static C::RustType) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    debug_assert!(
        C::never_freed(r),
        "a static handed out must be marked never_freed"
    );
    (r as *const C::RustType).cast_mut().cast::<C>()
}

/// Frees a boxed value given back by C. NULL and values marked never-freed are no-ops.
///
/// # Safety
/// `p` is NULL or came from [`box_into_raw`] / [`static_into_raw`], is freed once, and is
/// not in use by another thread.
pub(crate) unsafe fn free_box<C>(p: *mut C)
where
    C: Castable<Ownership = OwnershipBox>,
{
    // SAFETY: forwarded contract (NULL or live).
    match unsafe { try_from(p.cast_const()) } {
        Some(v) if !C::never_freed(v) => {
            // SAFETY: from Box::into_raw, freed once.
            drop(unsafe { Box::from_raw(p.cast::<C::RustType>()) });
        }
        _ => {}
    }
}

/// The type name for messages about a NULL handle (inferred from the pointer).
pub(crate) fn handle_name<C: Castable>(_: *const C) -> &'static str {
    C::NAME
}

/// Borrows the value behind a handle argument, or returns early (NULL) with
/// [`NullParameterOrDefault`]'s value of the export's body type.
macro_rules! try_ref_from_ptr {
    ($p:expr) => {{
        let p = $p;
        // SAFETY: handles passed by C are NULL or live, as the header documents.
        match unsafe { $crate::ffi::try_from(p) } {
            Some(v) => v,
            None => {
                return $crate::ffi::NullParameterOrDefault::null_parameter(
                    $crate::ffi::handle::handle_name(p),
                )
            }
        }
    }};
}
pub(crate) use try_ref_from_ptr;

/// A new reference to the value behind a reference-counted handle argument, or an early
/// return as [`try_ref_from_ptr!`].
macro_rules! try_clone_arc {
    ($p:expr) => {{
        let p = $p;
        // SAFETY: handles passed by C are NULL or live, as the header documents.
        match unsafe { $crate::ffi::clone_arc(p) } {
            Some(v) => v,
            None => {
                return $crate::ffi::NullParameterOrDefault::null_parameter(
                    $crate::ffi::handle::handle_name(p),
                )
            }
        }
    }};
}
pub(crate) use try_clone_arc;

/// Runs the body of export `$name` (of Rust type `$ty`) inside a panic boundary and converts
/// its value to the C return type with [`PanicOrDefault`]; a caught panic gives
/// [`PanicOrDefault::panic_value`] with a message naming the export. `return` in the body
/// returns a `$ty`.
macro_rules! ffi_guard {
    ($name:literal, $ty:ty, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| -> $ty {
            $crate::ffi::fault_point($name);
            $body
        })) {
            Ok(v) => <$ty as $crate::ffi::PanicOrDefault>::into_c(v),
            Err(payload) => {
                $crate::ffi::record_panic($name, &*payload);
                <$ty as $crate::ffi::PanicOrDefault>::panic_value()
            }
        }
    }};
}
pub(crate) use ffi_guard;

/// The Rust type an export's body produces: how it becomes the C return value, and what the
/// export returns when a panic was caught.
pub(crate) trait PanicOrDefault {
    /// The C return type.
    type C;
    /// Converts the body's value (recording the message of an error).
    fn into_c(self) -> Self::C;
    /// The value returned after a caught panic.
    fn panic_value() -> Self::C;
}

/// What an export's body returns early when a handle argument is NULL.
pub(crate) trait NullParameterOrDefault {
    /// `what` names the handle type ("route", "registry", ...).
    fn null_parameter(what: &'static str) -> Self;
}

/// Fallible functions: `RR_OK`, or the error's status with its message recorded.
impl PanicOrDefault for Result<()> {
    type C = rr_status;
    fn into_c(self) -> rr_status {
        match self {
            Ok(()) => RR_OK,
            Err(e) => fail(&e),
        }
    }
    fn panic_value() -> rr_status {
        RR_PANIC
    }
}

/// Lookups: a new reference, NULL when absent, NULL with a message on bad input.
impl PanicOrDefault for Result<Option<Arc<Route>>> {
    type C = *mut rr_route;
    fn into_c(self) -> *mut rr_route {
        match self {
            Ok(Some(r)) => arc_into_raw(r),
            Ok(None) => std::ptr::null_mut(),
            Err(e) => {
                fail(&e);
                std::ptr::null_mut()
            }
        }
    }
    fn panic_value() -> *mut rr_route {
        std::ptr::null_mut()
    }
}

/// A route that may be absent (no message): a new reference or NULL.
impl PanicOrDefault for Option<Arc<Route>> {
    type C = *mut rr_route;
    fn into_c(self) -> *mut rr_route {
        self.map_or(std::ptr::null_mut(), arc_into_raw)
    }
    fn panic_value() -> *mut rr_route {
        std::ptr::null_mut()
    }
}

/// JSON texts: a `char *` the caller frees, or NULL with a message.
impl PanicOrDefault for Result<String> {
    type C = *mut c_char;
    fn into_c(self) -> *mut c_char {
        match self {
            Ok(json) => super::version::json_into_raw(json),
            Err(e) => {
                fail(&e);
                std::ptr::null_mut()
            }
        }
    }
    fn panic_value() -> *mut c_char {
        std::ptr::null_mut()
    }
}

/// Counts that can fail on bad input (iteration with a bad kind): 0 with a message.
impl PanicOrDefault for Result<usize> {
    type C = usize;
    fn into_c(self) -> usize {
        self.unwrap_or_else(|e| {
            fail(&e);
            0
        })
    }
    fn panic_value() -> usize {
        0
    }
}

/// A route's kind: `UINT32_MAX` when there is none (NULL route, caught panic).
impl PanicOrDefault for Option<Kind> {
    type C = u32;
    fn into_c(self) -> u32 {
        self.map_or(u32::MAX, |k| k as u32)
    }
    fn panic_value() -> u32 {
        u32::MAX
    }
}

/// A health status: `RR_HEALTH_STATUS_UNKNOWN` after a caught panic.
impl PanicOrDefault for HealthStatus {
    type C = u32;
    fn into_c(self) -> u32 {
        self as u32
    }
    fn panic_value() -> u32 {
        HealthStatus::Unknown as u32
    }
}

/// The ABI version as a value of its own, so no plain `u32` body can fall back to 0 (which
/// is `RR_OK` as a status). 0 after a caught panic: never a real ABI version.
pub(crate) struct AbiVersion(pub u32);

impl PanicOrDefault for AbiVersion {
    type C = u32;
    fn into_c(self) -> u32 {
        self.0
    }
    fn panic_value() -> u32 {
        0
    }
}

/// Values returned as they are, with their empty value after a caught panic.
macro_rules! plain {
    ($($t:ty => $empty:expr),* $(,)?) => {$(
        impl PanicOrDefault for $t {
            type C = $t;
            fn into_c(self) -> $t {
                self
            }
            fn panic_value() -> $t {
                $empty
            }
        }
        impl NullParameterOrDefault for $t {
            fn null_parameter(_: &'static str) -> $t {
                $empty
            }
        }
    )*};
}
plain! {
    () => (),
    bool => false,
    usize => 0,
    u64 => 0,
    i32 => 0,
    rr_str => rr_str::EMPTY,
    *mut rr_registry => std::ptr::null_mut(),
    *mut rr_ctx => std::ptr::null_mut(),
    *mut rr_route => std::ptr::null_mut(),
    *mut super::batch::rr_batch => std::ptr::null_mut(),
    *const u64 => std::ptr::null(),
}

/// Tokens and generations that can fail on bad input: 0 with a message.
impl PanicOrDefault for Result<u64> {
    type C = u64;
    fn into_c(self) -> u64 {
        self.unwrap_or_else(|e| {
            fail(&e);
            0
        })
    }
    fn panic_value() -> u64 {
        0
    }
}

impl<T> NullParameterOrDefault for Result<T> {
    fn null_parameter(what: &'static str) -> Self {
        Err(null_arg(what))
    }
}

impl<T> NullParameterOrDefault for Option<T> {
    fn null_parameter(_: &'static str) -> Self {
        None
    }
}

impl NullParameterOrDefault for HealthStatus {
    fn null_parameter(_: &'static str) -> Self {
        HealthStatus::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn the_global_registry_is_never_freed_through_its_handle() {
        let g: *mut rr_registry = static_into_raw(Registry::global());
        // SAFETY: the global handle; free_box must leave it alone.
        unsafe { free_box(g) };
        // SAFETY: still the live static.
        let again = unsafe { try_from(g.cast_const()) }.expect("global");
        assert!(std::ptr::eq(again, Registry::global()));
        // SAFETY: NULL is a no-op.
        unsafe { free_box(std::ptr::null_mut::<rr_registry>()) };
    }

    #[test]
    fn arc_handles_count_references() {
        let route = Arc::new(Route::new(Kind::Http, "h", "http://10.0.0.1:80").unwrap());
        let p: *mut rr_route = arc_into_raw(Arc::clone(&route));
        assert_eq!(Arc::strong_count(&route), 2);
        // SAFETY: `p` holds a reference.
        let extra = unsafe { clone_arc(p.cast_const()) }.expect("non-NULL");
        assert_eq!(Arc::strong_count(&route), 3);
        assert!(std::ptr::eq(borrowed_ptr::<rr_route>(&extra), p));
        drop(extra);
        // SAFETY: gives back the reference `p` held.
        unsafe { free_arc(p.cast_const()) };
        assert_eq!(Arc::strong_count(&route), 1);
        // SAFETY: NULL is allowed.
        assert!(unsafe { clone_arc(std::ptr::null::<rr_route>()) }.is_none());
    }

    #[test]
    fn fallbacks_come_from_the_body_type() {
        assert_eq!(<Result<()>>::panic_value(), RR_PANIC);
        assert_eq!(<Result<()>>::null_parameter("route").into_c(), 2);
        assert!(<Result<Option<Arc<Route>>>>::panic_value().is_null());
        assert!(<Result<String>>::panic_value().is_null());
        assert_eq!(<Option<Kind>>::panic_value(), u32::MAX);
        assert_eq!(<Option<Kind>>::null_parameter("route").into_c(), u32::MAX);
        assert_eq!(HealthStatus::panic_value(), 0);
        assert_eq!(AbiVersion::panic_value(), 0);
        assert_eq!(<Result<usize>>::panic_value(), 0);
        assert_eq!(rr_str::panic_value().len, 0);
        assert!(!rr_str::null_parameter("route").ptr.is_null());
        let e = Error::not_found("x");
        assert_eq!(Err::<(), _>(e).into_c(), 1);
    }
}
