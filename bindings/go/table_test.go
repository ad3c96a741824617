package routes

import (
	"strings"
	"testing"
	"unsafe"
)

// The lookup table finds every key it was built from, of every length (each branch of
// strhash), and no other; keys differing in one byte anywhere hash apart.
func TestTableFindsItsKeysOnly(t *testing.T) {
	m := map[string]*Route[*app]{}
	var keys []string
	for n := 0; n <= 70; n++ {
		for _, c := range []byte("ab") {
			keys = append(keys, strings.Repeat("x", n/2)+string(c)+strings.Repeat("y", n-n/2))
		}
	}
	for _, k := range keys {
		m[k] = &Route[*app]{}
	}
	m["deleted"] = nil
	tb := buildTable(m)
	for _, k := range keys {
		if got := tb.find(k); got != unsafe.Pointer(m[k]) {
			t.Fatalf("find(%q) = %p, want %p", k, got, m[k])
		}
		for i := range len(k) {
			other := k[:i] + "z" + k[i+1:]
			if _, in := m[other]; !in && tb.find(other) != nil {
				t.Fatalf("find(%q) found a route", other)
			}
			if strhash(other, &tb.seed) == strhash(k, &tb.seed) {
				t.Fatalf("%q and %q hash alike", k, other)
			}
		}
	}
	for _, k := range []string{"deleted", "", "nope", strings.Repeat("q", 33)} {
		if tb.find(k) != nil {
			t.Fatalf("find(%q) found a route", k)
		}
	}
	empty := buildTable(map[string]*Route[*app]{})
	if empty.find("x") != nil || empty.find("") != nil {
		t.Fatal("the empty table found a route")
	}
}
