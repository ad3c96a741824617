package routes

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The package's own source files (not the tests), parsed.
func packageFiles(t *testing.T) map[string]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ast.File{}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = f
	}
	if len(out) < 5 {
		t.Fatalf("only %d source files", len(out))
	}
	return out
}

// visit calls f for every node with the stack of its ancestors (outermost first).
func visit(n ast.Node, f func(n ast.Node, stack []ast.Node)) {
	var stack []ast.Node
	ast.Inspect(n, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return false
		}
		f(n, stack)
		stack = append(stack, n)
		return true
	})
}

// rr_last_error is per OS thread: it is read in exactly one place, call(), which holds
// runtime.LockOSThread from the failing call to the read. Any other read would be a place
// where a goroutine can read another call's message.
func TestLastErrorIsReadOnlyInCall(t *testing.T) {
	var reads []string
	for name, f := range packageFiles(t) {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			visit(fd, func(n ast.Node, _ []ast.Node) {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "rr_last_error" {
					reads = append(reads, name+":"+fd.Name.Name)
				}
			})
			if fd.Name.Name == "call" && name == "cgo.go" {
				var lock, unlock int
				visit(fd, func(n ast.Node, _ []ast.Node) {
					if sel, ok := n.(*ast.SelectorExpr); ok {
						switch sel.Sel.Name {
						case "LockOSThread":
							lock++
						case "UnlockOSThread":
							unlock++
						}
					}
				})
				if lock != 1 || unlock == 0 {
					t.Errorf("call() locks %d times, unlocks %d times", lock, unlock)
				}
			}
		}
	}
	if len(reads) != 1 || reads[0] != "cgo.go:call" {
		t.Fatalf("rr_last_error is read in %v; want only in cgo.go:call", reads)
	}
}

// The native handles are read only where the owner is kept alive across the use: the
// registry's handle and generation pointer in do/try (which end with runtime.KeepAlive) and
// a few functions that do it themselves; the route's handle in with/unpin (pinned); a batch's
// handle in withBatch/free (under its lock, then runtime.KeepAlive).
func TestNativeHandlesAreReadOnlyInHelpers(t *testing.T) {
	allowed := map[string]map[string]bool{
		"nreg":   {"newRegistry": true, "Close": true, "do": true, "try": true, "raw": true},
		"ngen":   {"newRegistry": true, "fresh": true, "syncView": true},
		"nroute": {"newRouteObject": true, "unpin": true, "with": true},
		"nbatch": {"withBatch": true, "free": true},
	}
	seen := map[string]int{}
	for name, f := range packageFiles(t) {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			visit(fd, func(n ast.Node, stack []ast.Node) {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || allowed[sel.Sel.Name] == nil {
					return
				}
				seen[sel.Sel.Name]++
				if allowed[sel.Sel.Name][fd.Name.Name] {
					return
				}
				// Or inside a function literal passed to do/try (which keep the owner alive).
				if sel.Sel.Name == "ngen" {
					for i := len(stack) - 1; i > 0; i-- {
						if _, ok := stack[i].(*ast.FuncLit); !ok {
							continue
						}
						if c, ok := stack[i-1].(*ast.CallExpr); ok {
							if fs, ok := c.Fun.(*ast.SelectorExpr); ok && (fs.Sel.Name == "do" || fs.Sel.Name == "try") {
								return
							}
						}
					}
				}
				t.Errorf("%s: %s reads .%s outside the helpers that keep its owner alive", name, fd.Name.Name, sel.Sel.Name)
			})
		}
	}
	for field := range allowed {
		if seen[field] == 0 {
			t.Errorf("no read of .%s found: the check has gone stale", field)
		}
	}
}

// Every enum value of the header has its Go constant, equal to it (the Go constants are
// defined from cgo's C.RR_* names; this checks that none is missing).
func TestConstantsMatchTheHeader(t *testing.T) {
	h, err := os.ReadFile("../../include/route_registry.h")
	if err != nil {
		t.Fatal(err)
	}
	goValues := map[string]uint64{
		"RR_OK": uint64(StatusOK), "RR_NOT_FOUND": uint64(StatusNotFound),
		"RR_INVALID_ARGUMENT": uint64(StatusInvalidArgument), "RR_KEPT": uint64(StatusKept),
		"RR_FROZEN": uint64(StatusFrozen), "RR_PANIC": uint64(StatusPanic),
		"RR_KIND_HTTP": uint64(KindHTTP), "RR_KIND_STREAM": uint64(KindStream),
		"RR_KIND_EXCLUDED":           uint64(KindExcluded),
		"RR_HEALTH_STATUS_UNKNOWN":   uint64(StatusUnknown),
		"RR_HEALTH_STATUS_HEALTHY":   uint64(StatusHealthy),
		"RR_HEALTH_STATUS_NAPPING":   uint64(StatusNapping),
		"RR_HEALTH_STATUS_STARTING":  uint64(StatusStarting),
		"RR_HEALTH_STATUS_UNHEALTHY": uint64(StatusUnhealthy),
		"RR_HEALTH_STATUS_ERROR":     uint64(StatusError),
		"RR_HEALTH_FULL":             uint64(HealthFull),
		"RR_HEALTH_WITHOUT_DETAIL":   uint64(HealthWithoutDetail),
		"RR_HEALTH_SIMPLE":           uint64(HealthSimple),
		"RR_ABI_VERSION":             uint64(HeaderABIVersion),
		"RR_STALE":                   uint64(StatusStale),
		"RR_CHANGE_ADDED":            uint64(ChangeAdded),
		"RR_CHANGE_RELOADED":         uint64(ChangeReloaded),
		"RR_CHANGE_REPLACED":         uint64(ChangeReplaced),
		"RR_CHANGE_REMOVED":          uint64(ChangeRemoved),
		"RR_CHANGE_CLEARED":          uint64(ChangeCleared),
		"RR_CHANGE_INVENTORY":        uint64(ChangeInventory),
	}
	// Log levels have no exported Go constant: each maps to its slog level.
	logLevels := map[string]slog.Level{
		"RR_LOG_ERROR": slog.LevelError, "RR_LOG_WARN": slog.LevelWarn, "RR_LOG_INFO": slog.LevelInfo,
		"RR_LOG_DEBUG": slog.LevelDebug, "RR_LOG_TRACE": LevelTrace,
	}
	re := regexp.MustCompile(`(?m)^#define (RR_[A-Z0-9_]+) ([0-9]+)\s*$`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(h), -1) {
		name := m[1]
		v, _ := strconv.ParseUint(m[2], 10, 64)
		n++
		if name == "RR_LOG_OFF" {
			continue
		}
		if lvl, ok := logLevels[name]; ok {
			if got := slogLevel(uint32(v)); got != lvl {
				t.Errorf("%s (%d) maps to slog level %v, want %v", name, v, got, lvl)
			}
			delete(logLevels, name)
			continue
		}
		g, ok := goValues[name]
		if !ok {
			t.Errorf("%s = %d has no Go constant", name, v)
			continue
		}
		if g != v {
			t.Errorf("%s: header %d, Go %d", name, v, g)
		}
		delete(goValues, name)
	}
	for name := range goValues {
		t.Errorf("%s is not in the header", name)
	}
	for name := range logLevels {
		t.Errorf("%s is not in the header", name)
	}
	if n < 20 {
		t.Fatalf("only %d constants found in the header", n)
	}
}
