package routes

// #cgo CFLAGS: -O2
// #include "rr_go.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// cstr passes a Go string to C without copying (the cgo rules allow it: the bytes hold no
// Go pointers, and C keeps nothing past the call). The caller keeps s alive across the call.
func cstr(s string) (*C.char, C.size_t) {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// gostr copies a borrowed rr_str into a Go string.
func gostr(s C.rr_str) string {
	if s.len == 0 {
		return ""
	}
	return C.GoStringN(s.ptr, C.int(s.len))
}

// call runs f, one fallible library call, and turns its status into an error carrying the
// library's message. It is the only place that reads rr_last_error: the message is per OS
// thread, and a goroutine may move to another thread between two cgo calls, so the goroutine
// stays locked to its thread from the call to the read. Every fallible call of the package
// goes through here (TestLastErrorIsReadOnlyInCall checks that no other code reads it).
func call(op string, f func() C.rr_status) error {
	beforeCall()
	runtime.LockOSThread()
	st := f()
	if st == C.RR_OK {
		runtime.UnlockOSThread()
		return nil
	}
	msg := gostr(C.rr_last_error())
	runtime.UnlockOSThread()
	return &Error{Op: op, Status: Status(st), Message: msg}
}

// callPtr is call for a library function that returns NULL on failure (with a message):
// the error has status failStatus.
func callPtr(op string, failStatus C.rr_status, f func() unsafe.Pointer) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := call(op, func() C.rr_status {
		if p = f(); p == nil {
			return failStatus
		}
		return C.RR_OK
	})
	return p, err
}

// Version is the native library's version.
func Version() string { return gostr(C.rr_version()) }

// ABIVersion is the ABI version of the linked library; it must equal HeaderABIVersion.
func ABIVersion() uint32 { return uint32(C.rr_abi_version()) }

// HeaderABIVersion is the ABI version of the header this package was built with.
const HeaderABIVersion = uint32(C.RR_ABI_VERSION)

func setNativeLogger(maxLevel uint32, on bool) {
	flag := C.int(0)
	if on {
		flag = 1
	}
	C.rr_go_set_logger(C.rr_log_level(maxLevel), flag)
}

// LiveRoutes is the number of native routes alive in the process (for leak checks).
func LiveRoutes() int { return int(C.rr_live_routes()) }
