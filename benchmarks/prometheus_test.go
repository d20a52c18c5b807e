package benchmarks

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"

	obskitprom "github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/metrics"
)

// The Prometheus benchmarks put obskit's real Prometheus backend
// (backends/prometheus) beside hand-written client_golang code and Go
// kit's client_golang adapter, recording the same thing into the same
// shape of collector.

func newPromRegistry(b *testing.B) *metrics.Registry {
	be, err := obskitprom.New(obskitprom.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return metrics.New(be)
}

func newPromCounter(b *testing.B) *metrics.CounterMetric {
	c, err := newPromRegistry(b).NewCounter(metrics.Opts{Name: "requests", Help: "h", Labels: []string{"method", "code"}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func newPromHistogram(b *testing.B) *metrics.HistogramMetric {
	h, err := newPromRegistry(b).NewHistogram(metrics.Opts{Name: "duration", Help: "h", Unit: metrics.UnitSeconds, Labels: []string{"method"}})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func newClientGolangCounter(b *testing.B) *prometheus.CounterVec {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, []string{"method", "code"})
	if err := prometheus.NewRegistry().Register(vec); err != nil {
		b.Fatal(err)
	}
	return vec
}

func newClientGolangHistogram(b *testing.B) *prometheus.HistogramVec {
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "duration_seconds", Help: "h", Buckets: metrics.DefaultBuckets()}, []string{"method"})
	if err := prometheus.NewRegistry().Register(vec); err != nil {
		b.Fatal(err)
	}
	return vec
}

// observed is the value the histogram benchmarks record: in the middle
// of the default buckets.
const observed = 0.3

// BenchmarkPrometheusCounterBound: add one to a child bound before the
// loop.
func BenchmarkPrometheusCounterBound(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b).Bind("method", "GET", "code", "200")
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			c.Add(1)
		}
		cpu.stop(b)
	})
	b.Run("client_golang", func(b *testing.B) {
		c := newClientGolangCounter(b).WithLabelValues("GET", "200")
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			c.Inc()
		}
		cpu.stop(b)
	})
	b.Run("client_golang-Add", func(b *testing.B) {
		// client_golang's own Add(1), the call obskit's bound Add makes.
		c := newClientGolangCounter(b).WithLabelValues("GET", "200")
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			c.Add(1)
		}
		cpu.stop(b)
	})
}

func BenchmarkPrometheusCounterBoundParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) { benchBoundAddParallel(b, newPromCounter(b).Bind("method", "GET", "code", "200")) })
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

// BenchmarkPrometheusHistogramBound: observe into a child bound before
// the loop; obskit through Observe, and through ObserveContext with a
// context holding no span, as the middlewares call it.
func BenchmarkPrometheusHistogramBound(b *testing.B) {
	b.Run("obskit", func(b *testing.B) { benchBoundObserve(b, newPromHistogram(b).Bind("method", "GET")) })
	b.Run("obskit-ObserveContext", func(b *testing.B) {
		h := newPromHistogram(b).Bind("method", "GET")
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			h.ObserveContext(ctx, observed)
		}
	})
	b.Run("client_golang", benchClientGolangObserve)
}

func BenchmarkPrometheusHistogramBoundParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) { benchBoundObserveParallel(b, newPromHistogram(b).Bind("method", "GET")) })
	b.Run("obskit-ObserveContext", func(b *testing.B) {
		h := newPromHistogram(b).Bind("method", "GET")
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.ObserveContext(ctx, observed)
			}
		})
	})
	b.Run("client_golang", benchClientGolangObserveParallel)
}

// BenchmarkPrometheusCounterWithHit: look up a label set already seen,
// then add one: obskit's cached With, client_golang's WithLabelValues,
// and Go kit's adapter over the same CounterVec. The label values are
// string constants, the same strings every call: obskit's best case (its
// identity cache finds them by address). BenchmarkPrometheusCounterWithHitFresh
// is the case of values built per request.
func BenchmarkPrometheusCounterWithHit(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b)
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
		cpu.stop(b)
	})
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		vec.WithLabelValues("GET", "200").Inc()
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			vec.WithLabelValues("GET", "200").Inc()
		}
		cpu.stop(b)
	})
	b.Run("go-kit", func(b *testing.B) {
		c := kitprometheus.NewCounter(newClientGolangCounter(b))
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
		cpu.stop(b)
	})
}

// freshPool is how many copies of each label value the fresh-string
// benchmarks cycle through. A server passes label values it copied out
// of a request (net/http allocates r.Method per request, strconv.Itoa
// builds a status code), so the same content arrives at a new address
// each time, recently written and so in the CPU cache. Cycling through
// 256 copies gives every call strings at an address no recent call
// used, with no allocation in the loop, and keeps them in the cache
// (4096 copies measure memory latency instead: about twice the time for
// every library).
const freshPool = 256

// freshCopies returns n copies of s, each at its own address.
func freshCopies(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Clone(s)
	}
	return out
}

// BenchmarkPrometheusCounterWithHitFresh is BenchmarkPrometheusCounterWithHit
// with label values at fresh addresses (see freshPool): the same
// strings, in the same order, for every library.
func BenchmarkPrometheusCounterWithHitFresh(b *testing.B) {
	methods, codes := freshCopies("GET", freshPool), freshCopies("200", freshPool)
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b)
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		i := 0
		cpu := startCPU()
		for b.Loop() {
			c.With("method", methods[i], "code", codes[i]).Add(1)
			i = (i + 1) % freshPool
		}
		cpu.stop(b)
	})
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		vec.WithLabelValues("GET", "200").Inc()
		b.ReportAllocs()
		i := 0
		cpu := startCPU()
		for b.Loop() {
			vec.WithLabelValues(methods[i], codes[i]).Inc()
			i = (i + 1) % freshPool
		}
		cpu.stop(b)
	})
}

// BenchmarkPrometheusCounterWithHitFreshAfterConstants: fresh strings
// into an obskit instrument whose identity cache learnt constants first
// (two label sets), so that it stays on and every fresh call pays a
// failed lookup in it: obskit's worst case. client_golang has no such
// cache; its figure is BenchmarkPrometheusCounterWithHitFresh's.
func BenchmarkPrometheusCounterWithHitFreshAfterConstants(b *testing.B) {
	methods, codes := freshCopies("GET", freshPool), freshCopies("200", freshPool)
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b)
		for range 3 {
			c.With("method", "GET", "code", "200").Add(1)
			c.With("method", "POST", "code", "201").Add(1)
		}
		b.ReportAllocs()
		i := 0
		cpu := startCPU()
		for b.Loop() {
			c.With("method", methods[i], "code", codes[i]).Add(1)
			i = (i + 1) % freshPool
		}
		cpu.stop(b)
	})
}

// BenchmarkPrometheusCounterWithHitFreshParallel: the fresh-string case
// from every core, each goroutine cycling through the pool from its own
// starting point.
func BenchmarkPrometheusCounterWithHitFreshParallel(b *testing.B) {
	methods, codes := freshCopies("GET", freshPool), freshCopies("200", freshPool)
	var start atomic.Int64
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b)
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(start.Add(97)) % freshPool
			for pb.Next() {
				c.With("method", methods[i], "code", codes[i]).Add(1)
				i = (i + 1) % freshPool
			}
		})
	})
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		vec.WithLabelValues("GET", "200").Inc()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(start.Add(97)) % freshPool
			for pb.Next() {
				vec.WithLabelValues(methods[i], codes[i]).Inc()
				i = (i + 1) % freshPool
			}
		})
	})
}

func BenchmarkPrometheusCounterWithHitParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b)
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
	b.Run("go-kit", func(b *testing.B) {
		c := kitprometheus.NewCounter(newClientGolangCounter(b))
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.With("method", "GET", "code", "200").Add(1)
			}
		})
	})
}
