package routes

// #include "rr_go.h"
import "C"

import (
	"iter"
	"strconv"
	"unsafe"
)

// ChangeOp is what a change record of the registry's change log says happened
// (rr_change_op). The Go API over the change log (changes, watch, batches) builds on these.
type ChangeOp uint32

// The change operations (the header's RR_CHANGE_* values).
const (
	// ChangeAdded: a route was registered under a key that was absent.
	ChangeAdded ChangeOp = C.RR_CHANGE_ADDED
	// ChangeReloaded: a route was registered under a key deleted less than 1 s before.
	ChangeReloaded ChangeOp = C.RR_CHANGE_RELOADED
	// ChangeReplaced: a route replaced a live route of lower or equal priority.
	ChangeReplaced ChangeOp = C.RR_CHANGE_REPLACED
	// ChangeRemoved: a route was deleted.
	ChangeRemoved ChangeOp = C.RR_CHANGE_REMOVED
	// ChangeCleared: a pool that held routes was cleared.
	ChangeCleared ChangeOp = C.RR_CHANGE_CLEARED
	// ChangeInventory: the Proxmox inventory was replaced.
	ChangeInventory ChangeOp = C.RR_CHANGE_INVENTORY
)

// dropChangeRecords makes the registry's change log let go of the routes its records name:
// it keeps one record, then commits one that names no route (an empty inventory). The log
// holds a reference to each route it names, up to its capacity; tests that count live routes
// call this first. It also folds the replica (see foldReplica).
func (r *Registry[T]) dropChangeRecords() {
	inv := []byte(`{"nodes":[]}`)
	r.do("dropChangeRecords", func(reg *C.rr_registry) {
		C.rr_set_change_log_capacity(reg, 1)
		C.rr_proxmox_load_json(reg, (*C.char)(unsafe.Pointer(&inv[0])), C.size_t(len(inv)))
	})
	r.foldReplica()
}

// ChangeResync is not a library value: Watch sends a Change with this Op when it could not
// deliver every record (the consumer fell behind the registry's bounded change log). The
// records between the last one delivered and the marker's Generation are lost: read the
// registry again (Snapshot), then continue with the changes that follow.
const ChangeResync ChangeOp = 1<<32 - 1

func (op ChangeOp) String() string {
	switch op {
	case ChangeAdded:
		return "added"
	case ChangeReloaded:
		return "reloaded"
	case ChangeReplaced:
		return "replaced"
	case ChangeRemoved:
		return "removed"
	case ChangeCleared:
		return "cleared"
	case ChangeInventory:
		return "inventory"
	case ChangeResync:
		return "resync"
	}
	return "ChangeOp(" + strconv.FormatUint(uint64(op), 10) + ")"
}

// Change is one record of the registry's change log: what a committed change set did to one
// key. Records of one change set (one add, one Batch.Commit...) share its Generation and come
// in the order applied.
type Change[T any] struct {
	Generation uint64   // the generation at which the change became visible
	Op         ChangeOp // what happened
	Kind       Kind     // the pool (0 for ChangeInventory and ChangeResync)
	Key        string   // the key; empty for ChangeCleared, ChangeInventory, ChangeResync
	// Route is the route added (Added, Reloaded), the new one (Replaced) or the one removed
	// (Removed); nil for ChangeCleared, ChangeInventory and ChangeResync. Like lookups, it is
	// the *Route the program made, while it holds it.
	Route *Route[T]
}

// Changes gives the change records after generation since, oldest first, and the generation
// to pass next time (the current generation once every record was given). They are pulled
// from the library in one call when Changes is called; the sequence only walks them.
//
// When records after since were already dropped from the bounded change log (see
// SetChangeLogCapacity), it returns an *Error wrapping ErrStale and nothing: read the
// routes again with Snapshot and continue from the generation it reports. since greater
// than the current generation is ErrInvalidArgument; a closed registry gives ErrClosed.
func (r *Registry[T]) Changes(since uint64) (changes iter.Seq[Change[T]], next uint64, err error) {
	var recs []record[T]
	err = r.try("Changes", func(reg *C.rr_registry) error {
		var err error
		recs, next, err = collectChanges[T](reg, since, true)
		return err
	})
	if err != nil {
		return nil, since, err
	}
	return func(yield func(Change[T]) bool) {
		for _, rc := range recs {
			if !yield(Change[T]{Generation: rc.gen, Op: rc.op, Kind: rc.kind, Key: rc.key, Route: rc.route}) {
				return
			}
		}
	}, next, nil
}

// Snapshot gives every live route (HTTP, then STREAM, then EXCLUDED) as they were at one
// generation, which it returns: Changes(generation) gives exactly the changes made since.
// The slice is the caller's.
func (r *Registry[T]) Snapshot() ([]*Route[T], uint64) {
	var out []*Route[T]
	var gen uint64
	r.do("Snapshot", func(reg *C.rr_registry) {
		var b C.rr_go_buf
		var g C.uint64_t
		C.rr_go_snapshot_gen(reg, 4, &b, &g)
		items := unsafe.Slice(b.items, int(b.n))
		uds := unsafe.Slice(b.uds, int(b.n))
		out = make([]*Route[T], len(items))
		for i, p := range items {
			rt, took := adoptKeep[T](p, uds[i])
			if took {
				items[i] = nil
			}
			out[i] = rt
		}
		gen = uint64(g)
		oom := b.oom != 0
		C.rr_go_buf_free(&b)
		if oom {
			panic("routes: Snapshot: out of memory")
		}
	})
	return out, gen
}

// SetChangeLogCapacity sets how many change records the registry keeps (at least 1; 4096 by
// default). Change sets are kept or dropped whole, oldest first. A reader (Changes, Watch)
// further behind than that gets ErrStale, or a resync marker.
func (r *Registry[T]) SetChangeLogCapacity(records int) error {
	if records < 0 { // 0 goes to the library, which refuses it with its own message
		return invalidArg("SetChangeLogCapacity", "capacity %d is negative", records)
	}
	return r.try("SetChangeLogCapacity", func(reg *C.rr_registry) error {
		return call("SetChangeLogCapacity", func() C.rr_status { return C.rr_set_change_log_capacity(reg, C.size_t(records)) })
	})
}
