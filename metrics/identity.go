package metrics

import "unsafe"

// The identity cache. Instrumented code mostly passes the same string
// constants to With call after call ("method", "GET", …), so before
// hashing label values the registry looks the call up by the addresses
// and lengths of its strings: a hit compares a few words and reads no
// string content. The cache is small and direct-mapped; an entry keeps
// the strings it names alive, so an address can never be reused for
// other content while an entry holds it. An entry is made only for a
// call whose identity is seen twice in a row on the content path, so
// strings built afresh for every call (strconv.Itoa) never allocate
// entries; they simply take the content path. The "seen before" mark is
// kept per slot, so label sets used in turn are each cached.

const (
	recentLabels = 4  // label sets with more labels skip the cache
	recentSlots  = 16 // entries per instrument, a power of two
	// recentInstalls bounds the entries an instrument ever makes, so
	// that label sets which share a slot and take turns cannot make it
	// allocate on every call: past the bound, the cache keeps what it
	// has and other calls take the content path.
	recentInstalls = 4 * recentSlots
)

// recentEntry maps the identity of one in-order With call to its series.
// It is immutable once published.
type recentEntry[H any] struct {
	ptrs [2 * recentLabels]*byte
	lens [2 * recentLabels]int
	s    *series[H]
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

// findRecent returns the series cached for the strings in kv, or nil.
func (inst *instrument[H]) findRecent(kv []string) *series[H] {
	e := inst.recent[recentSlot(identity(inst.seed, kv))].Load()
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

// remember notes that kv, whose names are in declaration order, found s
// on the content path, and caches it once the same strings come twice.
func (inst *instrument[H]) remember(kv []string, s *series[H]) {
	id := identity(inst.seed, kv)
	slot := recentSlot(id)
	if inst.candidates[slot].Load() != id {
		inst.candidates[slot].Store(id)
		return
	}
	if inst.installs.Add(1) > recentInstalls {
		return
	}
	e := &recentEntry[H]{s: s}
	for i := range kv {
		e.ptrs[i], e.lens[i] = unsafe.StringData(kv[i]), len(kv[i])
	}
	inst.recent[slot].Store(e)
}
