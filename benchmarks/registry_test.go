package benchmarks

import (
	"strconv"
	"testing"

	"github.com/obskit/obskit/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// clientGolangBackend is the least a metrics.Backend over client_golang
// can be: each label set binds a CounterVec child. It isolates the cost
// of the Registry front-end from any backend's own work.
type clientGolangBackend struct {
	metrics.Backend // only counters are used here
	reg             *prometheus.Registry
}

func (b clientGolangBackend) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: d.Name, Help: "h"}, d.Labels)
	if err := b.reg.Register(vec); err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.CounterHandle](func(v []string) metrics.CounterHandle {
		return vec.WithLabelValues(v...)
	}), nil
}

func newObskitCounter(b *testing.B, limit int) *metrics.CounterMetric {
	reg := metrics.New(clientGolangBackend{reg: prometheus.NewRegistry()}, metrics.WithCardinalityLimit(limit))
	c, err := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method", "code"}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func newClientGolangCounter(b *testing.B) *prometheus.CounterVec {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, []string{"method", "code"})
	if err := prometheus.NewRegistry().Register(vec); err != nil {
		b.Fatal(err)
	}
	return vec
}

// BenchmarkCounterWithHit: look up a cached label set, then add one.
func BenchmarkCounterWithHit(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newObskitCounter(b, metrics.DefaultCardinalityLimit)
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		vec.WithLabelValues("GET", "200").Inc()
		b.ReportAllocs()
		for b.Loop() {
			vec.WithLabelValues("GET", "200").Inc()
		}
	})
}

func BenchmarkCounterWithHitParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newObskitCounter(b, metrics.DefaultCardinalityLimit)
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.With("method", "GET", "code", "200").Add(1)
			}
		})
	})
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		vec.WithLabelValues("GET", "200").Inc()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				vec.WithLabelValues("GET", "200").Inc()
			}
		})
	})
}

// BenchmarkCounterBound: add one to a child bound before the loop.
func BenchmarkCounterBound(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newObskitCounter(b, metrics.DefaultCardinalityLimit).Bind("method", "GET", "code", "200")
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		c := newClientGolangCounter(b).WithLabelValues("GET", "200")
		b.ReportAllocs()
		for b.Loop() {
			c.Inc()
		}
	})
}

func BenchmarkCounterBoundParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newObskitCounter(b, metrics.DefaultCardinalityLimit).Bind("method", "GET", "code", "200")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
	b.Run("client_golang", func(b *testing.B) {
		c := newClientGolangCounter(b).WithLabelValues("GET", "200")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
			}
		})
	})
}

// BenchmarkCounterWithMiss: every iteration uses a label set never seen
// before, so both libraries make and register a new child. Counters are
// replaced every missBatch label sets, outside the timer, to bound memory.
func BenchmarkCounterWithMiss(b *testing.B) {
	const missBatch = 10000
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
				c = newObskitCounter(b, missBatch)
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
