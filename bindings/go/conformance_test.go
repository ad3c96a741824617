package routes

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The table of bad inputs shared by the C harness, the Go tests and the Python tests
// (tests/conformance/README.md describes its vocabulary). Every case whose langs include
// "go" runs here; an op this runner does not know fails the test.

const conformanceFile = "../../tests/conformance/bad_inputs.json"

type confCase struct {
	ID       string                     `json:"id"`
	Op       string                     `json:"op"`
	Args     map[string]json.RawMessage `json:"args"`
	Expect   string                     `json:"expect"`
	Mentions string                     `json:"mentions"`
	Langs    []string                   `json:"langs"`
}

type confTable struct {
	MaxQuoted  int        `json:"max_quoted_chars"`
	MaxMessage int        `json:"max_message_bytes"`
	Cases      []confCase `json:"cases"`
}

// confArgs decodes a case's arguments, failing the test on a missing or malformed one.
type confArgs struct {
	t    *testing.T
	args map[string]json.RawMessage
	strs []string // the string values decoded so far (for the quoting bound)
}

func (a *confArgs) raw(name string) json.RawMessage {
	v, ok := a.args[name]
	if !ok {
		a.t.Fatalf("argument %q missing", name)
	}
	return v
}

// str decodes a string value: a JSON string, {"hex": ...} or {"repeat", "count", "prefix"}.
func (a *confArgs) str(name string) string {
	v := a.raw(name)
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		a.strs = append(a.strs, s)
		return s
	}
	var o struct {
		Hex    *string `json:"hex"`
		Repeat *string `json:"repeat"`
		Count  int     `json:"count"`
		Prefix string  `json:"prefix"`
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		a.t.Fatalf("argument %q: %s is not a string value: %v", name, v, err)
	}
	switch {
	case o.Hex != nil:
		b, err := hex.DecodeString(*o.Hex)
		if err != nil {
			a.t.Fatalf("argument %q: %v", name, err)
		}
		s = string(b)
	case o.Repeat != nil:
		s = o.Prefix + strings.Repeat(*o.Repeat, o.Count)
	default:
		a.t.Fatalf("argument %q: %s is not a string value", name, v)
	}
	a.strs = append(a.strs, s)
	return s
}

// num decodes an integer argument, which must lie in [lo, hi] (what the Go type can hold).
func (a *confArgs) num(name string, lo, hi float64) int64 {
	var n json.Number
	if err := json.Unmarshal(a.raw(name), &n); err != nil {
		a.t.Fatalf("argument %q: %v", name, err)
	}
	if i, err := n.Int64(); err == nil && float64(i) >= lo && float64(i) <= hi {
		return i
	}
	if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil && float64(u) <= hi && hi > math.MaxInt64 {
		return int64(u) // callers convert back with uint32/uint64
	}
	a.t.Fatalf("argument %q = %s cannot be expressed in Go (want %g..%g): the case's langs should not include go", name, n, lo, hi)
	return 0
}

func (a *confArgs) u32(name string) uint32 { return uint32(a.num(name, 0, math.MaxUint32)) }

func (a *confArgs) isNull(name string) bool {
	v, ok := a.args[name]
	return ok && string(v) == "null"
}

// confOutcome is what one operation gave: an error, a lookup result, or a panic value.
type confOutcome struct {
	err      error
	absent   bool // a lookup found nothing (without an error)
	present  bool // a lookup found the route
	panicked any
}

const confAlias, confURL = "conf", "http://10.0.0.1:80"

func runConfCase(t *testing.T, c confCase, a *confArgs) (out confOutcome) {
	reg := NewRegistry[*app]()
	defer reg.Close()
	route := func(cfg RouteConfig) (*Route[*app], error) {
		cfg.Kind, cfg.Alias, cfg.URL = KindHTTP, confAlias, confURL
		return NewRoute(cfg, &app{})
	}
	defer func() {
		if r := recover(); r != nil {
			out = confOutcome{panicked: r}
		}
	}()
	switch c.Op {
	case "route_new":
		kind, alias, url := Kind(a.u32("kind")), a.str("alias"), a.str("url")
		rt, err := NewRoute(RouteConfig{Kind: kind, Alias: alias, URL: url}, &app{})
		if err == nil && (rt.Alias() != alias || rt.Kind() != kind) {
			t.Errorf("NewRoute gave %v", rt)
		}
		return confOutcome{err: err}
	case "route_set":
		var cfg RouteConfig
		v := a.str("value")
		switch f := a.str("field"); f {
		case "key":
			cfg.Key = v
		case "display_name":
			cfg.DisplayName = v
		case "provider":
			cfg.Provider = v
		default:
			t.Fatalf("route_set: unknown field %q", f)
		}
		_, err := route(cfg)
		return confOutcome{err: err}
	case "route_set_priority":
		_, err := route(RouteConfig{Priority: int32(a.num("priority", math.MinInt32, math.MaxInt32))})
		return confOutcome{err: err}
	case "route_set_proxmox":
		_, err := route(RouteConfig{ProxmoxNode: a.str("node"), ProxmoxVMID: int32(a.num("vmid", math.MinInt32, math.MaxInt32))})
		return confOutcome{err: err}
	case "route_set_health":
		rt, err := route(RouteConfig{})
		if err != nil {
			t.Fatal(err)
		}
		status := HealthStatus(a.u32("status"))
		up := time.Duration(a.num("uptime_ns", math.MinInt64, math.MaxInt64))
		lat := time.Duration(a.num("latency_ns", math.MinInt64, math.MaxInt64))
		return confOutcome{err: rt.SetHealth(status, up, lat, a.str("detail"))}
	case "health_json":
		b, err := reg.HealthJSON(HealthFormat(a.u32("format")))
		if err == nil && !json.Valid(b) {
			t.Errorf("HealthJSON gave %q", b)
		}
		return confOutcome{err: err}
	case "del_key":
		kind, key := Kind(a.u32("kind")), a.str("key")
		for _, p := range []*Pool[*app]{reg.HTTP, reg.Stream, reg.Excluded} {
			if p.Kind() == kind {
				return confOutcome{err: p.Del(key)}
			}
		}
		return confOutcome{err: reg.delKey(kind, key)} // a kind with no pool: the library says
	case "get":
		rt, ok := reg.Get(a.str("key"))
		if ok != (rt != nil) {
			t.Errorf("Get gave %v, %v", rt, ok)
		}
		return confOutcome{absent: !ok}
	case "proxmox_load_json":
		return confOutcome{err: reg.LoadProxmoxJSON([]byte(a.str("json")))}
	case "add":
		if a.isNull("registry") {
			t.Fatal("add with a nil registry cannot be expressed in Go: the case's langs should not include go")
		}
		if !a.isNull("route") {
			t.Fatalf("add: args %v", a.args)
		}
		return confOutcome{err: reg.Add(nil)}
	case "batch_add":
		if !a.isNull("route") {
			t.Fatalf("batch_add: args %v", a.args)
		}
		bt := reg.NewBatch()
		defer bt.Discard()
		return confOutcome{err: bt.Add(nil)}
	case "batch_del_key":
		bt := reg.NewBatch()
		defer bt.Discard()
		return confOutcome{err: bt.DelKey(Kind(a.u32("kind")), a.str("key"))}
	case "batch_replace_provider":
		bt := reg.NewBatch()
		defer bt.Discard()
		return confOutcome{err: bt.ReplaceProvider(a.str("provider"))}
	case "batch_commit_twice":
		bt := reg.NewBatch()
		defer bt.Discard()
		if _, err := bt.Commit(); err != nil {
			t.Fatalf("first Commit: %v", err)
		}
		_, err := bt.Commit()
		return confOutcome{err: err}
	case "changes_since":
		_, _, err := reg.Changes(uint64(a.num("since", 0, math.MaxUint64)))
		return confOutcome{err: err}
	case "set_change_log_capacity":
		return confOutcome{err: reg.SetChangeLogCapacity(int(a.num("records", 0, math.MaxInt64)))}
	case "set_route_domains":
		var elems []json.RawMessage
		if err := json.Unmarshal(a.raw("domains"), &elems); err != nil {
			t.Fatalf("domains: %v", err)
		}
		var ds []string
		for _, e := range elems {
			a.args["\x00elem"] = e
			ds = append(ds, a.str("\x00elem"))
		}
		return confOutcome{err: reg.SetRouteDomains(ds...)}
	case "find_http_route":
		rt, err := route(RouteConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Add(rt); err != nil {
			t.Fatal(err)
		}
		got, ok := reg.FindHTTPRoute(a.str("host"))
		if ok != (got != nil) || (ok && got != rt) {
			t.Errorf("FindHTTPRoute gave %v, %v", got, ok)
		}
		return confOutcome{absent: !ok, present: ok}
	case "use_after_close":
		rt, err := route(RouteConfig{})
		if err != nil {
			t.Fatal(err)
		}
		switch o := a.str("object"); o {
		case "route":
			rt.Close()
			return confOutcome{err: rt.SetHealth(StatusHealthy, 0, 0, "")}
		case "registry":
			reg.Close()
			return confOutcome{err: reg.Add(rt)}
		case "batch":
			bt := reg.NewBatch()
			bt.Close()
			return confOutcome{err: bt.Add(rt)}
		case "watch":
			ctx, cancel := context.WithCancel(context.Background())
			ch := reg.Watch(ctx)
			cancel()
			for range ch { // closed once the watcher ended
			}
			if _, open := <-ch; open {
				t.Fatal("a cancelled Watch channel is still open")
			}
			reg.Close()
			reg.Watch(context.Background()) // panics: closed
			return confOutcome{}
		default:
			t.Fatalf("use_after_close: unknown object %q", o)
		}
	}
	t.Fatalf("unknown op %q: this runner must learn it", c.Op)
	return
}

// noLongQuote checks that msg holds at most max consecutive characters of any value.
func noLongQuote(t *testing.T, msg string, values []string, max int) {
	t.Helper()
	r := []rune(msg)
	for _, v := range values {
		if utf8.RuneCountInString(v) <= max {
			continue
		}
		for i := 0; i+max+1 <= len(r); i++ {
			if w := string(r[i : i+max+1]); strings.Contains(v, w) {
				t.Errorf("message quotes more than %d characters of a %d-byte value: %q", max, len(v), w)
				return
			}
		}
	}
}

func TestConformance(t *testing.T) {
	raw, err := os.ReadFile(conformanceFile)
	if err != nil {
		t.Fatal(err)
	}
	var tab confTable
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&tab); err != nil {
		t.Fatal(err)
	}
	if tab.MaxQuoted <= 0 || tab.MaxMessage <= 0 || len(tab.Cases) == 0 {
		t.Fatalf("bad table: %d cases, bounds %d %d", len(tab.Cases), tab.MaxQuoted, tab.MaxMessage)
	}
	ran := 0
	for _, c := range tab.Cases {
		if len(c.Langs) > 0 && !slices.Contains(c.Langs, "go") {
			continue
		}
		ran++
		t.Run(c.ID, func(t *testing.T) {
			a := &confArgs{t: t, args: c.Args}
			out := runConfCase(t, c, a)
			var msg, libMsg string
			switch {
			case out.err != nil:
				msg = out.err.Error()
				libMsg = msg
				var e *Error
				if errors.As(out.err, &e) {
					libMsg = e.Message
				}
			case out.panicked != nil:
				msg = fmt.Sprint(out.panicked)
				libMsg = msg
			}
			switch c.Expect {
			case "ok":
				if out.err != nil || out.panicked != nil {
					t.Fatalf("want ok, got error %v / panic %v", out.err, out.panicked)
				}
			case "present":
				if out.err != nil || out.panicked != nil || !out.present {
					t.Fatalf("want present, got present=%v error %v / panic %v", out.present, out.err, out.panicked)
				}
			case "absent":
				if out.err != nil || out.panicked != nil || !out.absent {
					t.Fatalf("want absent, got absent=%v error %v / panic %v", out.absent, out.err, out.panicked)
				}
			case "invalid_argument", "not_found":
				want := map[string]error{"invalid_argument": ErrInvalidArgument, "not_found": ErrNotFound}[c.Expect]
				if !errors.Is(out.err, want) {
					t.Fatalf("want %v, got error %v / panic %v", want, out.err, out.panicked)
				}
			case "closed":
				perr, _ := out.panicked.(error)
				if !errors.Is(out.err, ErrClosed) && !errors.Is(perr, ErrClosed) {
					t.Fatalf("want ErrClosed, got error %v / panic %v", out.err, out.panicked)
				}
			default:
				t.Fatalf("unknown expect %q", c.Expect)
			}
			if c.Mentions != "" && !strings.Contains(msg, c.Mentions) {
				t.Errorf("message %q does not mention %q", msg, c.Mentions)
			}
			if len(libMsg) > tab.MaxMessage {
				t.Errorf("message is %d bytes (bound %d): %.200q", len(libMsg), tab.MaxMessage, libMsg)
			}
			noLongQuote(t, msg, a.strs, tab.MaxQuoted)
		})
	}
	if ran < 40 {
		t.Fatalf("only %d cases ran", ran)
	}
}
