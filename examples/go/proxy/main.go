// Command proxy is a reverse proxy whose routes live in route-registry's Rust core, used
// through the Go binding: routes from a JSON file (reloaded as one batch on SIGHUP and when the
// file changes), routing by Host header (FindHTTPRoute), a route context on each request,
// periodic health checks feeding SetHealth, the health JSON at /api/health and the change
// records at /api/changes?since=N.
//
//	proxy -routes routes.json -listen 127.0.0.1:8080   (${VAR} in the file from the environment)
//	proxy -domains example.com,example.org ...         (hosts under these domains: the part before)
//	proxy -demo                                        (self-contained run on loopback, exits)
//	proxy -etcd http://127.0.0.1:2379 -listen ...      (routes mirrored from etcd; /api/mirror)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/route-registry/routes"
)

func main() {
	routesPath := flag.String("routes", "routes.json", "routes file (JSON list of alias, upstream, provider, kind)")
	listen := flag.String("listen", "127.0.0.1:8080", "listen address")
	interval := flag.Duration("interval", 5*time.Second, "health check interval")
	demo := flag.Bool("demo", false, "start two upstreams on loopback, send requests, print, exit")
	verbose := flag.Bool("v", false, "log the registry's debug lines")
	domains := flag.String("domains", "", "comma-separated domains: a host under one routes by the part before it (app.example.com -> app)")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	routes.SetLogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *demo {
		_, err = RunDemo(ctx, os.Stdout, *routesPath)
	} else {
		err = serve(ctx, *routesPath, *listen, *interval, splitList(*domains))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func serve(ctx context.Context, routesPath, listen string, interval time.Duration, domains []string) error {
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	if err := reg.SetRouteDomains(domains...); err != nil {
		return err
	}
	if readRoutesFile() {
		fp := &FileProvider{Reg: reg, Path: routesPath}
		if _, err := fp.Load(); err != nil {
			return err
		}
		watchCtx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			fp.Watch(watchCtx, time.Second)
		}()
		defer func() { // before reg.Close
			stopWatch()
			<-watched
		}()
	}
	mirror, stopMirror, err := startMirror(ctx, reg, *etcdEndpoints, *etcdPrefix)
	if err != nil {
		return err
	}
	defer stopMirror() // runs before reg.Close
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: withMirrorAPI(NewProxy(reg), mirror), ReadHeaderTimeout: 10 * time.Second}
	checkCtx, cancel := context.WithCancel(ctx)
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		(&Checker{Reg: reg, Timeout: 2 * time.Second}).Run(checkCtx, interval)
	}()
	// Stop the checker and wait for it before the registry is closed (defers run last-first).
	defer func() {
		cancel()
		<-checked
	}()
	slog.Info("proxy listening", "addr", ln.Addr().String(), "routes", reg.NumAllRoutes())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	shutCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	return srv.Shutdown(shutCtx)
}

// Exchange is one request of the demo and its answer.
type Exchange struct {
	Host   string
	Path   string
	Status int
	Body   string
}

// startUpstream serves "upstream <name>" plus the proxy's headers, on a free loopback port.
func startUpstream(name string) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s: host=%s path=%s route=%s upstream-host=%s",
			name, r.Host, r.URL.Path, r.Header.Get("X-Route-Name"), r.Header.Get("X-Upstream-Host"))
	})}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr().String(), nil
}

// RunDemo runs the proxy against two upstreams it starts, all on 127.0.0.1 with free ports,
// sends requests for both hosts, an unknown one and /api/health, prints them to out and
// shuts everything down.
func RunDemo(ctx context.Context, out io.Writer, routesPath string) ([]Exchange, error) {
	up1, addr1, err := startUpstream("1")
	if err != nil {
		return nil, err
	}
	defer up1.Close()
	up2, addr2, err := startUpstream("2")
	if err != nil {
		return nil, err
	}
	defer up2.Close()

	out = &lockedWriter{w: out} // the file watcher logs from its goroutine
	vars := map[string]string{"UPSTREAM_1": addr1, "UPSTREAM_2": addr2}
	// The demo works on a copy of the routes file, which it changes later to show a reload.
	raw, err := os.ReadFile(routesPath)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "proxy-demo")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "routes.json")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		return nil, err
	}
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	fp := &FileProvider{Reg: reg, Path: file, Lookup: func(k string) string { return vars[k] }, Log: logger}
	if _, err := fp.Load(); err != nil {
		return nil, err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		fp.Watch(watchCtx, 50*time.Millisecond)
	}()
	defer func() {
		stopWatch()
		<-watched
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: NewProxy(reg), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		shutCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = srv.Shutdown(shutCtx)
	}()
	(&Checker{Reg: reg, Timeout: 2 * time.Second}).CheckAll(ctx)

	proxyAddr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(proxyAddr)
	fmt.Fprintf(out, "proxy on %s, upstreams %s and %s, %d routes\n", proxyAddr, addr1, addr2, reg.NumAllRoutes())
	client := &http.Client{Timeout: 5 * time.Second}
	var exchanges []Exchange
	get := func(host, path string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+proxyAddr+path, nil)
		if err != nil {
			return err
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		ex := Exchange{Host: host, Path: path, Status: resp.StatusCode, Body: string(body)}
		exchanges = append(exchanges, ex)
		fmt.Fprintf(out, "GET %s%s -> %d %s\n", ex.Host, ex.Path, ex.Status, trimNL(ex.Body))
		return nil
	}
	for _, q := range []struct{ host, path string }{
		{"app1.example.test", "/hello"},
		{"app2.example.test:" + port, "/world"},
		{"unknown.example.test", "/"},
		{proxyAddr, "/api/health"},
	} {
		if err := get(q.host, q.path); err != nil {
			return nil, err
		}
	}
	if exchanges[0].Status != 200 || exchanges[1].Status != 200 || exchanges[2].Status != 404 || exchanges[3].Status != 200 {
		return exchanges, errors.New("unexpected responses")
	}

	// A reload: the routes file changes (app2 moves to upstream 1, db goes, app3 comes); the
	// file watcher applies it as one batch and logs the change records.
	gen := reg.Generation()
	changed := strings.NewReplacer(
		`"http://${UPSTREAM_2}", "provider": "file", "kind": "http"}`, `"http://${UPSTREAM_1}", "provider": "file", "kind": "http"},
  {"alias": "app3", "upstream": "http://${UPSTREAM_2}", "provider": "file", "kind": "http"}`,
		`  {"alias": "db", "upstream": "tcp://${UPSTREAM_2}", "provider": "file", "kind": "stream"},
`, ``).Replace(string(raw))
	fmt.Fprintf(out, "\n-- changing the routes file: app2 -> upstream 1, db removed, app3 added (generation %d)\n", gen)
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for reg.Generation() == gen {
		if time.Now().After(deadline) {
			return exchanges, errors.New("the routes file change was not picked up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, q := range []struct{ host, path string }{
		{proxyAddr, fmt.Sprintf("/api/changes?since=%d", gen)},
		{"app2.example.test", "/after-reload"},
		{"app3.example.test", "/new"},
	} {
		if err := get(q.host, q.path); err != nil {
			return nil, err
		}
	}
	if exchanges[4].Status != 200 || exchanges[5].Status != 200 || exchanges[6].Status != 200 {
		return exchanges, errors.New("unexpected responses after the reload")
	}
	return exchanges, nil
}

func trimNL(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
