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

// A background fold materializes an older view v and then brings it to the current view cur
// (rebase). A route added in v and deleted since leaves no overlay entry in cur (the key is
// back to its base value), so the fold must restore the base value rather than keep v's
// route: the fold once kept it, and Get answered a deleted route (seen in TestStress).
func TestFoldForgetsRoutesDeletedSinceItsSnapshot(t *testing.T) {
	keep, added, other, excl := &Route[*app]{}, &Route[*app]{}, &Route[*app]{}, &Route[*app]{}
	base := newTables[*app]()
	base.m[KindHTTP]["keep"], base.m[mActive]["keep"] = keep, keep
	base.m[KindExcluded]["gone"] = excl
	base.act = buildTable(base.m[mActive])
	v0 := newView(1, base, nil, 2, 0)

	b := newBuilder(v0)
	b.set(KindHTTP, "k", added)
	b.set(KindExcluded, "gone", nil)
	b.set(KindHTTP, "keep", nil)
	v := b.finish(2)
	if v.over == nil || v.active("k") != added || v.active("keep") != nil {
		t.Fatal("the snapshot view does not hold its changes as an overlay")
	}

	b = newBuilder(v)
	b.set(KindHTTP, "k", nil)        // back to the base value: the overlay entry goes
	b.set(KindHTTP, "keep", keep)    // likewise
	b.set(KindExcluded, "gone", nil) // still deleted: the entry stays
	b.set(KindStream, "other", other)
	cur := b.finish(3)
	if _, named := cur.over.m[KindHTTP]["k"]; named {
		t.Fatal("the overlay still names a key set back to its base value; the test needs it not to")
	}

	f := newBuilder(v)
	f.materialize()
	f.rebase(v, cur)
	nv := f.finish(cur.gen)
	for _, c := range []struct {
		m    int
		key  string
		want *Route[*app]
	}{
		{mActive, "k", nil}, {int(KindHTTP), "k", nil},
		{mActive, "keep", keep}, {int(KindHTTP), "keep", keep},
		{int(KindExcluded), "gone", nil},
		{mActive, "other", other}, {int(KindStream), "other", other},
	} {
		if got := nv.find(c.m, c.key); got != c.want {
			t.Errorf("folded view: map %d key %q = %p, want %p", c.m, c.key, got, c.want)
		}
		if got := cur.find(c.m, c.key); got != c.want {
			t.Errorf("current view: map %d key %q = %p, want %p", c.m, c.key, got, c.want)
		}
	}
	if nv.over != nil || nv.gen != 3 {
		t.Errorf("folded view: over = %v, gen = %d; want no overlay at gen 3", nv.over, nv.gen)
	}
}
