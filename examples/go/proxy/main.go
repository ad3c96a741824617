// Command proxy is a reverse proxy whose routes live in route-registry's Rust core, used
// through the Go binding: routes from a JSON file, routing by Host header, a route context on
// each request, periodic health checks feeding SetHealth, and the health JSON at /api/health.
//
//	proxy -routes routes.json -listen 127.0.0.1:8080   (${VAR} in the file from the environment)
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
		err = serve(ctx, *routesPath, *listen, *interval)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, routesPath, listen string, interval time.Duration) error {
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	if readRoutesFile() {
		entries, err := LoadRoutes(routesPath, nil)
		if err != nil {
			return err
		}
		if err := AddRoutes(reg, entries); err != nil {
			return err
		}
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

	vars := map[string]string{"UPSTREAM_1": addr1, "UPSTREAM_2": addr2}
	entries, err := LoadRoutes(routesPath, func(k string) string { return vars[k] })
	if err != nil {
		return nil, err
	}
	reg := routes.NewRegistry[*target]()
	defer reg.Close()
	if err := AddRoutes(reg, entries); err != nil {
		return nil, err
	}
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
	for _, q := range []struct{ host, path string }{
		{"app1.example.test", "/hello"},
		{"app2.example.test:" + port, "/world"},
		{"unknown.example.test", "/"},
		{proxyAddr, "/api/health"},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+proxyAddr+q.path, nil)
		if err != nil {
			return nil, err
		}
		req.Host = q.host
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		ex := Exchange{Host: q.host, Path: q.path, Status: resp.StatusCode, Body: string(body)}
		exchanges = append(exchanges, ex)
		fmt.Fprintf(out, "GET %s%s -> %d %s\n", ex.Host, ex.Path, ex.Status, trimNL(ex.Body))
	}
	if exchanges[0].Status != 200 || exchanges[1].Status != 200 || exchanges[2].Status != 404 || exchanges[3].Status != 200 {
		return exchanges, errors.New("unexpected responses")
	}
	return exchanges, nil
}

func trimNL(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}
