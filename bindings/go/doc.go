// Package routes is the route registry of a reverse proxy: the Go binding of route-registry,
// a Rust library with a C ABI. It mirrors GoDoxy's `routes` package, with a type parameter
// for the caller's own per-route value.
//
// A [Registry] holds three pools of routes: HTTP, stream and excluded. Routes are made with
// [NewRoute] from a [RouteConfig] (kind, alias, upstream URL, provider, priority, ...) and
// carry a value of the caller's type T, given back by [Route.Value] on every lookup:
//
//	reg := routes.NewRegistry[*backend]()
//	rt, err := routes.NewRoute(routes.RouteConfig{
//		Kind: routes.KindHTTP, Alias: "app", URL: "http://10.0.0.5:8080",
//	}, &backend{})
//	err = reg.Add(rt)               // errors.Is(err, routes.ErrKept): a higher-priority route stays
//	got, ok := reg.Get("app")       // the very *Route[*backend] that was added
//	req = routes.WithRouteContext(req, got)
//	routes.TryGetUpstreamHost(req)  // "10.0.0.5"
//
// Behaviour in brief (docs/BEHAVIOUR.md in the repository has the details):
//
//   - Keys are unique per pool. Adding a route whose key is taken replaces the live route
//     when its priority is greater than or equal to the live one's; otherwise the live route
//     stays and Add returns an error wrapping [ErrKept]. Deleting leaves a tombstone, so that a
//     route re-added soon after is a reload; [Registry.PurgeTombstones] drops them.
//   - Lookups ([Registry.Get], [Registry.GetHTTPRouteOrExact], the pools' Get) do not call into
//     C: they read a Go-side replica of the pools, kept current from the library's change
//     records (only the keys a change names are touched). [Registry.FindHTTPRoute] turns a
//     Host header into a route by the library's rules, cached per generation.
//   - Changes are observable: [Registry.Changes] gives the change records after a generation,
//     [Registry.Watch] streams them (with a resync marker when a consumer fell behind), and a
//     [Batch] commits many adds and deletes, or a whole provider's new set
//     ([Batch.ReplaceProvider]), as one change set that readers see whole or not at all.
//   - Health is recorded by the caller ([Route.SetHealth]); the registry aggregates it
//     ([Registry.HealthInfo], JSON equal to encoding/json's). Probing upstreams stays the
//     caller's job, as in GoDoxy.
//   - The request context functions ([WithRouteContext], [TryGetRoute], [TryGetUpstreamHost]
//     and the other TryGetUpstream* functions) never call into C.
//   - Library log lines reach log/slog through [SetLogHandler].
//
// Linking: by default the package links the static library of the source tree it is in
// (target/release/libroute_registry.a, built by `make lib`), so a module outside the
// checkout uses it with
//
//	require github.com/route-registry/routes v0.0.0
//	replace github.com/route-registry/routes => /path/to/route-registry/bindings/go
//
// and `go build` gives a self-contained binary. With `-tags rr_shared` it compiles against
// the installed header and links the installed libroute_registry.so through
// `pkg-config route_registry` (after `make install`; set PKG_CONFIG_PATH for a non-system
// prefix, and give the executable an rpath or LD_LIBRARY_PATH to find the library).
package routes
