// Package etcd keeps route-registry registries in several processes in agreement through
// etcd (v3 API): a Publisher writes one provider's routes as records under a lease, and a
// Mirror copies every record under a prefix into a local registry, applying each etcd change
// as one batch. The record format is described in README.md.
package etcd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/route-registry/routes"
)

// RecordVersion is the record format's version: every record carries "v":1.
const RecordVersion = 1

// MaxRecordBytes is the largest record value accepted (bigger ones are bad records, and a
// Publisher refuses to write them). Every replica applies the same limit.
const MaxRecordBytes = 16 << 10

// DefaultPrefix is the key prefix used by the examples.
const DefaultPrefix = "/route-registry"

// Proxmox is an explicit Proxmox link in a record (node non-empty; vmid 0 for the node).
type Proxmox struct {
	Node string `json:"node"`
	VMID int32  `json:"vmid"`
}

// Record is one route as stored in etcd at <prefix>/<kind>/<key>. Kind comes from the path,
// never from the value. Health is not part of a record: each replica probes its own.
type Record struct {
	Kind        routes.Kind
	Alias       string // required
	Key         string // the path's key; "" means the alias
	DisplayName string // "" means the alias
	URL         string // required except for KindExcluded
	Provider    string
	Priority    int32
	Docker      bool
	Proxmox     *Proxmox
}

// wireRecord is the JSON form, "v" first.
type wireRecord struct {
	V           int      `json:"v"`
	Alias       string   `json:"alias"`
	Key         string   `json:"key"`
	DisplayName string   `json:"display_name,omitempty"`
	URL         string   `json:"url,omitempty"`
	Provider    string   `json:"provider,omitempty"`
	Priority    int32    `json:"priority,omitempty"`
	Docker      bool     `json:"docker,omitempty"`
	Proxmox     *Proxmox `json:"proxmox,omitempty"`
}

// RecordFromConfig is the record of a route made from cfg.
func RecordFromConfig(cfg routes.RouteConfig) Record {
	r := Record{
		Kind: cfg.Kind, Alias: cfg.Alias, Key: cfg.Key, DisplayName: cfg.DisplayName, URL: cfg.URL,
		Provider: cfg.Provider, Priority: cfg.Priority, Docker: cfg.Docker,
	}
	if cfg.ProxmoxNode != "" || cfg.ProxmoxVMID != 0 {
		r.Proxmox = &Proxmox{Node: cfg.ProxmoxNode, VMID: cfg.ProxmoxVMID}
	}
	return r
}

// Config is the RouteConfig of the record's route.
func (r Record) Config() routes.RouteConfig {
	cfg := routes.RouteConfig{
		Kind: r.Kind, Alias: r.Alias, URL: r.URL, Key: r.Key, DisplayName: r.DisplayName,
		Provider: r.Provider, Priority: r.Priority, Docker: r.Docker,
	}
	if r.Proxmox != nil {
		cfg.ProxmoxNode, cfg.ProxmoxVMID = r.Proxmox.Node, r.Proxmox.VMID
	}
	return cfg
}

// RouteKey is the route's key in its pool: Key, or the alias when Key is empty.
func (r Record) RouteKey() string {
	if r.Key != "" {
		return r.Key
	}
	return r.Alias
}

// EtcdKey is the record's etcd key under prefix: <prefix>/<kind>/<key>.
func (r Record) EtcdKey(prefix string) string {
	return recordKey(prefix, r.Kind, r.RouteKey())
}

func recordKey(prefix string, kind routes.Kind, key string) string {
	return strings.TrimSuffix(prefix, "/") + "/" + kind.String() + "/" + key
}

// Encode is the record's JSON value ({"v":1,"alias":...,"key":...}). The key is always
// written. It fails for a record the format cannot hold (bad kind, oversized).
func (r Record) Encode() ([]byte, error) {
	if _, ok := kindNames[r.Kind.String()]; !ok {
		return nil, fmt.Errorf("record %q: bad kind %d", r.Alias, uint32(r.Kind))
	}
	b, err := json.Marshal(wireRecord{
		V: RecordVersion, Alias: r.Alias, Key: r.RouteKey(), DisplayName: r.DisplayName, URL: r.URL,
		Provider: r.Provider, Priority: r.Priority, Docker: r.Docker, Proxmox: r.Proxmox,
	})
	if err != nil {
		return nil, err
	}
	if len(b) > MaxRecordBytes {
		return nil, fmt.Errorf("record %q: %d bytes, more than %d", r.Alias, len(b), MaxRecordBytes)
	}
	return b, nil
}

var kindNames = map[string]routes.Kind{
	"http": routes.KindHTTP, "stream": routes.KindStream, "excluded": routes.KindExcluded,
}

// ErrBadRecord is wrapped by every error of ParseRecord and NewRecordRoute.
var ErrBadRecord = errors.New("bad record")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRecord, fmt.Sprintf(format, args...))
}

// SplitKey splits an etcd key under prefix into kind and route key. The kind must be http,
// stream or excluded and the key non-empty; the key is the rest of the path, verbatim.
func SplitKey(prefix, etcdKey string) (routes.Kind, string, error) {
	base := strings.TrimSuffix(prefix, "/") + "/"
	rest, ok := strings.CutPrefix(etcdKey, base)
	if !ok {
		return 0, "", bad("key %q is not under %q", etcdKey, base)
	}
	kindName, key, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, "", bad("key %q has no <kind>/<key> after the prefix", etcdKey)
	}
	kind, ok := kindNames[kindName]
	if !ok {
		return 0, "", bad("unknown kind %q", kindName)
	}
	if key == "" {
		return 0, "", bad("empty route key")
	}
	return kind, key, nil
}

// ParseRecord decodes the record stored at etcdKey under prefix, with every record rule:
// the value is a JSON object of at most MaxRecordBytes with "v":1, a string "alias", a
// string "url" (except for excluded routes), a "key" equal to the path's key when present;
// optional "display_name", "provider" (strings), "priority" (a 32-bit integer), "docker"
// (a boolean), "proxmox" ({"node": non-empty string, "vmid": 32-bit integer}). A field set to
// null counts as absent; unknown fields (including "vmname") are ignored; field names match
// exactly. The route's key is always the path's key. It does not ask the library whether it
// accepts the route: NewRecordRoute does.
func ParseRecord(prefix, etcdKey string, value []byte) (Record, error) {
	kind, key, err := SplitKey(prefix, etcdKey)
	if err != nil {
		return Record{}, err
	}
	if len(value) > MaxRecordBytes {
		return Record{}, bad("%d bytes, more than %d", len(value), MaxRecordBytes)
	}
	if t := bytes.TrimLeft(value, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Record{}, bad("not a JSON object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(value, &fields); err != nil {
		return Record{}, bad("bad JSON: %v", err)
	}
	get := func(name string, dst any) (bool, error) {
		raw, ok := fields[name]
		if !ok || string(raw) == "null" {
			return false, nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return false, bad("field %q: %v", name, err)
		}
		return true, nil
	}
	var v int
	if ok, err := get("v", &v); err != nil {
		return Record{}, err
	} else if !ok {
		return Record{}, bad(`no "v" field`)
	} else if v != RecordVersion {
		return Record{}, bad(`"v" is %d, not %d`, v, RecordVersion)
	}
	r := Record{Kind: kind, Key: key}
	if ok, err := get("alias", &r.Alias); err != nil {
		return Record{}, err
	} else if !ok {
		return Record{}, bad(`no "alias" field`)
	}
	var recKey string
	if ok, err := get("key", &recKey); err != nil {
		return Record{}, err
	} else if ok && recKey != key {
		return Record{}, bad(`"key" %q differs from the path's key %q`, recKey, key)
	}
	if ok, err := get("url", &r.URL); err != nil {
		return Record{}, err
	} else if !ok && kind != routes.KindExcluded {
		return Record{}, bad(`no "url" field`)
	}
	for name, dst := range map[string]any{
		"display_name": &r.DisplayName, "provider": &r.Provider, "priority": &r.Priority, "docker": &r.Docker,
	} {
		if _, err := get(name, dst); err != nil {
			return Record{}, err
		}
	}
	var px map[string]json.RawMessage
	if ok, err := get("proxmox", &px); err != nil {
		return Record{}, err
	} else if ok {
		r.Proxmox = &Proxmox{}
		if raw, ok := px["node"]; !ok || json.Unmarshal(raw, &r.Proxmox.Node) != nil || r.Proxmox.Node == "" {
			return Record{}, bad(`"proxmox" needs a non-empty string "node"`)
		}
		if raw, ok := px["vmid"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &r.Proxmox.VMID); err != nil {
				return Record{}, bad(`"proxmox" "vmid": %v`, err)
			}
		}
	}
	return r, nil
}

// NewRecordRoute makes the record's route carrying value: the library's checks apply (a
// refused alias, URL or name makes the record bad).
func NewRecordRoute[T any](r Record, value T) (*routes.Route[T], error) {
	rt, err := routes.NewRoute(r.Config(), value)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	return rt, nil
}
