package routes

import (
	"context"
	"net/http"
)

type routeContextKey struct{}

// routeContext carries a route on a request's context, as GoDoxy's RouteContext does. The
// upstream strings are read from the route's Go-side identity: no cgo call.
type routeContext struct {
	context.Context
	route any // the *Route[T]
	info  *info
}

func (c *routeContext) Value(key any) any {
	if key == (routeContextKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// WithRouteContext attaches route to the request: r.WithContext with a context carrying the
// route (a shallow copy of the request, as GoDoxy does; nothing of the request is cloned).
// The context holds the *Route, so the route stays valid for the request's lifetime even if
// it is deleted from its registry meanwhile.
func WithRouteContext[T any](r *http.Request, route *Route[T]) *http.Request {
	if r == nil {
		panic("routes: WithRouteContext: nil request")
	}
	if route == nil {
		return r
	}
	return r.WithContext(&routeContext{Context: r.Context(), route: route, info: &route.d.info})
}

func routeCtxOf(r *http.Request) *routeContext {
	if r == nil { // the TryGet* functions: a nil request carries no route
		return nil
	}
	ctx := r.Context()
	if rc, ok := ctx.(*routeContext); ok { // the usual case: ours is the outermost context
		return rc
	}
	rc, _ := ctx.Value(routeContextKey{}).(*routeContext)
	return rc
}

func infoOf(r *http.Request) *info {
	if rc := routeCtxOf(r); rc != nil {
		return rc.info
	}
	return nil
}

// TryGetRoute is the route attached to the request (nil when none, or when it is not a
// *Route[T]).
func TryGetRoute[T any](r *http.Request) *Route[T] {
	if rc := routeCtxOf(r); rc != nil {
		rt, _ := rc.route.(*Route[T])
		return rt
	}
	return nil
}

// TryGetUpstreamName is the attached route's name (alias); "" when none.
func TryGetUpstreamName(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.alias
	}
	return ""
}

// TryGetUpstreamScheme is the attached route's upstream scheme; "" when none.
func TryGetUpstreamScheme(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.scheme
	}
	return ""
}

// TryGetUpstreamHost is the attached route's upstream host (u.Hostname()); "" when none.
func TryGetUpstreamHost(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.host
	}
	return ""
}

// TryGetUpstreamPort is the attached route's upstream port (u.Port()); "" when none.
func TryGetUpstreamPort(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.port
	}
	return ""
}

// TryGetUpstreamHostPort is the attached route's upstream host:port (u.Host); "" when none.
func TryGetUpstreamHostPort(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.hostPort
	}
	return ""
}

// TryGetUpstreamAddr is the attached route's upstream address (u.Host); "" when none.
func TryGetUpstreamAddr(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.addr
	}
	return ""
}

// TryGetUpstreamURL is the attached route's upstream URL (u.String()); "" when none.
func TryGetUpstreamURL(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.url
	}
	return ""
}
