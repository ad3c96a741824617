//! The route context: a request-scoped value carrying one route, chained to an optional parent.

use crate::route::Route;
use std::sync::Arc;

/// A context that may carry a route; looking the route up finds the nearest one up the chain.
/// Attaching is O(1) and the lookup is O(1): the nearest route is resolved when the context is
/// made, since a context never changes after that.
#[derive(Debug, Default, Clone)]
pub struct RouteContext {
    parent: Option<Arc<RouteContext>>,
    route: Option<Arc<Route>>,
}

impl RouteContext {
    /// A child of `parent` carrying `route`; without `route`, it carries its parent's.
    pub fn new(parent: Option<Arc<RouteContext>>, route: Option<Arc<Route>>) -> Self {
        let route = route.or_else(|| parent.as_ref().and_then(|p| p.route.clone()));
        RouteContext { parent, route }
    }

    /// The route of this context or its nearest ancestor that has one.
    pub fn route(&self) -> Option<&Arc<Route>> {
        self.route.as_ref()
    }

    /// The parent context.
    pub fn parent(&self) -> Option<&Arc<RouteContext>> {
        self.parent.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Kind;

    #[test]
    fn child_without_route_sees_nearest_ancestor_route() {
        let r = Arc::new(Route::new(Kind::Http, "a", "http://h:1").unwrap());
        let root = Arc::new(RouteContext::new(None, Some(r.clone())));
        let mid = Arc::new(RouteContext::new(Some(root), None));
        let leaf = RouteContext::new(Some(mid), None);
        assert!(Arc::ptr_eq(leaf.route().unwrap(), &r));
    }

    #[test]
    fn child_route_shadows_parent_route() {
        let a = Arc::new(Route::new(Kind::Http, "a", "http://h:1").unwrap());
        let b = Arc::new(Route::new(Kind::Http, "b", "http://h:1").unwrap());
        let root = Arc::new(RouteContext::new(None, Some(a)));
        let child = RouteContext::new(Some(root.clone()), Some(b.clone()));
        assert!(Arc::ptr_eq(child.route().unwrap(), &b));
        assert_eq!(root.route().unwrap().alias(), "a");
    }

    #[test]
    fn empty_context_has_no_route() {
        assert!(RouteContext::new(None, None).route().is_none());
    }
}
