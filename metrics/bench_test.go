package metrics_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/obskit/obskit/metrics"
)

func BenchmarkWithHit(b *testing.B) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	c.With("method", "GET", "code", "200").Add(1)
	b.ReportAllocs()
	for b.Loop() {
		c.With("method", "GET", "code", "200").Add(1)
	}
}

// freshPool is how many copies of each label value the fresh-string
// benchmarks cycle through: more than the identity cache keeps, so every
// call passes strings at addresses not seen recently, as a server passes
// values it copied out of a request, without allocating in the loop,
// and few enough to stay in the CPU cache as a just-copied value is.
const freshPool = 256

// freshCopies returns n copies of s, each at its own address.
func freshCopies(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Clone(s)
	}
	return out
}

// BenchmarkWithHitFresh is BenchmarkWithHit with label values at fresh
// addresses: equal content, never the same strings twice in a row.
func BenchmarkWithHitFresh(b *testing.B) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	methods, codes := freshCopies("GET", freshPool), freshCopies("200", freshPool)
	c.With("method", "GET", "code", "200").Add(1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.With("method", methods[i], "code", codes[i]).Add(1)
		i = (i + 1) % freshPool
	}
}

// BenchmarkWithHitFreshAfterConstants: fresh strings into an instrument
// whose identity cache learnt constants first, so that it stays on and
// every fresh call pays its failed lookup: the cache's worst case.
func BenchmarkWithHitFreshAfterConstants(b *testing.B) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	methods, codes := freshCopies("GET", freshPool), freshCopies("200", freshPool)
	for range 3 {
		c.With("method", "GET", "code", "200").Add(1)
		c.With("method", "POST", "code", "201").Add(1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.With("method", methods[i], "code", codes[i]).Add(1)
		i = (i + 1) % freshPool
	}
}

func BenchmarkBoundAdd(b *testing.B) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	child := c.Bind("method", "GET", "code", "200")
	b.ReportAllocs()
	for b.Loop() {
		child.Add(1)
	}
}

// BenchmarkWithOverflow: a label set past the cardinality limit, which
// must cost no allocation per call.
func BenchmarkWithOverflow(b *testing.B) {
	const limit = 100
	reg := metrics.New(metrics.Discard(), metrics.WithCardinalityLimit(limit))
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	for i := range limit {
		c.With("method", "GET", "code", strconv.Itoa(i)).Add(1)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.With("method", "GET", "code", "past").Add(1)
	}
}
