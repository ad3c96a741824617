package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/route-registry/routes"
)

func TestLoadRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routes.json")
	t.Setenv("UPSTREAM_1", "10.0.0.1:8080")
	if err := os.WriteFile(path, []byte(`[
  {"alias": "app", "upstream": "http://${UPSTREAM_1}", "provider": "ignored", "kind": "http"},
  {"alias": "db", "upstream": "tcp://10.0.0.2:5432", "kind": "stream", "priority": 2},
  {"alias": "legacy", "upstream": "", "kind": "excluded"}
]`), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, raw, err := loadRecords(path)
	if err != nil || len(raw) == 0 {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].URL != "http://10.0.0.1:8080" || recs[0].Kind != routes.KindHTTP ||
		recs[1].Kind != routes.KindStream || recs[1].Priority != 2 || recs[2].Kind != routes.KindExcluded {
		t.Fatalf("%+v", recs)
	}
	if err := os.WriteFile(path, []byte(`[{"alias": "x", "upstream": "http://h:1", "kind": "tcp"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadRecords(path); err == nil || !strings.Contains(err.Error(), `unknown kind "tcp"`) {
		t.Fatalf("unknown kind: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadRecords(path); err == nil {
		t.Fatal("bad JSON accepted")
	}
}
