package routes

// #include "rr_go.h"
import "C"

import "unsafe"

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
// call this first.
func (r *Registry[T]) dropChangeRecords() {
	inv := []byte(`{"nodes":[]}`)
	r.do("dropChangeRecords", func(reg *C.rr_registry) {
		C.rr_set_change_log_capacity(reg, 1)
		C.rr_proxmox_load_json(reg, (*C.char)(unsafe.Pointer(&inv[0])), C.size_t(len(inv)))
	})
}
