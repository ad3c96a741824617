package routes

// A nil pointer or a zero value of Registry, Pool, Route, Batch used as a receiver is a
// programming error: it panics with a message naming the type and its constructor, instead
// of a raw nil dereference deep in the package. These checks replace the nil checks the
// compiler inserts anyway (no extra work on the lookup path); the panics are out of line.

// panicUnmade panics for a receiver of type typ that its constructor ctor did not make.
//
//go:noinline
func panicUnmade(typ, ctor string) {
	panic("routes: " + typ + " used without " + ctor + " (a nil *" + typ + " or a zero " + typ + ")")
}

// made panics unless r was made by NewRegistry or Global.
func (r *Registry[T]) made() {
	if r == nil || r.done == nil { // (newRegistry makes done; nreg is read only in the helpers)
		panicUnmade("Registry", "NewRegistry")
	}
}

// registry is the pool's registry; it panics unless p is one of a registry's pools.
func (p *Pool[T]) registry() *Registry[T] {
	if p == nil || p.reg == nil {
		panicUnmade("Pool", "NewRegistry (use reg.HTTP, reg.Stream or reg.Excluded)")
	}
	return p.reg
}

// data is the route's Go side; it panics unless rt was made by NewRoute or a lookup.
func (rt *Route[T]) data() *routeData[T] {
	if rt == nil || rt.d == nil {
		panicUnmade("Route", "NewRoute")
	}
	return rt.d
}
