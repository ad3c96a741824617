package main

// Several replicas: with -etcd, the proxy mirrors its routes from etcd (records published by
// examples/go/publish or any other Publisher) and reports the mirror at /api/mirror.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/route-registry/routes"
	rretcd "github.com/route-registry/routes/etcd"
)

var (
	etcdEndpoints = flag.String("etcd", "", "etcd endpoints (comma-separated, e.g. http://127.0.0.1:2379): mirror the routes from etcd")
	etcdPrefix    = flag.String("etcd-prefix", rretcd.DefaultPrefix, "key prefix of the route records in etcd")
)

// readRoutesFile says whether the -routes file is read: always without -etcd, and with -etcd
// only when -routes was given explicitly (its routes are then a local provider beside the
// mirror).
func readRoutesFile() bool {
	if *etcdEndpoints == "" {
		return true
	}
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "routes" })
	return given
}

// mirrorValue is the proxy's value for a mirrored route: its parsed upstream URL.
func mirrorValue(rec rretcd.Record) (*target, error) {
	t := &target{}
	if rec.URL != "" {
		u, err := url.Parse(rec.URL)
		if err != nil {
			return nil, err
		}
		t.url = u
	}
	return t, nil
}

// startMirror starts mirroring etcd into reg when -etcd is set (else it returns nil, a no-op
// stop). stop cancels the mirror, waits for it and closes the client.
func startMirror(ctx context.Context, reg *routes.Registry[*target], endpoints, prefix string) (*rretcd.Mirror[*target], func(), error) {
	if endpoints == "" {
		return nil, func() {}, nil
	}
	cli, err := rretcd.Dial(endpoints)
	if err != nil {
		return nil, nil, fmt.Errorf("etcd: %w", err)
	}
	m, err := rretcd.NewMirror(rretcd.MirrorConfig[*target]{
		Client: cli, Prefix: prefix, Registry: reg, Value: mirrorValue, Logger: slog.Default(),
	})
	if err != nil {
		cli.Close()
		return nil, nil, err
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = m.Run(mctx)
	}()
	slog.Info("mirroring routes from etcd", "endpoints", endpoints, "prefix", prefix)
	return m, func() {
		cancel()
		<-done
		cli.Close()
	}, nil
}

// withMirrorAPI serves the mirror's state at /api/mirror (for hosts that match no route, as
// /api/health): {"revision":N,"connected":bool,"skipped":N,"lag_ms":N}.
func withMirrorAPI(p *Proxy, m *rretcd.Mirror[*target]) http.Handler {
	if m == nil {
		return p
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/mirror" {
			if _, ok := p.FindRoute(r.Host); !ok {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(m.Status())
				return
			}
		}
		p.ServeHTTP(w, r)
	})
}
