package metrics

import (
	"sync/atomic"
	"unsafe"
)

// The identity cache. Instrumented code mostly passes the same string
// constants to With call after call ("method", "GET", …), so before
// hashing label values the registry looks the call up by the addresses
// and lengths of its strings: a hit compares a few words and reads no
// string content. The cache is small and direct-mapped; an entry keeps
// the strings it names alive, so an address can never be reused for
// other content while an entry holds it.
//
// An entry is made only for a call whose identity is seen twice in a row
// in its slot on the content path, so strings built afresh for every
// call (strconv.Itoa, a value copied out of a request) never make
// entries. Both the marks ("seen once") and the entries are bounded per
// instrument, and the bounds saturate: once either is spent, a miss
// writes nothing, so strings at fresh addresses cost one failed lookup
// (a few words compared) and no store to memory that other cores read.
// The cache therefore learns the label sets an instrument meets first
// and keeps them; what comes after takes the content path, which is
// correct for any strings.

const (
	recentLabels = 4  // label sets with more labels skip the cache
	recentSlots  = 16 // entries per instrument, a power of two
	// recentInstalls bounds the entries an instrument ever makes, so
	// that label sets which share a slot and take turns cannot make it
	// allocate on every call.
	recentInstalls = 4 * recentSlots
	// recentMarks bounds the "seen once" marks an instrument ever
	// writes, so that strings at fresh addresses stop writing to the
	// cache after a while.
	recentMarks = 64 * recentSlots
)

// recentEntry maps the identity of one in-order With call to its series.
// It is immutable once published.
type recentEntry[H any] struct {
	ptrs [2 * recentLabels]*byte
	lens [2 * recentLabels]int
	s    *series[H]
}

// recentCache is an instrument's identity cache.
type recentCache[H any] struct {
	entries    [recentSlots]atomic.Pointer[recentEntry[H]]
	candidates [recentSlots]atomic.Uint64 // per slot, the last identity marked
	installs   atomic.Int32               // entries made, saturating at recentInstalls
	marks      atomic.Int32               // marks written, saturating at recentMarks
}

// identity hashes the addresses and lengths of kv's values.
func identity(seed uint64, kv []string) uint64 {
	h := seed
	for i := 1; i < len(kv); i += 2 {
		h = mix(h^uint64(uintptr(unsafe.Pointer(unsafe.StringData(kv[i])))), hashM1^uint64(len(kv[i])))
	}
	return h
}

func recentSlot(id uint64) uint64 { return id & (recentSlots - 1) }

// find returns the series cached for the strings in kv, whose identity
// is id, or nil.
func (c *recentCache[H]) find(id uint64, kv []string) *series[H] {
	e := c.entries[recentSlot(id)].Load()
	if e == nil {
		return nil
	}
	for i := range kv {
		if e.ptrs[i] != unsafe.StringData(kv[i]) || e.lens[i] != len(kv[i]) {
			return nil
		}
	}
	return e.s
}

// remember notes that kv, whose identity is id and whose names are in
// declaration order, found s on the content path, and caches it when
// the same strings come twice in a row in their slot. Past either bound
// it writes nothing.
func (c *recentCache[H]) remember(id uint64, kv []string, s *series[H]) {
	if c.installs.Load() >= recentInstalls {
		return
	}
	slot := recentSlot(id)
	if c.candidates[slot].Load() != id {
		if saturatingInc(&c.marks, recentMarks) {
			c.candidates[slot].Store(id)
		}
		return
	}
	if !saturatingInc(&c.installs, recentInstalls) {
		return
	}
	e := &recentEntry[H]{s: s}
	for i := range kv {
		e.ptrs[i], e.lens[i] = unsafe.StringData(kv[i]), len(kv[i])
	}
	c.entries[slot].Store(e)
}

// saturatingInc adds one to n unless n has reached bound, and reports
// whether it did. Past the bound it only loads.
func saturatingInc(n *atomic.Int32, bound int32) bool {
	for {
		v := n.Load()
		if v >= bound {
			return false
		}
		if n.CompareAndSwap(v, v+1) {
			return true
		}
	}
}
