//! The route record: identity fields (settable until the route is added, then frozen), the
//! health (mutable at any time), and the caller's opaque `user_data`.
//!
//! Stable strings: every string a route has ever held stays allocated until the route is
//! dropped. Setters move a replaced string to a retired list instead of freeing it, and freezing
//! moves the draft's strings (not copies) into the frozen identity. The C ABI relies on this to
//! hand out borrowed pointers that live as long as the caller's reference to the route.

use crate::error::{quote, Error, Result, Status};
use crate::health::{go_string, Health, HealthStatus, RenderedHealth};
use crate::text::CText;
use crate::upstream::Upstream;
use parking_lot::{Mutex, MutexGuard};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Longest alias, key, display name or provider, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Which pool a route goes to. The numbers are the C ABI's `rr_kind` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Kind {
    /// Reverse-proxied HTTP.
    Http = 0,
    /// TCP/UDP stream.
    Stream = 1,
    /// Known but not proxied.
    Excluded = 2,
}

impl Kind {
    /// All kinds, in the order the registry searches and iterates them.
    pub const ALL: [Kind; 3] = [Kind::Http, Kind::Stream, Kind::Excluded];

    /// The kind with number `v`, or an error naming it.
    pub fn from_u32(v: u32) -> Result<Self> {
        match v {
            0 => Ok(Kind::Http),
            1 => Ok(Kind::Stream),
            2 => Ok(Kind::Excluded),
            _ => Err(Error::invalid(format!(
                "route kind {v} is not one of 0 (http), 1 (stream), 2 (excluded)"
            ))),
        }
    }

    /// The pool's name in log lines (GoDoxy's pool names).
    pub fn pool_name(self) -> &'static str {
        match self {
            Kind::Http => "http_routes",
            Kind::Stream => "stream_routes",
            Kind::Excluded => "excluded_routes",
        }
    }

    /// 0, 1 or 2: the pool's index.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A route's link to a Proxmox node (vmid 0) or VM/container (vmid > 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxmoxLink {
    /// The node's name.
    pub node: CText,
    /// 0 for the node itself.
    pub vmid: i32,
    /// The VM's name from the inventory; empty for a node link or when unknown.
    pub vmname: CText,
}

/// Called once with the route's `user_data` when the route is finally dropped.
pub type Finalizer = Box<dyn FnOnce(u64) + Send + Sync>;

/// The identity of a route: everything but its health.
#[derive(Debug)]
pub struct Identity {
    kind: Kind,
    alias: CText,
    /// The alias rendered as a JSON string, once (the health JSON's keys).
    alias_json: Box<str>,
    /// The alias's first 16 bytes as a big-endian number (zero-padded): ordering these agrees
    /// with ordering the aliases bytewise whenever they differ, so sorts rarely read the text.
    alias_prefix: u128,
    key: Option<CText>,
    display_name: Option<CText>,
    provider: CText,
    upstream: Upstream,
    priority: i32,
    is_docker: bool,
    proxmox: Option<ProxmoxLink>,
    user_data: u64,
}

impl Identity {
    /// Which pool the route goes to.
    pub fn kind(&self) -> Kind {
        self.kind
    }
    /// The route's name (GoDoxy's `Name()`).
    pub fn alias(&self) -> &CText {
        &self.alias
    }
    /// The alias as Go's encoding/json writes it, quotes included.
    pub fn alias_json(&self) -> &str {
        &self.alias_json
    }
    /// The alias's first 16 bytes as a big-endian number (see the field's comment).
    pub fn alias_prefix(&self) -> u128 {
        self.alias_prefix
    }
    /// The route's key in its pool; the alias unless set.
    pub fn key(&self) -> &CText {
        self.key.as_ref().unwrap_or(&self.alias)
    }
    /// The name for log lines; the alias unless set.
    pub fn display_name(&self) -> &CText {
        self.display_name.as_ref().unwrap_or(&self.alias)
    }
    /// The provider's name; may be empty.
    pub fn provider(&self) -> &CText {
        &self.provider
    }
    /// The parsed upstream URL (all views empty for an EXCLUDED route without URL).
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }
    /// Replacement preference: a new route replaces a live one of lower or equal priority.
    pub fn priority(&self) -> i32 {
        self.priority
    }
    /// Whether the route comes from Docker (such routes are never linked to Proxmox).
    pub fn is_docker(&self) -> bool {
        self.is_docker
    }
    /// The Proxmox link, explicit or found when the route was added.
    pub fn proxmox(&self) -> Option<&ProxmoxLink> {
        self.proxmox.as_ref()
    }
    /// The Proxmox link, or `RR_NOT_FOUND` naming the route when it has none.
    pub fn proxmox_link(&self) -> Result<&ProxmoxLink> {
        self.proxmox.as_ref().ok_or_else(|| {
            crate::error::Error::not_found(format!(
                "route {} has no Proxmox link",
                crate::error::quote(self.alias())
            ))
        })
    }
    /// The caller's opaque value.
    pub fn user_data(&self) -> u64 {
        self.user_data
    }

    fn heap_bytes(&self) -> usize {
        let opt = |t: &Option<CText>| t.as_ref().map_or(0, CText::heap_bytes);
        self.alias.heap_bytes()
            + self.alias_json.len()
            + opt(&self.key)
            + opt(&self.display_name)
            + self.provider.heap_bytes()
            + self.upstream.heap_bytes()
            + self
                .proxmox
                .as_ref()
                .map_or(0, |p| p.node.heap_bytes() + p.vmname.heap_bytes())
    }
}

struct Draft {
    /// The identity while it can still change; `None` once moved into `Route::frozen`.
    /// Boxed so a frozen route does not carry the space of a second identity.
    ident: Option<Box<Identity>>,
    /// Strings replaced by setters, kept so borrowed pointers stay valid (see module docs).
    retired: Vec<CText>,
    finalizer: Option<Finalizer>,
}

static LIVE_ROUTES: AtomicUsize = AtomicUsize::new(0);

/// A route. Shared as `Arc<Route>`; identity setters take `&self` and fail with
/// [`Status::Frozen`] once the route has been added to a registry.
pub struct Route {
    frozen: OnceLock<Identity>,
    draft: Mutex<Draft>,
    health: Mutex<Option<RenderedHealth>>,
}

/// How many `Route` values exist in this process (for leak checks).
pub fn live_routes() -> usize {
    LIVE_ROUTES.load(Ordering::Relaxed)
}

/// Checks a name-like field: non-empty (unless `allow_empty`), at most 255 bytes.
pub(crate) fn check_name(what: &str, s: &str, allow_empty: bool) -> Result<()> {
    if s.is_empty() && !allow_empty {
        return Err(Error::invalid(format!("{what} must not be empty")));
    }
    if s.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "{what} {} is {} bytes long; the limit is {MAX_NAME_LEN}",
            quote(s),
            s.len()
        )));
    }
    // Every name is also handed out as a C string (`rr_str` is NUL-terminated): a NUL inside
    // would make C and the bindings see different values.
    if let Some(at) = s.find('\0') {
        return Err(Error::invalid(format!(
            "{what} {} contains a NUL byte (at offset {at})",
            quote(s)
        )));
    }
    Ok(())
}

impl Route {
    /// A new route of `kind` named `alias` with upstream `url` (empty only for EXCLUDED).
    /// Fails with `InvalidArgument` naming the bad value.
    pub fn new(kind: Kind, alias: &str, url: &str) -> Result<Route> {
        check_name("alias", alias, false)?;
        let upstream = match (kind, url.is_empty()) {
            (Kind::Excluded, true) => Upstream::empty(),
            (Kind::Excluded, false) => Upstream::parse(url)?,
            (_, true) => {
                return Err(Error::invalid(format!(
                    "route {}: the upstream URL must not be empty for {} routes",
                    quote(alias),
                    if kind == Kind::Http { "http" } else { "stream" }
                )))
            }
            (_, false) => Upstream::parse_for_proxy(url)?,
        };
        LIVE_ROUTES.fetch_add(1, Ordering::Relaxed);
        Ok(Route {
            frozen: OnceLock::new(),
            draft: Mutex::new(Draft {
                ident: Some(Box::new(Identity {
                    kind,
                    alias: CText::new(alias),
                    alias_prefix: {
                        let mut buf = [0u8; 16];
                        let n = alias.len().min(16);
                        buf[..n].copy_from_slice(&alias.as_bytes()[..n]);
                        u128::from_be_bytes(buf)
                    },
                    alias_json: go_string(alias.as_bytes()).into_boxed_str(),
                    key: None,
                    display_name: None,
                    provider: CText::empty(),
                    upstream,
                    priority: 0,
                    is_docker: false,
                    proxmox: None,
                    user_data: 0,
                })),
                retired: Vec::new(),
                finalizer: None,
            }),
            health: Mutex::new(None),
        })
    }

    /// Whether the route has been added to a registry (its identity can no longer change).
    pub fn is_frozen(&self) -> bool {
        self.frozen.get().is_some()
    }

    /// Runs `f` on the identity. Lock-free once the route is frozen.
    pub fn with_identity<R>(&self, f: impl FnOnce(&Identity) -> R) -> R {
        if let Some(ident) = self.frozen.get() {
            return f(ident);
        }
        let draft = self.draft.lock();
        match (&draft.ident, self.frozen.get()) {
            (Some(ident), _) => f(ident),
            (None, Some(ident)) => f(ident),
            (None, None) => unreachable!("a draft is only emptied by freezing"),
        }
    }

    /// The frozen identity, if the route was added (the fast path for hot accessors).
    pub fn frozen_identity(&self) -> Option<&Identity> {
        self.frozen.get()
    }

    /// The kind (never changes).
    pub fn kind(&self) -> Kind {
        self.with_identity(Identity::kind)
    }
    /// The alias (a copy; use `with_identity` to borrow).
    pub fn alias(&self) -> String {
        self.with_identity(|i| i.alias().to_string())
    }
    /// The key (a copy; use `with_identity` to borrow).
    pub fn key(&self) -> String {
        self.with_identity(|i| i.key().to_string())
    }
    /// The priority.
    pub fn priority(&self) -> i32 {
        self.with_identity(Identity::priority)
    }
    /// The caller's opaque value.
    pub fn user_data(&self) -> u64 {
        self.with_identity(Identity::user_data)
    }

    fn edit(&self, f: impl FnOnce(&mut Identity, &mut Vec<CText>) -> Result<()>) -> Result<()> {
        let mut draft = self.draft.lock();
        let Draft { ident, retired, .. } = &mut *draft;
        match ident {
            Some(ident) => f(ident, retired),
            None => Err(Error::new(
                Status::Frozen,
                format!(
                    "route {} was added to a registry; its identity can no longer change",
                    quote(self.frozen.get().map_or("", |i| i.alias()))
                ),
            )),
        }
    }

    fn replace_text(slot: &mut Option<CText>, value: &str, retired: &mut Vec<CText>) {
        let new = (!value.is_empty()).then(|| CText::new(value));
        if let Some(old) = std::mem::replace(slot, new) {
            retired.push(old);
        }
    }

    /// Sets the key; `""` resets it to the alias.
    pub fn set_key(&self, key: &str) -> Result<()> {
        check_name("key", key, true)?;
        self.edit(|i, r| {
            Self::replace_text(&mut i.key, key, r);
            Ok(())
        })
    }

    /// Sets the display name; `""` resets it to the alias.
    pub fn set_display_name(&self, name: &str) -> Result<()> {
        check_name("display name", name, true)?;
        self.edit(|i, r| {
            Self::replace_text(&mut i.display_name, name, r);
            Ok(())
        })
    }

    /// Sets the provider's name (may be empty).
    pub fn set_provider(&self, provider: &str) -> Result<()> {
        check_name("provider", provider, true)?;
        self.edit(|i, r| {
            r.push(std::mem::replace(&mut i.provider, CText::new(provider)));
            Ok(())
        })
    }

    /// Sets the priority.
    pub fn set_priority(&self, priority: i32) -> Result<()> {
        self.edit(|i, _| {
            i.priority = priority;
            Ok(())
        })
    }

    /// Marks the route as coming from Docker.
    pub fn set_docker(&self, is_docker: bool) -> Result<()> {
        self.edit(|i, _| {
            i.is_docker = is_docker;
            Ok(())
        })
    }

    /// Links the route explicitly to Proxmox node `node` (vmid 0) or to VM `vmid` on it.
    pub fn set_proxmox(&self, node: &str, vmid: i32) -> Result<()> {
        check_name("proxmox node", node, false)?;
        if vmid < 0 {
            return Err(Error::invalid(format!(
                "proxmox vmid {vmid} is negative (0 links the node itself)"
            )));
        }
        self.edit(|i, r| {
            let link = ProxmoxLink {
                node: CText::new(node),
                vmid,
                vmname: CText::empty(),
            };
            if let Some(old) = i.proxmox.replace(link) {
                r.push(old.node);
                r.push(old.vmname);
            }
            Ok(())
        })
    }

    /// Sets the caller's opaque value.
    pub fn set_user_data(&self, user_data: u64) -> Result<()> {
        self.edit(|i, _| {
            i.user_data = user_data;
            Ok(())
        })
    }

    /// Sets what runs once, with `user_data`, when the route is dropped (e.g. to delete a Go
    /// `cgo.Handle`). Replaces an earlier finalizer, which then never runs.
    pub fn set_finalizer(&self, finalizer: Option<Finalizer>) -> Result<()> {
        let mut draft = self.draft.lock();
        if draft.ident.is_none() {
            return Err(Error::new(
                Status::Frozen,
                "the route was added to a registry; its finalizer can no longer change",
            ));
        }
        draft.finalizer = finalizer;
        Ok(())
    }

    /// Starts registering the route: holds its identity against setters until dropped.
    pub(crate) fn begin_registration(&self) -> Registration<'_> {
        let draft = if self.is_frozen() {
            None
        } else {
            let guard = self.draft.lock();
            // A racing registration may have frozen it while we waited.
            guard.ident.is_some().then_some(guard)
        };
        Registration { route: self, draft }
    }

    /// Records health. Any thread, any time. Its JSON is rendered here, outside the lock.
    pub fn set_health(
        &self,
        status: HealthStatus,
        uptime: Duration,
        latency: Duration,
        detail: &[u8],
    ) {
        let health = Health {
            status,
            uptime,
            latency,
            detail: Box::from(detail),
        };
        // Rendered with the alias, as the health JSON's entry (the alias never changes).
        let health = self.with_identity(|i| RenderedHealth::with_key(i.alias_json(), health));
        // Drop the old record after releasing the lock.
        let _old = {
            let mut slot = self.health.lock();
            fault_point!("route.set_health");
            slot.replace(health)
        };
    }

    /// The health status (`Unknown` when never set).
    pub fn health_status(&self) -> HealthStatus {
        self.with_rendered_health(|h| h.health().status)
    }

    /// A copy of the health; `Health::never_set()` when never set.
    pub fn health(&self) -> Health {
        self.with_health(Health::clone)
    }

    /// Runs `f` on the health record (or on `never_set` values) without copying it.
    pub fn with_health<R>(&self, f: impl FnOnce(&Health) -> R) -> R {
        self.with_rendered_health(|h| f(h.health()))
    }

    /// Runs `f` on the health record with its rendered JSON.
    pub fn with_rendered_health<R>(&self, f: impl FnOnce(&RenderedHealth) -> R) -> R {
        let guard = self.health.lock();
        fault_point!("route.health");
        f(guard.as_ref().unwrap_or(RenderedHealth::never_set()))
    }

    /// Reads the route's own cache lines and one byte of each heap buffer of its frozen
    /// identity, and returns a value folded from them (give it to `std::hint::black_box`).
    /// Takes no lock and writes nothing.
    ///
    /// Why: the change log lets go of a removed route thousands of commits after it was last
    /// touched, so dropping it misses the cache once per buffer, each miss inside `free`, one
    /// after the other. Calling this first on the routes about to be dropped issues those
    /// loads together, independent of one another, so the misses overlap and the drop that
    /// follows finds its memory in the cache.
    pub(crate) fn warm_for_drop(&self) -> usize {
        // Plain loads of the lock words (the lines of the draft and health fields).
        let locks = usize::from(self.draft.is_locked()) ^ usize::from(self.health.is_locked());
        let Some(i) = self.frozen.get() else {
            return locks;
        };
        let opt = |t: &Option<CText>| t.as_ref().map_or(0, |t| usize::from(t.first_byte()));
        let alias_json = i.alias_json.as_bytes().first().copied().unwrap_or(0);
        [
            locks,
            usize::from(i.alias.first_byte()),
            usize::from(alias_json),
            opt(&i.key),
            opt(&i.display_name),
            usize::from(i.provider.first_byte()),
            i.upstream.first_bytes(),
            i.proxmox.as_ref().map_or(0, |p| {
                usize::from(p.node.first_byte()) ^ usize::from(p.vmname.first_byte())
            }),
        ]
        .into_iter()
        .fold(0, usize::wrapping_add)
    }

    /// Heap bytes owned by the route's strings and health detail (not the struct itself).
    pub fn heap_bytes(&self) -> usize {
        let ident = self.with_identity(Identity::heap_bytes);
        let draft = self.draft.lock();
        let retired: usize = draft.retired.iter().map(CText::heap_bytes).sum();
        let health = self
            .health
            .lock()
            .as_ref()
            .map_or(0, RenderedHealth::heap_bytes);
        ident + retired + health
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        LIVE_ROUTES.fetch_sub(1, Ordering::Relaxed);
        let draft = self.draft.get_mut();
        if let Some(fin) = draft.finalizer.take() {
            let user_data = self
                .frozen
                .get()
                .or(draft.ident.as_deref())
                .map_or(0, Identity::user_data);
            fin(user_data);
        }
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_identity(|i| {
            f.debug_struct("Route")
                .field("kind", &i.kind)
                .field("alias", &i.alias)
                .field("key", i.key())
                .field("frozen", &self.is_frozen())
                .finish()
        })
    }
}

/// A route being added: the identity is held against setters; `freeze` makes it final.
pub(crate) struct Registration<'a> {
    route: &'a Route,
    draft: Option<MutexGuard<'a, Draft>>,
}

impl Registration<'_> {
    /// The identity the route has (frozen) or will have (draft).
    pub fn identity(&self) -> &Identity {
        match &self.draft {
            Some(d) => d.ident.as_ref().expect("draft present while registering"),
            None => self.route.frozen.get().expect("frozen route"),
        }
    }

    /// Whether the route is already frozen (then `freeze` does nothing).
    pub fn is_frozen(&self) -> bool {
        self.draft.is_none()
    }

    /// Freezes the identity, setting the Proxmox link found for it. Moves the strings, so
    /// pointers handed out before stay valid.
    pub fn freeze(&mut self, link: Option<ProxmoxLink>) {
        let Some(draft) = self.draft.as_mut() else {
            return;
        };
        let Some(mut ident) = draft.ident.take() else {
            return;
        };
        if let Some(link) = link {
            if let Some(old) = ident.proxmox.replace(link) {
                draft.retired.push(old.node);
                draft.retired.push(old.vmname);
            }
        }
        if let Err(ident) = self.route.frozen.set(*ident) {
            // Unreachable: freezing needs the draft lock we hold. Keep the strings alive anyway.
            draft.ident = Some(Box::new(ident));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_display_name_default_to_alias_and_reset_with_empty() {
        let r = Route::new(Kind::Http, "app", "http://10.0.0.1:80").unwrap();
        r.set_key("p:app").unwrap();
        r.set_display_name("App").unwrap();
        r.with_identity(|i| {
            assert_eq!(i.key().as_str(), "p:app");
            assert_eq!(i.display_name().as_str(), "App");
        });
        r.set_key("").unwrap();
        r.set_display_name("").unwrap();
        r.with_identity(|i| {
            assert_eq!(i.key().as_str(), "app");
            assert_eq!(i.display_name().as_str(), "app");
        });
    }

    #[test]
    fn names_with_a_nul_byte_are_invalid() {
        let e = Route::new(Kind::Http, "a\0b", "http://h:1").unwrap_err();
        assert_eq!(e.status(), crate::Status::InvalidArgument);
        assert!(e.message().contains("alias"), "{}", e.message());
        let r = Route::new(Kind::Http, "a", "http://h:1").unwrap();
        for (what, res) in [
            ("key", r.set_key("k\0")),
            ("display name", r.set_display_name("\0")),
            ("provider", r.set_provider("p\0x")),
            ("proxmox node", r.set_proxmox("pve\0", 1)),
        ] {
            let e = res.unwrap_err();
            assert_eq!(e.status(), crate::Status::InvalidArgument);
            assert!(e.message().starts_with(what), "{}", e.message());
        }
    }

    #[test]
    fn alias_must_be_non_empty_and_at_most_255_bytes() {
        assert!(Route::new(Kind::Http, "", "http://a:1").is_err());
        let long = "a".repeat(256);
        let e = Route::new(Kind::Http, &long, "http://a:1").unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(e.message().contains("256 bytes"));
        assert!(Route::new(Kind::Http, &"a".repeat(255), "http://a:1").is_ok());
    }

    #[test]
    fn url_may_be_empty_only_for_excluded_routes() {
        assert!(Route::new(Kind::Excluded, "x", "").is_ok());
        let e = Route::new(Kind::Http, "x", "").unwrap_err();
        assert!(e.message().contains("\"x\""));
        assert!(Route::new(Kind::Stream, "x", "").is_err());
    }

    #[test]
    fn replaced_strings_stay_allocated_until_drop() {
        let r = Route::new(Kind::Http, "app", "http://a:1").unwrap();
        let p1 = r.with_identity(|i| i.provider().as_c_ptr());
        r.set_provider("docker").unwrap();
        r.set_provider("file").unwrap();
        let p2 = r.with_identity(|i| i.provider().as_c_ptr());
        assert_ne!(p1, p2);
        let draft = r.draft.lock();
        assert!(draft.retired.iter().any(|t| t.as_c_ptr() == p1));
    }

    #[test]
    fn freezing_moves_strings_without_copying() {
        let r = Route::new(Kind::Http, "app", "http://a:1").unwrap();
        let before = r.with_identity(|i| i.alias().as_c_ptr());
        let mut reg = r.begin_registration();
        reg.freeze(None);
        drop(reg);
        assert!(r.is_frozen());
        assert_eq!(r.frozen_identity().unwrap().alias().as_c_ptr(), before);
        assert_eq!(r.set_priority(3).unwrap_err().status(), Status::Frozen);
        assert_eq!(r.set_key("k").unwrap_err().status(), Status::Frozen);
    }

    #[test]
    fn finalizer_runs_once_with_user_data_on_drop() {
        use std::sync::atomic::AtomicU64;
        use std::sync::Arc;
        let seen = Arc::new(AtomicU64::new(0));
        let r = Route::new(Kind::Http, "app", "http://a:1").unwrap();
        r.set_user_data(42).unwrap();
        let s = seen.clone();
        r.set_finalizer(Some(Box::new(move |ud| {
            s.fetch_add(ud, Ordering::SeqCst);
        })))
        .unwrap();
        drop(r);
        assert_eq!(seen.load(Ordering::SeqCst), 42);
    }

    #[test]
    fn health_defaults_to_unknown_with_detail_na() {
        let r = Route::new(Kind::Http, "app", "http://a:1").unwrap();
        assert_eq!(r.health_status(), HealthStatus::Unknown);
        assert_eq!(&*r.health().detail, b"n/a");
        r.set_health(
            HealthStatus::Healthy,
            Duration::from_secs(1),
            Duration::ZERO,
            b"ok",
        );
        assert_eq!(r.health_status(), HealthStatus::Healthy);
        assert_eq!(&*r.health().detail, b"ok");
    }

    #[test]
    fn proxmox_link_needs_node_and_non_negative_vmid() {
        let r = Route::new(Kind::Http, "app", "http://a:1").unwrap();
        assert!(r.set_proxmox("", 1).is_err());
        assert!(r.set_proxmox("pve", -1).is_err());
        r.set_proxmox("pve", 0).unwrap();
        r.with_identity(|i| assert_eq!(i.proxmox().unwrap().node.as_str(), "pve"));
    }
}
