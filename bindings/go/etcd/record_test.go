package etcd

import (
	"errors"
	"strings"
	"testing"

	"github.com/route-registry/routes"
)

const pfx = "/rr"

func TestParseRecordGood(t *testing.T) {
	for _, tc := range []struct {
		name, key, value string
		want             Record
	}{
		{"minimal", "/rr/http/app", `{"v":1,"alias":"app","url":"http://10.0.0.1:80"}`,
			Record{Kind: routes.KindHTTP, Alias: "app", Key: "app", URL: "http://10.0.0.1:80"}},
		{"all fields", "/rr/stream/db", `{"v":1,"alias":"db","key":"db","display_name":"Database","url":"tcp://10.0.0.2:5432","provider":"docker","priority":-3,"docker":true,"proxmox":{"node":"pve1","vmid":101}}`,
			Record{Kind: routes.KindStream, Alias: "db", Key: "db", DisplayName: "Database", URL: "tcp://10.0.0.2:5432", Provider: "docker", Priority: -3, Docker: true, Proxmox: &Proxmox{Node: "pve1", VMID: 101}}},
		{"unknown fields ignored", "/rr/http/app", `{"v":1,"alias":"app","url":"http://h:1","color":"blue","health":{"status":"down"},"proxmox":{"node":"n","vmname":"ignored"}}`,
			Record{Kind: routes.KindHTTP, Alias: "app", Key: "app", URL: "http://h:1", Proxmox: &Proxmox{Node: "n"}}},
		{"key with slashes is the path's rest", "/rr/http/a/b/c", `{"v":1,"alias":"abc","url":"http://h:1"}`,
			Record{Kind: routes.KindHTTP, Alias: "abc", Key: "a/b/c", URL: "http://h:1"}},
		{"excluded without url", "/rr/excluded/legacy", `{"v":1,"alias":"legacy"}`,
			Record{Kind: routes.KindExcluded, Alias: "legacy", Key: "legacy"}},
		{"null is absent", "/rr/http/app", `{"v":1,"alias":"app","url":"http://h:1","provider":null,"key":null}`,
			Record{Kind: routes.KindHTTP, Alias: "app", Key: "app", URL: "http://h:1"}},
		{"prefix with trailing slash", "/rr/http/x", `{"v":1,"alias":"x","url":"http://h:1"}`,
			Record{Kind: routes.KindHTTP, Alias: "x", Key: "x", URL: "http://h:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pfx
			if tc.name == "prefix with trailing slash" {
				p = pfx + "/"
			}
			got, err := ParseRecord(p, tc.key, []byte(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if (got.Proxmox == nil) != (tc.want.Proxmox == nil) || (got.Proxmox != nil && *got.Proxmox != *tc.want.Proxmox) {
				t.Fatalf("proxmox %+v, want %+v", got.Proxmox, tc.want.Proxmox)
			}
			got.Proxmox, tc.want.Proxmox = nil, nil
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			rt, err := NewRecordRoute(got, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			if rt.Key() != got.Key || rt.Kind() != got.Kind {
				t.Fatalf("route %s/%s", rt.Kind(), rt.Key())
			}
		})
	}
}

// badRecords is one of each kind of bad record (also used by the mirror's test).
var badRecords = []struct{ name, path, value, why string }{
	{"bad JSON", "http/badjson", `{"v":1,"alias":"x",`, "bad JSON"},
	{"not an object", "http/array", `[{"v":1,"alias":"x","url":"http://h:1"}]`, "not a JSON object"},
	{"a string", "http/string", `"hello"`, "not a JSON object"},
	{"null", "http/null", `null`, "not a JSON object"},
	{"empty value", "http/empty", ``, "not a JSON object"},
	{"trailing garbage", "http/trailing", `{"v":1,"alias":"trailing","url":"http://h:1"} x`, "bad JSON"},
	{"no v", "http/nov", `{"alias":"nov","url":"http://h:1"}`, `no "v"`},
	{"v 2", "http/v2", `{"v":2,"alias":"v2","url":"http://h:1"}`, `"v" is 2`},
	{"v as string", "http/vstr", `{"v":"1","alias":"vstr","url":"http://h:1"}`, `field "v"`},
	{"no alias", "http/noalias", `{"v":1,"url":"http://h:1"}`, `no "alias"`},
	{"alias not a string", "http/aliasnum", `{"v":1,"alias":7,"url":"http://h:1"}`, `field "alias"`},
	{"no url", "http/nourl", `{"v":1,"alias":"nourl"}`, `no "url"`},
	{"stream without url", "stream/nourl", `{"v":1,"alias":"nourl"}`, `no "url"`},
	{"key differs", "http/keyed", `{"v":1,"alias":"keyed","key":"other","url":"http://h:1"}`, "differs from the path"},
	{"priority out of range", "http/prio", `{"v":1,"alias":"prio","url":"http://h:1","priority":4294967296}`, `field "priority"`},
	{"priority fraction", "http/priof", `{"v":1,"alias":"priof","url":"http://h:1","priority":1.5}`, `field "priority"`},
	{"docker not bool", "http/dock", `{"v":1,"alias":"dock","url":"http://h:1","docker":"yes"}`, `field "docker"`},
	{"proxmox without node", "http/pxe", `{"v":1,"alias":"pxe","url":"http://h:1","proxmox":{"vmid":3}}`, `"proxmox" needs`},
	{"proxmox bad vmid", "http/pxv", `{"v":1,"alias":"pxv","url":"http://h:1","proxmox":{"node":"n","vmid":"x"}}`, `"vmid"`},
	{"unknown kind", "tcp/app", `{"v":1,"alias":"app","url":"tcp://h:1"}`, "unknown kind"},
	{"no kind", "lonely", `{"v":1,"alias":"lonely","url":"http://h:1"}`, "no <kind>/<key>"},
	{"empty key", "http/", `{"v":1,"alias":"e","url":"http://h:1"}`, "empty route key"},
	{"oversized", "http/big", `{"v":1,"alias":"big","url":"http://h:1","pad":"` + strings.Repeat("x", MaxRecordBytes) + `"}`, "more than"},
	// Refused by the library (rr_route_new and its setters).
	{"bad URL", "http/badurl", `{"v":1,"alias":"badurl","url":"http://exa mple.com:80"}`, "NewRoute"},
	{"URL without scheme", "http/noscheme", `{"v":1,"alias":"noscheme","url":"10.0.0.1:80"}`, "NewRoute"},
	{"bad port", "http/badport", `{"v":1,"alias":"badport","url":"http://h:99999"}`, "NewRoute"},
	{"empty alias", "http/emptyalias", `{"v":1,"alias":"","url":"http://h:1"}`, "NewRoute"},
	{"alias too long", "http/longalias", `{"v":1,"alias":"` + strings.Repeat("a", 256) + `","url":"http://h:1"}`, "NewRoute"},
	{"NUL in provider", "http/nul", `{"v":1,"alias":"nul","url":"http://h:1","provider":"a\u0000b"}`, "SetProvider"},
}

func TestParseRecordBad(t *testing.T) {
	for _, tc := range badRecords {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := ParseRecord(pfx, pfx+"/"+tc.path, []byte(tc.value))
			if err == nil {
				var rt *routes.Route[int]
				rt, err = NewRecordRoute(rec, 0)
				if err == nil {
					rt.Close()
					t.Fatalf("accepted: %+v", rec)
				}
			}
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("error %q does not say %q", err, tc.why)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, r := range []Record{
		{Kind: routes.KindHTTP, Alias: "app", URL: "http://10.0.0.1:8080"},
		{Kind: routes.KindHTTP, Alias: "app", Key: "app.example.com", DisplayName: "App", URL: "https://h:443", Provider: "p", Priority: 7, Docker: true},
		{Kind: routes.KindStream, Alias: "db", URL: "tcp://h:5432", Proxmox: &Proxmox{Node: "pve", VMID: 100}},
		{Kind: routes.KindExcluded, Alias: "old"},
	} {
		v, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(v), `{"v":1,`) {
			t.Fatalf("value %s does not start with the version", v)
		}
		got, err := ParseRecord(pfx, r.EtcdKey(pfx), v)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if got.Key != r.RouteKey() || got.Alias != r.Alias || got.URL != r.URL || got.Priority != r.Priority ||
			got.Provider != r.Provider || got.Docker != r.Docker || got.DisplayName != r.DisplayName {
			t.Fatalf("round trip of %+v gave %+v", r, got)
		}
	}
	big := Record{Kind: routes.KindHTTP, Alias: "big", URL: "http://h:1/" + strings.Repeat("x", MaxRecordBytes)}
	if _, err := big.Encode(); err == nil {
		t.Fatal("an oversized record was encoded")
	}
	if _, err := (Record{Kind: 9, Alias: "x"}).Encode(); err == nil {
		t.Fatal("a record of kind 9 was encoded")
	}
}
