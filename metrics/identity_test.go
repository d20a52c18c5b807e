package metrics

import (
	"strconv"
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
	if inst.findRecent([]string{"code", a}) == nil {
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
