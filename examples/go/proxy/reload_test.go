package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/route-registry/routes"
)

// After a bad write, polling does not read the unchanged bad file again (one ERROR, not one
// per poll); a new write is read at the next poll, and SIGHUP always retries.
func TestFailedReloadIsNotRepeatedByPolling(t *testing.T) {
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	path := filepath.Join(t.TempDir(), "routes.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`[{"alias":"app1","upstream":"http://127.0.0.1:18081","provider":"file","kind":"http"}]`)
	var buf bytes.Buffer
	lw := &lockedWriter{w: &buf}
	logged := func() string {
		lw.mu.Lock()
		defer lw.mu.Unlock()
		return buf.String()
	}
	fp := &FileProvider{Reg: reg, Path: path, Log: slog.New(slog.NewTextHandler(lw, nil))}
	if _, err := fp.Load(); err != nil {
		t.Fatal(err)
	}
	failures := func() int { return strings.Count(logged(), "reload failed") }
	waitFailures := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for failures() < n {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %d failed reloads, saw %d:\n%s", n, failures(), logged())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); fp.Watch(ctx, 5*time.Millisecond) }()
	defer func() { cancel(); <-done }()

	write(`[{"alias":"app1","upstream":"http://[10.0.0.1]:80","provider":"file","kind":"http"}]`)
	waitFailures(1)
	time.Sleep(300 * time.Millisecond) // about 60 polls of the unchanged bad file
	if n := failures(); n != 1 {
		t.Fatalf("the unchanged bad file was reloaded %d times by polling, want once:\n%s", n, logged())
	}
	if _, ok := reg.Get("app1"); !ok {
		t.Fatal("a failed reload dropped the old routes")
	}
	// SIGHUP retries the same file (Watch's signal.Notify is installed: it already polled).
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFailures(2)
	// A new (still bad) write is read again by polling.
	write(`[{"alias":"app1","upstream":"http://[10.0.0.2]:80","provider":"file","kind":"http"},{"alias":"x","upstream":"http://[","provider":"file","kind":"http"}]`)
	waitFailures(3)
	// A good write is loaded.
	write(`[{"alias":"app2","upstream":"http://127.0.0.1:18082","provider":"file","kind":"http"}]`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := reg.Get("app2"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the good file was not loaded:\n%s", logged())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := failures(); n != 3 {
		t.Errorf("%d failed reloads, want 3", n)
	}
}
