package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/route-registry/routes"
)

// FileProvider keeps the registry in step with a routes file: each load is one batch that
// replaces every provider the file names (and every provider an earlier version of the file
// named), so readers see the old set or the new one, never a mix, and a file that fails to
// load leaves the old set as it was. An entry that did not change since the last load puts
// the same route object in the batch again, which the registry keeps as it is: only changed
// entries produce change records, and the unchanged routes keep their health. With -etcd,
// give the file's routes provider names no etcd publisher uses: a reload replaces every route
// of the providers the file names.
type FileProvider struct {
	Reg    *routes.Registry[*target]
	Path   string
	Lookup func(string) string // ${VAR} expansion; nil: the environment
	Log    *slog.Logger

	mu        sync.Mutex
	providers []string                              // providers the last load replaced
	routes    map[RouteEntry]*routes.Route[*target] // the last load's route of each entry
	tried     fileStamp                             // the file's stamp when the last load (successful or not) read it
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.Size(), fi.ModTime()}
}

// Load reads the file and applies it as one ReplaceProvider batch. It returns the change
// records of that batch (none when nothing changed) and logs each.
func (f *FileProvider) Load() ([]routes.Change[*target], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tried = stampOf(f.Path) // a bad file is not read again until it changes (or SIGHUP)
	entries, err := LoadRoutes(f.Path, f.Lookup)
	if err != nil {
		return nil, err
	}
	b := f.Reg.NewBatch()
	defer b.Discard() // the error paths: nothing is applied
	provs := slices.Clone(f.providers)
	made := make(map[RouteEntry]*routes.Route[*target], len(entries))
	for _, e := range entries {
		rt := f.routes[e] // unchanged since the last load: the same route is kept
		if rt == nil {
			if rt, err = newRouteFromEntry(e); err != nil {
				return nil, err
			}
		}
		if err := b.Add(rt); err != nil {
			return nil, fmt.Errorf("route %q: %w", e.Alias, err)
		}
		made[e] = rt
		if !slices.Contains(provs, e.Provider) {
			provs = append(provs, e.Provider)
		}
	}
	for _, p := range provs {
		if err := b.ReplaceProvider(p); err != nil {
			return nil, err
		}
	}
	before := f.Reg.Generation()
	gen, err := b.Commit()
	if err != nil {
		return nil, err
	}
	f.providers, f.routes = provs, made
	var out []routes.Change[*target]
	if gen == before {
		f.logger().Info("routes file reloaded: no change", "file", f.Path)
		return nil, nil
	}
	seq, _, err := f.Reg.Changes(before)
	if err != nil { // ErrStale: more than the change log holds happened meanwhile
		f.logger().Info("routes file reloaded", "file", f.Path, "generation", gen, "records", err.Error())
		return nil, nil
	}
	for c := range seq {
		if c.Generation != gen {
			continue
		}
		out = append(out, c)
		upstream := ""
		if c.Route != nil {
			upstream = c.Route.UpstreamURL()
		}
		f.logger().Info("route "+c.Op.String(), "kind", c.Kind.String(), "key", c.Key, "upstream", upstream, "generation", c.Generation)
	}
	f.logger().Info("routes file reloaded", "file", f.Path, "generation", gen, "changes", len(out))
	return out, nil
}

func (f *FileProvider) logger() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

// Changed says whether the file's size or modification time differ from what the last load
// read, whether that load succeeded or failed: a file that failed to load is not tried again
// until it is written again.
func (f *FileProvider) Changed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return stampOf(f.Path) != f.tried
}

// Watch reloads on SIGHUP and when the file changes (polled every poll), until ctx is done.
// A reload that fails is logged once and the old routes stay: polling retries only after the
// file changes again; SIGHUP always retries.
func (f *FileProvider) Watch(ctx context.Context, poll time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			f.logger().Info("SIGHUP: reloading the routes file", "file", f.Path)
		case <-t.C:
			if !f.Changed() {
				continue
			}
			f.logger().Info("routes file changed: reloading", "file", f.Path)
		}
		if _, err := f.Load(); err != nil {
			f.logger().Error("reload failed; the old routes stay", "file", f.Path, "err", err)
		}
	}
}

func newRouteFromEntry(e RouteEntry) (*routes.Route[*target], error) {
	kind, ok := kinds[e.Kind]
	if !ok {
		return nil, fmt.Errorf("route %q: unknown kind %q", e.Alias, e.Kind)
	}
	t := &target{}
	if e.Upstream != "" {
		u, err := url.Parse(e.Upstream)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", e.Alias, err)
		}
		t.url = u
	}
	rt, err := routes.NewRoute(routes.RouteConfig{Kind: kind, Alias: e.Alias, URL: e.Upstream, Provider: e.Provider}, t)
	if err != nil {
		return nil, fmt.Errorf("route %q: %w", e.Alias, err)
	}
	return rt, nil
}

// ChangeJSON is one change record at /api/changes.
type ChangeJSON struct {
	Generation uint64 `json:"generation"`
	Op         string `json:"op"`
	Kind       string `json:"kind,omitempty"`
	Key        string `json:"key,omitempty"`
	Upstream   string `json:"upstream,omitempty"`
	Provider   string `json:"provider,omitempty"`
}

// ChangesJSON is the body of /api/changes?since=N.
type ChangesJSON struct {
	Since   uint64       `json:"since"`
	Next    uint64       `json:"next"`
	Changes []ChangeJSON `json:"changes"`
}

// serveChanges answers /api/changes?since=N with the change records after generation N
// (since defaults to 0). 400 for a bad since; 410 Gone with {"error","generation"} when the
// records were already dropped from the change log (read /api/health or the routes again and
// continue from that generation).
func serveChanges(reg *routes.Registry[*target], w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	writeErr := func(status int, body map[string]any) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	var since uint64
	if s := r.URL.Query().Get("since"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeErr(http.StatusBadRequest, map[string]any{"error": "since must be a generation (an unsigned integer)"})
			return
		}
		since = v
	}
	seq, next, err := reg.Changes(since)
	switch {
	case errors.Is(err, routes.ErrStale):
		writeErr(http.StatusGone, map[string]any{"error": "stale: the change log no longer holds the records after this generation; reload the routes and continue from generation",
			"generation": reg.Generation()})
		return
	case errors.Is(err, routes.ErrInvalidArgument):
		writeErr(http.StatusBadRequest, map[string]any{"error": err.Error(), "generation": reg.Generation()})
		return
	case err != nil:
		writeErr(http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	out := ChangesJSON{Since: since, Next: next, Changes: []ChangeJSON{}}
	for c := range seq {
		cj := ChangeJSON{Generation: c.Generation, Op: c.Op.String(), Key: c.Key}
		if c.Op != routes.ChangeInventory {
			cj.Kind = c.Kind.String()
		}
		if c.Route != nil {
			cj.Upstream, cj.Provider = c.Route.UpstreamURL(), c.Route.ProviderName()
		}
		out.Changes = append(out.Changes, cj)
	}
	_ = json.NewEncoder(w).Encode(out)
}
