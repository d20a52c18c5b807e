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
// entries, and only into an empty slot: an entry is never replaced.
// The cache learns during an instrument's first recentMarks lookups on
// the content path (the marks, "seen once"), and makes at most one entry
// per slot; both bounds saturate. After that a miss writes nothing, so
// strings at fresh addresses cost one failed lookup (a few words
// compared) and no store to memory that other cores read; and an
// instrument that learnt nothing in that time (its values are all built
// per call) skips the cache, for the price of one load.
//
// What it pays and costs, in CPU time per With + Add through the
// Prometheus backend (two labels; linux/amd64, a shared 2-core VM; best
// quartile of 15 runs of 2 million calls, read with getrusage so that
// other processes' load does not count; client_golang's
// WithLabelValues().Inc() on the same strings beside it):
//
//	label values                         with cache  without  client_golang
//	constants                            13.5 ns     27.7 ns  60.6 ns
//	fresh addresses, cache switched off  28.5 ns     29.7 ns  62.4 ns
//	fresh addresses, cache holding       34.8 ns     28.6 ns  62.4 ns
//	  constants learnt first (worst case)
//
// Instrumented code mostly passes constants (the middlewares do), so
// the cache stays. The go test benchmarks BenchmarkPrometheusCounterWithHit,
// …Fresh and …FreshAfterConstants in benchmarks/ measure the same cases
// in wall time.

const (
	recentLabels   = 4 // label sets with more labels skip the cache
	recentSlotBits = 4
	recentSlots    = 1 << recentSlotBits // entries per instrument
	// recentInstalls bounds the entries an instrument ever makes. As
	// entries are never replaced, it is the number of slots: once they
	// are all full, a miss only loads the count.
	recentInstalls = recentSlots
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
	off        atomic.Bool                // the marks were spent and no entry made: skip the cache
}

// identity hashes the addresses and lengths of kv's values: one 64-bit
// multiply per value, independent of the others so that they overlap,
// and the slot taken from the top bits, the best mixed. Calls with the
// same identity but other strings are told apart by find, which compares
// every address and length.
func identity(seed uint64, kv []string) uint64 {
	h := seed
	for i := 1; i < len(kv); i += 2 {
		h += (uint64(uintptr(unsafe.Pointer(unsafe.StringData(kv[i])))) ^ uint64(len(kv[i]))<<56) * (hashM1 + uint64(i)<<1)
	}
	return h
}

func recentSlot(id uint64) uint64 { return id >> (64 - recentSlotBits) }

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
// the same strings come twice in a row in their slot. Once the marks or
// the slots are spent it writes nothing; if the marks were spent before
// any entry was made, the cache is switched off for the instrument.
func (c *recentCache[H]) remember(id uint64, kv []string, s *series[H]) {
	if c.marks.Load() >= recentMarks || c.installs.Load() >= recentInstalls {
		return
	}
	slot := recentSlot(id)
	if c.candidates[slot].Load() != id {
		n, ok := saturatingInc(&c.marks, recentMarks)
		if ok {
			c.candidates[slot].Store(id)
		}
		if n == recentMarks && c.installs.Load() == 0 {
			c.off.Store(true)
		}
		return
	}
	if c.entries[slot].Load() != nil {
		return
	}
	if _, ok := saturatingInc(&c.installs, recentInstalls); !ok {
		return
	}
	e := &recentEntry[H]{s: s}
	for i := range kv {
		e.ptrs[i], e.lens[i] = unsafe.StringData(kv[i]), len(kv[i])
	}
	// An entry, once made, stays: label sets that share a slot cannot
	// evict each other in turn, and strings at recurring addresses
	// cannot push out the constants the cache learnt first.
	c.entries[slot].CompareAndSwap(nil, e)
}

// saturatingInc adds one to n unless n has reached bound, and returns
// the count and whether it added. Past the bound it only loads.
func saturatingInc(n *atomic.Int32, bound int32) (int32, bool) {
	for {
		v := n.Load()
		if v >= bound {
			return v, false
		}
		if n.CompareAndSwap(v, v+1) {
			return v + 1, true
		}
	}
}
