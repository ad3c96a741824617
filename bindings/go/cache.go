package routes

// #include "rr_go.h"
import "C"

import (
	"maps"
	"sync/atomic"
	"time"
	"unsafe"
)

// The registry's Go-side replica (see the package README, "Cache"): the key -> *Route maps of
// the three pools as they were at one generation of the library, kept current by pulling the
// library's change records. Lookups read it with no cgo call: an atomic load of the native
// generation counter, one of the replica pointer, and a probe of the Get table (table.go).

// Maps of a replica: one per pool (indexed by Kind), and the active view (HTTP, else STREAM:
// what Get answers).
const (
	mActive = 3
	numMaps = 4
)

// tables is a set of maps. The base maps of a view are never written once published.
type tables[T any] struct {
	m   [numMaps]map[string]*Route[T]
	act ktable // m[mActive] as a table; set (by finish) only on a base, before it is published
}

func newTables[T any]() *tables[T] {
	t := &tables[T]{}
	for i := range t.m {
		t.m[i] = map[string]*Route[T]{}
	}
	return t
}

// view is the replica at generation gen: base, overridden by over (the keys changed since
// base was built; a nil *Route there means "absent"). Both are immutable once the view is
// published: a change set makes a new view that shares base and copies the small overlay,
// and the overlay is folded into a new base once it grows past overlayLimit. Get reads the
// active map through tables (ktable, table.go): act is base's (built with the base), oact
// the overlay's (built with each view, with act's hash keys, so one hash serves both). So a
// lookup of a key a change did not name costs one probe of a small table more, and a change
// costs a copy of the overlay, not of the registry.
//
// The view also holds what is valid for its generation only: iteration snapshots and host
// answers (FindHTTPRoute), which any change may alter.
type view[T any] struct {
	gen   uint64
	act   ktable // base.m[mActive] as a table (base.act): what Get reads
	oact  ktable // over.m[mActive] as a table with act's keys (deleted keys: tombstone)
	base  *tables[T]
	over  *tables[T] // nil when no key changed since base
	size  int        // routes in base (for overlayLimit)
	nover int        // keys in over (summed over the maps)
	snaps [numSlots]atomic.Pointer[[]*Route[T]]
	hosts atomic.Pointer[hostTable[T]]
}

// find is the route with key in map m, or nil.
func (v *view[T]) find(m int, key string) *Route[T] {
	if m == mActive {
		return v.active(key)
	}
	if v.over != nil {
		if rt, ok := v.over.m[m][key]; ok {
			return rt
		}
	}
	return v.base.m[m][key]
}

// active is the route Get answers for key, or nil: the overlay's (if any key changed since
// the base was built), else the base's table.
func (v *view[T]) active(key string) *Route[T] {
	if v.over != nil {
		return (*Route[T])(v.act.findOver(&v.oact, key))
	}
	return (*Route[T])(v.act.find(key))
}

// overlayLimit is how many changed keys a view carries in its overlay before they are folded
// into a new base (a copy of the maps: O(routes), so spread over that many changes).
func overlayLimit(size int) int { return 64 + size/16 }

// foldAbove is the overlay size (entries over all maps) past which a background goroutine
// folds the overlay into a new base: up to it the overlay is a small map (at most 8 entries
// per map), which Go searches without hashing, so a lookup after a change costs about a hit.
const foldAbove = 8

// startFold folds the overlay in the background once it outgrows foldAbove (one goroutine at
// a time per registry; it ends when the overlay is small again, and pauses four times as long
// as each fold took, so a stream of changes does not keep a core busy copying maps).
func (r *Registry[T]) startFold(v *view[T]) {
	if v.nover <= foldAbove || !r.folding.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			v := r.view.Load()
			if v == nil || v.nover <= foldAbove {
				r.folding.Store(false)
				if v = r.view.Load(); v == nil || v.nover <= foldAbove || !r.folding.CompareAndSwap(false, true) {
					return
				}
			}
			start := time.Now()
			b := newBuilder(v)
			b.materialize() // O(routes), outside the lock: writers are not held up
			r.syncMu.Lock()
			if cur := r.view.Load(); cur != nil && cur.base == v.base && !r.closed.Load() {
				b.rebase(v, cur)
				nv := b.finish(cur.gen)
				for i := range nv.snaps {
					nv.snaps[i].Store(cur.snaps[i].Load())
				}
				nv.hosts.Store(cur.hosts.Load())
				r.view.Store(nv)
			}
			r.syncMu.Unlock()
			// Under a stream of changes, fold at most a fifth of the time: a fold copies
			// every route's map entries.
			time.Sleep(min(4*time.Since(start), 100*time.Millisecond))
		}
	}()
}

// builder makes the next view from a view and change records.
type builder[T any] struct {
	base    *tables[T]
	over    *tables[T] // private to the builder (copied on the first write)
	ownOver bool
	ownBase bool // base is a private copy: written directly, no overlay
	size    int
	nover   int
}

func newBuilder[T any](v *view[T]) *builder[T] {
	return &builder[T]{base: v.base, over: v.over, size: v.size, nover: v.nover}
}

func (b *builder[T]) get(m int, key string) *Route[T] {
	if b.over != nil {
		if rt, ok := b.over.m[m][key]; ok {
			return rt
		}
	}
	return b.base.m[m][key]
}

func (b *builder[T]) put(m int, key string, rt *Route[T]) {
	if b.ownBase {
		if rt == nil {
			delete(b.base.m[m], key)
		} else {
			b.base.m[m][key] = rt
		}
		return
	}
	if !b.ownOver {
		o := newTables[T]()
		if b.over != nil {
			for i := range o.m {
				o.m[i] = maps.Clone(b.over.m[i])
			}
		}
		b.over, b.ownOver = o, true
	}
	_, had := b.over.m[m][key]
	if _, inBase := b.base.m[m][key]; rt == nil && !inBase {
		if had {
			delete(b.over.m[m], key)
			b.nover--
		}
		return
	}
	if !had {
		b.nover++
	}
	b.over.m[m][key] = rt
}

// set records that key in kind's pool now holds rt (nil: nothing), and what Get answers.
func (b *builder[T]) set(kind Kind, key string, rt *Route[T]) {
	if kind > KindExcluded {
		return
	}
	b.put(int(kind), key, rt)
	if kind != KindExcluded {
		act := b.get(int(KindHTTP), key)
		if act == nil {
			act = b.get(int(KindStream), key)
		}
		b.put(mActive, key, act)
	}
}

// materialize folds the overlay into a private copy of the base.
func (b *builder[T]) materialize() {
	if b.ownBase {
		return
	}
	nb := &tables[T]{}
	for i := range nb.m {
		nb.m[i] = maps.Clone(b.base.m[i])
		if nb.m[i] == nil {
			nb.m[i] = map[string]*Route[T]{}
		}
		if b.over != nil {
			for k, rt := range b.over.m[i] {
				if rt == nil {
					delete(nb.m[i], k)
				} else {
					nb.m[i][k] = rt
				}
			}
		}
	}
	b.base, b.over, b.ownBase, b.ownOver, b.nover = nb, nil, true, false, 0
}

// rebase brings b, materialized from view v, to view cur, a later view with the same base.
// Both overlays name keys changed since that base, but not every such key: a key added to
// the overlay and later set back to its base value (a route added, then deleted) leaves it
// (put). So a key v's overlay names and cur's does not is back to its base value, and every
// key cur's overlay names takes cur's value.
func (b *builder[T]) rebase(v, cur *view[T]) {
	if v.over != nil {
		for i, m := range v.over.m {
			for k := range m {
				if cur.over != nil {
					if _, ok := cur.over.m[i][k]; ok {
						continue
					}
				}
				if rt, ok := v.base.m[i][k]; ok {
					b.base.m[i][k] = rt
				} else {
					delete(b.base.m[i], k)
				}
			}
		}
	}
	if cur.over != nil {
		for i, m := range cur.over.m {
			for k, rt := range m {
				if rt == nil {
					delete(b.base.m[i], k)
				} else {
					b.base.m[i][k] = rt
				}
			}
		}
	}
}

// clear empties kind's pool.
func (b *builder[T]) clear(kind Kind) {
	if kind > KindExcluded {
		return
	}
	b.materialize()
	old := b.base.m[kind]
	b.base.m[kind] = map[string]*Route[T]{}
	if kind != KindExcluded {
		for key := range old {
			b.set(kind, key, nil)
		}
	}
}

func (b *builder[T]) finish(gen uint64) *view[T] {
	if b.ownBase {
		b.size = len(b.base.m[KindHTTP]) + len(b.base.m[KindStream]) + len(b.base.m[KindExcluded])
	} else if b.nover > overlayLimit(b.size) {
		b.materialize()
		b.size = len(b.base.m[KindHTTP]) + len(b.base.m[KindStream]) + len(b.base.m[KindExcluded])
	}
	if b.ownBase {
		b.base.act = buildTable(b.base.m[mActive])
	}
	return newView(gen, b.base, b.over, b.size, b.nover)
}

// newView is the view of base (whose table is built) and over at gen.
func newView[T any](gen uint64, base, over *tables[T], size, nover int) *view[T] {
	v := &view[T]{gen: gen, act: base.act, base: base, over: over, size: size, nover: nover}
	if over != nil {
		v.oact = fillTable(over.m[mActive], base.act.seed, true)
	}
	return v
}

// record is one change record with its route adopted (nil for CLEARED and INVENTORY, and
// for REMOVED unless asked for).
type record[T any] struct {
	gen   uint64
	op    ChangeOp
	kind  Kind
	key   string
	route *Route[T]
}

// collectChanges pulls the records after since in one cgo call (inside do/try). The routes of
// REMOVED records are adopted only when keepRemoved (the replica needs only their keys).
func collectChanges[T any](reg *C.rr_registry, since uint64, keepRemoved bool) ([]record[T], uint64, error) {
	var b C.rr_go_recs
	next := C.uint64_t(since)
	err := call("Changes", func() C.rr_status { return C.rr_go_changes(reg, C.uint64_t(since), &b, &next) })
	items := unsafe.Slice(b.items, int(b.n))
	out := make([]record[T], len(items))
	for i := range items {
		it := &items[i]
		rc := record[T]{gen: uint64(it.gen), op: ChangeOp(it.op), kind: Kind(it.kind)}
		switch {
		case it.route == nil:
		case keepRemoved || rc.op != ChangeRemoved:
			rt, took := adoptKeep[T](it.route, it.ud)
			if took {
				it.route = nil
			}
			rc.route, rc.key = rt, rt.Key()
		default:
			rc.key = gostr(C.rr_route_key(it.route)) // copied before the route is released
		}
		out[i] = rc
	}
	oom := b.oom != 0
	C.rr_go_recs_free(&b)
	if oom {
		panic("routes: Changes: out of memory")
	}
	if err != nil {
		return nil, since, err
	}
	return out, uint64(next), nil
}

// foldReplica folds the replica's overlay into its base now, releasing the deleted routes
// the old base still names (they are otherwise released at the next fold, after at most
// overlayLimit changed keys). For tests that count live routes.
func (r *Registry[T]) foldReplica() {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if v := r.view.Load(); v != nil && v.over != nil {
		b := newBuilder(v)
		b.materialize()
		r.view.Store(b.finish(v.gen))
	}
}
