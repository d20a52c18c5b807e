package metrics

import (
	"strconv"
	"strings"
	"testing"
)

// TestIdentityCacheCollisionsStopAllocating: two label sets that share a
// slot of the identity cache, one already cached, used in turn. Each
// would evict the other on every second call; the install bound must
// stop the allocations that makes.
func TestIdentityCacheCollisionsStopAllocating(t *testing.T) {
	reg := New(Discard())
	c, err := reg.NewCounter(Opts{Name: "c", Labels: []string{"code"}})
	if err != nil {
		t.Fatal(err)
	}
	inst := (*series[CounterHandle])(c).inst
	// Find two distinct strings whose calls land in the same slot.
	values := map[uint64]string{}
	var a, b string
	for i := 0; b == ""; i++ {
		v := strconv.Itoa(i)
		slot := recentSlot(identity(inst.seed, []string{"code", v}))
		if prev, ok := values[slot]; ok {
			a, b = prev, v
		} else {
			values[slot] = v
		}
	}
	for range 3 { // made, marked, cached
		c.With("code", a).Add(1)
	}
	if inst.recent.find(identity(inst.seed, []string{"code", a}), []string{"code", a}) == nil {
		t.Fatal("a was not cached after three calls")
	}
	turns := func() {
		c.With("code", b).Add(1)
		c.With("code", b).Add(1)
		c.With("code", a).Add(1)
		c.With("code", a).Add(1)
	}
	for range 100 { // each round can make two entries: 200 > recentInstalls
		turns()
	}
	if allocs := testing.AllocsPerRun(100, turns); allocs != 0 {
		t.Errorf("%v allocations per round, want 0 once the install bound is reached", allocs)
	}
}

// TestIdentityCacheBoundsSaturate: the install bound is a bound, not a
// count that keeps growing on every call past it (a contended atomic add
// per call, and an allocation per call again once it wrapped), and an
// entry once made is never replaced by a label set sharing its slot.
func TestIdentityCacheBoundsSaturate(t *testing.T) {
	reg := New(Discard())
	c, err := reg.NewCounter(Opts{Name: "c", Labels: []string{"code"}})
	if err != nil {
		t.Fatal(err)
	}
	inst := (*series[CounterHandle])(c).inst
	codes := make([]string, 32)
	for i := range codes {
		codes[i] = strconv.Itoa(200 + i)
	}
	round := func() {
		for _, code := range codes { // twice in a row each: colliding sets would evict each other
			c.With("code", code).Add(1)
			c.With("code", code).Add(1)
		}
	}
	round()
	var first [recentSlots]*recentEntry[CounterHandle]
	for i := range first {
		first[i] = inst.recent.entries[i].Load()
	}
	for range 1000 {
		round()
	}
	if n := inst.recent.installs.Load(); n == 0 || n > recentInstalls {
		t.Errorf("installs = %d after 64 000 calls, want 1..%d", n, recentInstalls)
	}
	if n := inst.recent.marks.Load(); n > recentMarks {
		t.Errorf("marks = %d, want at most %d", n, recentMarks)
	}
	for i, e := range first {
		if e != nil && inst.recent.entries[i].Load() != e {
			t.Errorf("slot %d: entry replaced", i)
		}
	}
}

// TestIdentityCacheFreshStringsStopWriting: label values at a fresh
// address on every call can never become entries; once the marks are
// spent such a call must write nothing to the cache.
func TestIdentityCacheFreshStringsStopWriting(t *testing.T) {
	reg := New(Discard())
	c, err := reg.NewCounter(Opts{Name: "c", Labels: []string{"method"}})
	if err != nil {
		t.Fatal(err)
	}
	inst := (*series[CounterHandle])(c).inst
	fresh := func() string { return strings.Clone("GET") }
	for range 2 * recentMarks {
		c.With("method", fresh()).Add(1)
	}
	if n := inst.recent.marks.Load(); n != recentMarks {
		t.Fatalf("marks = %d after %d fresh calls, want %d", n, 2*recentMarks, recentMarks)
	}
	var before [recentSlots]uint64
	for i := range before {
		before[i] = inst.recent.candidates[i].Load()
	}
	for range 1000 {
		c.With("method", fresh()).Add(1)
	}
	for i := range before {
		if got := inst.recent.candidates[i].Load(); got != before[i] {
			t.Fatalf("slot %d: a fresh-string call wrote a mark after the marks were spent", i)
		}
	}
	if n := inst.recent.installs.Load(); n != 0 {
		t.Errorf("installs = %d, want 0: fresh strings never make entries", n)
	}
}

// TestIdentityCacheSwitchesOff: an instrument whose values are all built
// per call spends its marks without making an entry and stops consulting
// the cache; one that learnt constants first keeps serving them from it
// however many fresh strings follow.
func TestIdentityCacheSwitchesOff(t *testing.T) {
	reg := New(Discard())
	fresh, _ := reg.NewCounter(Opts{Name: "fresh", Labels: []string{"method"}})
	mixed, _ := reg.NewCounter(Opts{Name: "mixed", Labels: []string{"method"}})
	for range 3 {
		mixed.With("method", "GET").Add(1)
	}
	for range 2 * recentMarks {
		fresh.With("method", strings.Clone("GET")).Add(1)
		mixed.With("method", strings.Clone("GET")).Add(1)
	}
	if f := (*series[CounterHandle])(fresh).inst; !f.recent.off.Load() {
		t.Errorf("fresh-only instrument: cache still on (marks %d, installs %d)", f.recent.marks.Load(), f.recent.installs.Load())
	}
	m := (*series[CounterHandle])(mixed).inst
	if m.recent.off.Load() {
		t.Error("instrument that learnt a constant switched its cache off")
	}
	kv := []string{"method", "GET"}
	if m.recent.find(identity(m.seed, kv), kv) == nil {
		t.Error("the constant is no longer cached")
	}
	if got := fresh.With("method", "GET"); got != fresh.With("method", strings.Clone("GET")) {
		t.Error("with the cache off, equal values found another series")
	}
}
