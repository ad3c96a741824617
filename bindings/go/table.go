package routes

import (
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// ktable is the immutable open-addressing table Get reads (the active map of a replica's
// base): a power-of-two array of slots, at most half full, probed linearly from the key's
// hash (strhash, with random keys per table, so keys cannot be chosen to collide). It is not
// generic, so the lookup is a direct call with no dictionary; a slot's route is a *Route[T]
// held as an unsafe.Pointer (traced by the garbage collector like any pointer). Built once
// by buildTable, never written after: readers need no synchronization beyond the atomic load
// that published the view holding it.
type ktable struct {
	seed  [2]uint64
	mask  uint64
	slots []kslot // len(slots) == mask+1, a power of two
}

type kslot struct {
	hash uint64
	key  string
	rt   unsafe.Pointer // *Route[T]; nil: an empty slot (every stored route is non-nil)
}

// emptySlots is the one-slot array of a table with no keys (shared: never written).
var emptySlots = make([]kslot, 1)

// buildTable makes the table of m's non-nil entries, with new random keys.
func buildTable[T any](m map[string]*Route[T]) ktable {
	return fillTable(m, [2]uint64{rand.Uint64(), rand.Uint64() | 1}, false)
}

// tombstone marks, in an overlay's table, a key absent since the base was built.
var tombstone byte

// fillTable makes the table of m with keys seed; a nil entry is stored as &tombstone when
// keepNil (an overlay's table, probed before its base's with the base's keys), else left out.
func fillTable[T any](m map[string]*Route[T], seed [2]uint64, keepNil bool) ktable {
	if len(m) == 0 {
		return ktable{seed: seed, slots: emptySlots}
	}
	n := 1
	for n < 2*len(m) {
		n <<= 1
	}
	t := ktable{seed: seed, mask: uint64(n - 1), slots: make([]kslot, n)}
	for k, rt := range m {
		p := unsafe.Pointer(rt)
		if rt == nil {
			if !keepNil {
				continue
			}
			p = unsafe.Pointer(&tombstone)
		}
		h := strhash(k, &t.seed)
		i := h & t.mask
		for t.slots[i].rt != nil {
			i = (i + 1) & t.mask
		}
		t.slots[i] = kslot{hash: h, key: k, rt: p}
	}
	return t
}

// findOver is the route stored under key in over (a table made by fillTable with t's keys and
// keepNil), else in t; nil if none or if over holds the tombstone. One hash for both.
func (t *ktable) findOver(over *ktable, key string) unsafe.Pointer {
	h := strhash(key, &t.seed)
	if p := over.probe(h, key); p != nil {
		if p == unsafe.Pointer(&tombstone) {
			return nil
		}
		return p
	}
	return t.probe(h, key)
}

// probe is the entry stored under key whose hash is h, or nil.
func (t *ktable) probe(h uint64, key string) unsafe.Pointer {
	slots := t.slots
	mask := uint64(len(slots) - 1)
	for i := h; ; i++ {
		s := &slots[i&mask]
		if s.rt == nil {
			return nil
		}
		if s.hash == h && s.key == key {
			return s.rt
		}
	}
}

// find is the route stored under key (a *Route[T]), or nil. Allocates nothing.
func (t *ktable) find(key string) unsafe.Pointer {
	// strhash, written out here for the keys of 4 to 16 bytes (host aliases): no call
	n := len(key)
	var h uint64
	switch {
	case n >= 4 && n <= 8:
		h = hmix(uint64(le32(key))^t.seed[1]^hm2, uint64(le32(key[n-4:]))^t.seed[0]^hm5^uint64(n))
	case n > 8 && n <= 16:
		h = hmix(le64(key)^t.seed[1]^hm2, le64(key[n-8:])^t.seed[0]^hm5^uint64(n))
	default:
		h = strhash(key, &t.seed)
	}
	slots := t.slots
	mask := uint64(len(slots) - 1) // == t.mask; from len so the index needs no bounds check
	for i := h; ; i++ {
		s := &slots[i&mask]
		if s.rt == nil {
			return nil
		}
		if s.hash != h || len(s.key) != n {
			continue
		}
		// s.key == key, short keys (host aliases) in two word loads each, with no call
		a := s.key
		switch {
		case n >= 4 && n <= 8:
			if le32(a) == le32(key) && le32(a[n-4:]) == le32(key[n-4:]) {
				return s.rt
			}
		case n > 8 && n <= 16:
			if le64(a) == le64(key) && le64(a[n-8:]) == le64(key[n-8:]) {
				return s.rt
			}
		default:
			if a == key {
				return s.rt
			}
		}
	}
}

// The multipliers of the Go runtime's fallback hash (runtime/hash64.go).
const (
	hm2 = 0xe7037ed1a0b428db
	hm5 = 0x1d8e4e27c47d124f
)

func hmix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// strhash is derived from the Go runtime's fallback string hash (memhashFallback, itself from
// wyhash), keyed by k, with one final multiply instead of two: keys of 16 bytes or fewer (host
// aliases) take no loop and no call; find repeats the 4-to-16-byte cases inline.
func strhash(s string, k *[2]uint64) uint64 {
	n := len(s)
	seed := k[0]
	var a, b uint64
	switch {
	case n == 0:
		return seed
	case n < 4:
		a = uint64(s[0]) | uint64(s[n>>1])<<8 | uint64(s[n-1])<<16
	case n <= 8:
		a = uint64(le32(s))
		b = uint64(le32(s[n-4:]))
	case n <= 16:
		a = le64(s)
		b = le64(s[n-8:])
	default:
		for i := 0; n-i > 16; i += 16 {
			seed = hmix(le64(s[i:])^k[1], le64(s[i+8:])^seed)
		}
		a = le64(s[n-16:])
		b = le64(s[n-8:])
	}
	return hmix(a^k[1]^hm2, b^seed^hm5^uint64(n))
}

// le32 and le64 read a string's first 4 or 8 bytes little-endian (one load on the usual
// platforms: the compiler merges the byte loads).
func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
