// Command publish publishes a routes file to etcd as one provider's complete route set, under
// a lease it keeps alive, so that every proxy replica started with -etcd serves the routes.
// It publishes again when the file changes or on SIGHUP (a file that fails to load or
// validate leaves the published set as it was), and on SIGINT/SIGTERM revokes its lease (the
// routes disappear everywhere at once) and exits. If it dies instead, the routes disappear
// when the lease expires.
//
//	publish -etcd http://127.0.0.1:2379 -routes routes.json -provider file [-lease-ttl 10s]
//
// The routes file is the proxy example's: a JSON list of {"alias","upstream","kind"} (kind
// http, stream or excluded; ${VAR} expanded from the environment).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/route-registry/routes"
	rretcd "github.com/route-registry/routes/etcd"
)

type entry struct {
	Alias    string `json:"alias"`
	Upstream string `json:"upstream"`
	Kind     string `json:"kind"`
	Key      string `json:"key"`
	Priority int32  `json:"priority"`
}

var kinds = map[string]routes.Kind{"http": routes.KindHTTP, "stream": routes.KindStream, "excluded": routes.KindExcluded}

// loadRecords reads the routes file as records.
func loadRecords(path string) ([]rretcd.Record, []byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var entries []entry
	if err := json.Unmarshal([]byte(os.ExpandEnv(string(raw))), &entries); err != nil {
		return nil, raw, fmt.Errorf("%s: %w", path, err)
	}
	recs := make([]rretcd.Record, 0, len(entries))
	for _, e := range entries {
		kind, ok := kinds[e.Kind]
		if !ok {
			return nil, raw, fmt.Errorf("%s: route %q: unknown kind %q", path, e.Alias, e.Kind)
		}
		recs = append(recs, rretcd.Record{Kind: kind, Alias: e.Alias, Key: e.Key, URL: e.Upstream, Priority: e.Priority})
	}
	return recs, raw, nil
}

func main() {
	endpoints := flag.String("etcd", "", "etcd endpoints, comma-separated (required)")
	prefix := flag.String("etcd-prefix", rretcd.DefaultPrefix, "key prefix of the route records")
	routesPath := flag.String("routes", "", "routes file to publish (required)")
	provider := flag.String("provider", "file", "provider name: this publisher owns that provider's records")
	ttl := flag.Duration("lease-ttl", rretcd.DefaultLeaseTTL, "lease time to live: how long the routes outlive a crashed publisher")
	poll := flag.Duration("poll", 500*time.Millisecond, "how often the routes file is checked for changes")
	flag.Parse()
	if *endpoints == "" || *routesPath == "" {
		fmt.Fprintln(os.Stderr, "publish: -etcd and -routes are required")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*endpoints, *prefix, *routesPath, *provider, *ttl, *poll); err != nil {
		fmt.Fprintln(os.Stderr, "publish:", err)
		os.Exit(1)
	}
}

func run(endpoints, prefix, routesPath, provider string, ttl, poll time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	recs, raw, err := loadRecords(routesPath)
	if err != nil {
		return err
	}
	cli, err := rretcd.Dial(endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	pub, err := rretcd.NewPublisher(sctx, rretcd.PublisherConfig{Client: cli, Prefix: prefix, Provider: provider, LeaseTTL: ttl})
	cancel()
	if err != nil {
		return err
	}
	publish := func(recs []rretcd.Record) error {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		rev, err := pub.Publish(pctx, recs)
		if err == nil {
			slog.Info("published", "provider", provider, "routes", len(recs), "revision", rev, "lease", fmt.Sprintf("%x", int64(pub.Lease())))
		}
		return err
	}
	if err := publish(recs); err != nil {
		_ = pub.Close()
		return err
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		forced := false
		select {
		case <-ctx.Done():
			err := pub.Close()
			slog.Info("lease revoked; exiting", "provider", provider, "error", err)
			return err
		case <-hup:
			forced = true
		case <-tick.C:
		}
		recs, now, err := loadRecords(routesPath)
		if !forced && (bytes.Equal(now, raw) || (err != nil && errors.Is(err, os.ErrNotExist))) {
			continue
		}
		raw = now
		if err == nil {
			err = publish(recs)
		}
		if err != nil {
			slog.Error("routes not published; the previous set stays", "error", err)
		}
	}
}
