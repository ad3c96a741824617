package routes

// #cgo CFLAGS: -O2
// #include "rr_go.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// cstr passes a Go string to C without copying (the cgo rules allow it: the bytes hold no
// Go pointers, and C keeps nothing past the call).
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

// call runs a fallible C call with the goroutine locked to its OS thread, so that the
// per-thread rr_last_error read afterwards belongs to that call.
func call(op string, f func() C.rr_status) error {
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

// Version is the native library's version; ABIVersion its C ABI version, which must equal
// HeaderABIVersion (the header this package was compiled against).
func Version() string { return gostr(C.rr_version()) }

// ABIVersion is the ABI version of the linked library.
func ABIVersion() uint32 { return uint32(C.rr_abi_version()) }

// HeaderABIVersion is the ABI version of the header this package was built with.
const HeaderABIVersion = uint32(C.RR_ABI_VERSION)

func setNativeLogger(maxLevel int, on bool) {
	flag := C.int(0)
	if on {
		flag = 1
	}
	C.rr_go_set_logger(C.rr_log_level(maxLevel), flag)
}

// LiveRoutes is the number of native routes alive in the process (for leak checks).
func LiveRoutes() int { return int(C.rr_live_routes()) }
