package benchmarks

import (
	"strconv"
	"testing"

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
