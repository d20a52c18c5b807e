package gokit_test

import (
	"context"
	"fmt"
	"testing"

	kitmetrics "github.com/go-kit/kit/metrics"
	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	stdprometheus "github.com/prometheus/client_golang/prometheus"

	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
)

// The benchmarks compare what Go kit code costs on Go kit's Prometheus
// backend and, unchanged, on obskit's through this package. They live in
// this module, beside Go kit, for the reason the benchmarks module is
// separate: Go kit stays out of the kit's go.mod.

func obskitPromRegistry(b *testing.B) *metrics.Registry {
	be, err := prometheus.New(prometheus.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return metrics.New(be)
}

// kitCounters returns a Go kit counter labelled method and success, from
// Go kit's Prometheus backend and from obskit's through ToKitCounter.
func kitCounters(b *testing.B) map[string]kitmetrics.Counter {
	vec := stdprometheus.NewCounterVec(stdprometheus.CounterOpts{Name: "requests_total", Help: "h"}, []string{"method", "success"})
	stdprometheus.NewRegistry().MustRegister(vec)
	c, err := obskitPromRegistry(b).NewCounter(metrics.Opts{Name: "requests", Help: "h", Labels: []string{"method", "success"}})
	if err != nil {
		b.Fatal(err)
	}
	return map[string]kitmetrics.Counter{
		"go-kit": kitprometheus.NewCounter(vec),
		"obskit": gokit.ToKitCounter(c),
	}
}

// BenchmarkKitCounterWith is Go kit's usual hot path: With on every call,
// through Go kit's interface. The label value is a fresh string each
// time in the realistic case, as fmt.Sprint(err == nil) makes it in Go
// kit's addsvc.
func BenchmarkKitCounterWith(b *testing.B) {
	for _, name := range []string{"obskit", "go-kit"} {
		b.Run(name+"/constant", func(b *testing.B) {
			c := kitCounters(b)[name]
			b.ReportAllocs()
			for b.Loop() {
				c.With("method", "Sum", "success", "true").Add(1)
			}
		})
		b.Run(name+"/fresh", func(b *testing.B) {
			c := kitCounters(b)[name]
			var err error
			b.ReportAllocs()
			for b.Loop() {
				c.With("method", "Sum", "success", fmt.Sprint(err == nil)).Add(1)
			}
		})
	}
}

// BenchmarkKitEndpointInstrumenting: a no-op Go kit endpoint wrapped in
// Go kit addsvc's instrumenting middleware over Go kit's Prometheus
// histogram, and wrapped in obskit's instrumenting middleware through
// ToKitMiddleware over obskit's Prometheus backend.
func BenchmarkKitEndpointInstrumenting(b *testing.B) {
	nop := func(_ context.Context, request any) (any, error) { return request, nil }
	ctx := context.Background()
	b.Run("obskit", func(b *testing.B) {
		ins, err := middleware.NewInstrumenting(obskitPromRegistry(b), middleware.InstrumentingOptions{})
		if err != nil {
			b.Fatal(err)
		}
		e := gokit.ToKitMiddleware(middleware.Instrument[any, any](ins, "Sum"))(nop)
		b.ReportAllocs()
		for b.Loop() {
			e(ctx, nil)
		}
	})
	b.Run("go-kit", func(b *testing.B) {
		vec := stdprometheus.NewHistogramVec(stdprometheus.HistogramOpts{
			Name: "request_duration_seconds", Help: "h", Buckets: metrics.DefaultBuckets(),
		}, []string{"method", "success"})
		stdprometheus.NewRegistry().MustRegister(vec)
		e := instrumentingEndpoint(kitprometheus.NewHistogram(vec).With("method", "Sum"))(nop)
		b.ReportAllocs()
		for b.Loop() {
			e(ctx, nil)
		}
	})
}

// BenchmarkKitHistogramObserve: an observation into a histogram with no
// labels, through Go kit's interface.
func BenchmarkKitHistogramObserve(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		h, err := obskitPromRegistry(b).NewHistogram(metrics.Opts{Name: "latency", Help: "h", Unit: metrics.UnitSeconds})
		if err != nil {
			b.Fatal(err)
		}
		kh := gokit.ToKitHistogram(h)
		b.ReportAllocs()
		for b.Loop() {
			kh.Observe(0.02)
		}
	})
	b.Run("go-kit", func(b *testing.B) {
		vec := stdprometheus.NewHistogramVec(stdprometheus.HistogramOpts{Name: "latency_seconds", Help: "h", Buckets: metrics.DefaultBuckets()}, nil)
		stdprometheus.NewRegistry().MustRegister(vec)
		kh := kitprometheus.NewHistogram(vec)
		b.ReportAllocs()
		for b.Loop() {
			kh.Observe(0.02)
		}
	})
}
