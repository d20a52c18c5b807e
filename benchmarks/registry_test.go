package benchmarks

import (
	"strconv"
	"testing"

	obskitprom "github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkCounterWithMiss: every iteration uses a label set never seen
// before, so both libraries make and register a new child. Counters are
// replaced every missBatch label sets, outside the timer, to bound memory
// (missBatch is the default cardinality limit, so obskit never overflows).
func BenchmarkCounterWithMiss(b *testing.B) {
	const missBatch = metrics.DefaultCardinalityLimit
	codes := make([]string, missBatch)
	for i := range codes {
		codes[i] = strconv.Itoa(i)
	}
	b.Run("obskit", func(b *testing.B) {
		var c *metrics.CounterMetric
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i%missBatch == 0 {
				b.StopTimer()
				c = newPromCounter(b)
				b.StartTimer()
			}
			c.With("method", "GET", "code", codes[i%missBatch]).Add(1)
			i++
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		var vec *prometheus.CounterVec
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i%missBatch == 0 {
				b.StopTimer()
				vec = newClientGolangCounter(b)
				b.StartTimer()
			}
			vec.WithLabelValues("GET", codes[i%missBatch]).Inc()
			i++
		}
	})
}

// BenchmarkCounterWithOverflow: a label set past the cardinality limit
// goes to the overflow series, with no allocation. client_golang has no
// limit (it would make a child per label set, as in
// BenchmarkCounterWithMiss), so obskit runs alone here.
func BenchmarkCounterWithOverflow(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		const limit = 100
		be, err := obskitprom.New(obskitprom.Options{})
		if err != nil {
			b.Fatal(err)
		}
		c, err := metrics.New(be, metrics.WithCardinalityLimit(limit)).NewCounter(metrics.Opts{Name: "requests", Help: "h", Labels: []string{"method", "code"}})
		if err != nil {
			b.Fatal(err)
		}
		for i := range limit {
			c.With("method", "GET", "code", strconv.Itoa(i)).Add(1)
		}
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", "GET", "code", "999").Add(1)
		}
	})
}
