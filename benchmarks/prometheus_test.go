package benchmarks

import (
	"context"
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
	b.Run("client_golang-Add", func(b *testing.B) {
		// client_golang's own Add(1), the call obskit's bound Add makes.
		c := newClientGolangCounter(b).WithLabelValues("GET", "200")
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
}

func BenchmarkPrometheusCounterBoundParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b).Bind("method", "GET", "code", "200")
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

// BenchmarkPrometheusHistogramBound: observe into a child bound before
// the loop; obskit through Observe, and through ObserveContext with a
// context holding no span, as the middlewares call it.
func BenchmarkPrometheusHistogramBound(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		h := newPromHistogram(b).Bind("method", "GET")
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(observed)
		}
	})
	b.Run("obskit-ObserveContext", func(b *testing.B) {
		h := newPromHistogram(b).Bind("method", "GET")
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			h.ObserveContext(ctx, observed)
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		h := newClientGolangHistogram(b).WithLabelValues("GET")
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(observed)
		}
	})
}

func BenchmarkPrometheusHistogramBoundParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		h := newPromHistogram(b).Bind("method", "GET")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe(observed)
			}
		})
	})
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
	b.Run("client_golang", func(b *testing.B) {
		h := newClientGolangHistogram(b).WithLabelValues("GET")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe(observed)
			}
		})
	})
}

// BenchmarkPrometheusCounterWithHit: look up a label set already seen,
// then add one: obskit's cached With, client_golang's WithLabelValues,
// and Go kit's adapter over the same CounterVec.
func BenchmarkPrometheusCounterWithHit(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newPromCounter(b)
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
	b.Run("go-kit", func(b *testing.B) {
		c := kitprometheus.NewCounter(newClientGolangCounter(b))
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
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
