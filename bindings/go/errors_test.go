package routes

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestErrorsNameTheBadInput(t *testing.T) {
	for _, tc := range []struct {
		cfg  RouteConfig
		want string
	}{
		{RouteConfig{Kind: KindHTTP, Alias: "", URL: "http://a:1"}, "alias"},
		{RouteConfig{Kind: KindHTTP, Alias: strings.Repeat("x", 256), URL: "http://a:1"}, "alias"},
		{RouteConfig{Kind: KindHTTP, Alias: "a", URL: "http://bad host:1"}, "http://bad host:1"},
		{RouteConfig{Kind: KindHTTP, Alias: "a", URL: ""}, "url"},
		{RouteConfig{Kind: Kind(9), Alias: "a", URL: "http://a:1"}, "9"},
		{RouteConfig{Kind: KindHTTP, Alias: "a", URL: "http://a:1", ProxmoxNode: "", ProxmoxVMID: -1}, "node"},
		{RouteConfig{Kind: KindHTTP, Alias: "a", URL: "http://a:1", Key: "\xff"}, "UTF-8"},
	} {
		rt, err := NewRoute(tc.cfg, &app{})
		var e *Error
		if rt != nil || !errors.As(err, &e) || !errors.Is(err, ErrInvalidArgument) || e.Status != StatusInvalidArgument {
			t.Errorf("NewRoute(%+v) = %v, %v; want an invalid-argument *Error", tc.cfg, rt, err)
			continue
		}
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
			t.Errorf("error %q does not name %q", err, tc.want)
		}
	}
}

func TestSentinels(t *testing.T) {
	for _, s := range []struct {
		st  Status
		err error
	}{{StatusNotFound, ErrNotFound}, {StatusInvalidArgument, ErrInvalidArgument}, {StatusKept, ErrKept}, {StatusFrozen, ErrFrozen}, {StatusPanic, ErrPanic}} {
		err := fmt.Errorf("wrapped: %w", &Error{Op: "X", Status: s.st, Message: "m"})
		if !errors.Is(err, s.err) {
			t.Errorf("errors.Is(%v, %v) is false", err, s.err)
		}
		for _, other := range []error{ErrNotFound, ErrKept, ErrFrozen, ErrInvalidArgument} {
			if other != s.err && errors.Is(err, other) {
				t.Errorf("%v matches %v", err, other)
			}
		}
	}
	if StatusKept.String() != "kept" || Status(77).String() != "status 77" {
		t.Fatal("Status.String")
	}
}

// Many goroutines fail at once; each error must name that goroutine's own bad input (the
// per-thread rr_last_error is read on the thread of the failing call).
func TestConcurrentErrorsNameTheirOwnInput(t *testing.T) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				bad := fmt.Sprintf("http://bad host %d-%d:1", g, i)
				_, err := NewRoute(RouteConfig{Kind: KindHTTP, Alias: "a", URL: bad}, &app{})
				if err == nil || !strings.Contains(err.Error(), bad) {
					errs <- fmt.Errorf("NewRoute(%q): %v", bad, err)
					return
				}
				key := fmt.Sprintf("missing-%d-%d", g, i)
				if err := reg.HTTP.Del(key); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), key) {
					errs <- fmt.Errorf("Del(%q): %v", key, err)
					return
				}
				format := HealthFormat(1000 + 1000*g + i) // an unknown format, unique to this call
				if _, err := reg.HealthJSON(format); !errors.Is(err, ErrInvalidArgument) ||
					!strings.Contains(err.Error(), fmt.Sprint(uint32(format))) {
					errs <- fmt.Errorf("HealthJSON(%d): %v", format, err)
					return
				}
				alias := fmt.Sprintf("alias\x00%d-%d", g, i)
				if _, err := NewRoute(RouteConfig{Kind: KindHTTP, Alias: alias, URL: "http://a:1"}, &app{}); !errors.Is(err, ErrInvalidArgument) ||
					!strings.Contains(err.Error(), fmt.Sprintf("%d-%d", g, i)) {
					errs <- fmt.Errorf("NewRoute(alias %q): %v", alias, err)
					return
				}
				inv := fmt.Sprintf(`{"nodes":[{"name":"n%d-%d","ip":"not-an-ip-%d-%d"}]}`, g, i, g, i)
				if err := reg.LoadProxmoxJSON([]byte(inv)); !errors.Is(err, ErrInvalidArgument) ||
					!strings.Contains(err.Error(), fmt.Sprintf("not-an-ip-%d-%d", g, i)) {
					errs <- fmt.Errorf("LoadProxmoxJSON(%s): %v", inv, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
