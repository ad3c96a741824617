package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/route-registry/routes"
)

// target is this program's own route value: the registry hands it back on every lookup.
type target struct {
	url *url.URL // parsed once, for the reverse proxy
}

// RouteEntry is one route of routes.json.
type RouteEntry struct {
	Alias    string `json:"alias"`
	Upstream string `json:"upstream"`
	Provider string `json:"provider"`
	Kind     string `json:"kind"` // http, stream or excluded
}

// LoadRoutes reads a routes file, expanding ${VAR} with lookup (the environment when nil).
func LoadRoutes(path string, lookup func(string) string) ([]RouteEntry, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if lookup == nil {
		lookup = os.Getenv
	}
	var entries []RouteEntry
	if err := json.Unmarshal([]byte(os.Expand(string(raw), lookup)), &entries); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

var kinds = map[string]routes.Kind{"http": routes.KindHTTP, "stream": routes.KindStream, "excluded": routes.KindExcluded}

// AddRoutes registers the entries one by one (FileProvider.Load applies a file as one batch).
func AddRoutes(reg *routes.Registry[*target], entries []RouteEntry) error {
	for _, e := range entries {
		rt, err := newRouteFromEntry(e)
		if err != nil {
			return err
		}
		if err := reg.Add(rt); err != nil {
			return fmt.Errorf("route %q: %w", e.Alias, err)
		}
	}
	return nil
}

// Proxy routes each request by its Host header, as GoDoxy's entrypoint does.
type Proxy struct {
	Reg   *routes.Registry[*target]
	proxy *httputil.ReverseProxy
}

// NewProxy makes the handler.
func NewProxy(reg *routes.Registry[*target]) *Proxy {
	p := &Proxy{Reg: reg}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rt := routes.TryGetRoute[*target](pr.In)
			pr.SetURL(rt.Value().url)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("X-Route-Name", routes.TryGetUpstreamName(pr.In))
			pr.Out.Header.Set("X-Upstream-Host", routes.TryGetUpstreamHost(pr.In))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "bad gateway: "+routes.TryGetUpstreamName(r)+": "+err.Error(), http.StatusBadGateway)
		},
	}
	return p
}

// FindRoute is the registry's host resolution (FindHTTPRoute): the host's first label, or
// the part before a configured domain (-domains), then the whole host, then a wildcard route,
// with the port stripped; answers are cached by the binding per generation.
func (p *Proxy) FindRoute(host string) (*routes.Route[*target], bool) {
	return p.Reg.FindHTTPRoute(host)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt, ok := p.FindRoute(r.Host); ok && rt.Value().url != nil {
		p.proxy.ServeHTTP(w, routes.WithRouteContext(r, rt))
		return
	}
	if r.URL.Path == "/api/changes" {
		serveChanges(p.Reg, w, r)
		return
	}
	if r.URL.Path == "/api/health" {
		b, err := p.Reg.HealthJSON(routes.HealthFull)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	}
	http.Error(w, "no such route: "+r.Host, http.StatusNotFound)
}

// Checker probes every active route periodically (HTTP GET for http routes, a TCP dial for
// stream routes) and records the result with SetHealth.
type Checker struct {
	Reg     *routes.Registry[*target]
	Timeout time.Duration

	mu    sync.Mutex
	since map[string]time.Time // key -> when it became healthy
}

// CheckAll probes every active route once.
func (c *Checker) CheckAll(ctx context.Context) {
	var wg sync.WaitGroup
	for rt := range c.Reg.IterActive {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.check(ctx, rt)
		}()
	}
	wg.Wait()
}

func (c *Checker) check(ctx context.Context, rt *routes.Route[*target]) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	var err error
	detail := ""
	if rt.Kind() == routes.KindHTTP {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, rt.UpstreamURL(), nil)
		if err == nil {
			var resp *http.Response
			resp, err = http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				detail = resp.Status
				if resp.StatusCode >= 500 {
					err = fmt.Errorf("status %s", resp.Status)
				}
			}
		}
	} else {
		var conn net.Conn
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", rt.UpstreamHostPort())
		if err == nil {
			conn.Close()
			detail = "tcp connect ok"
		}
	}
	latency := time.Since(start)
	c.mu.Lock()
	if c.since == nil {
		c.since = map[string]time.Time{}
	}
	if err != nil {
		delete(c.since, rt.Key())
	} else if _, ok := c.since[rt.Key()]; !ok {
		c.since[rt.Key()] = start
	}
	up := time.Duration(0)
	if s, ok := c.since[rt.Key()]; ok {
		up = time.Since(s)
	}
	c.mu.Unlock()
	if err != nil {
		_ = rt.SetHealth(routes.StatusUnhealthy, 0, latency, err.Error())
		return
	}
	_ = rt.SetHealth(routes.StatusHealthy, up, latency, detail)
}

// Run probes every interval until ctx is done.
func (c *Checker) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.CheckAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
