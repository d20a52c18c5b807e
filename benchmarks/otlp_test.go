package benchmarks

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/obskit/obskit/backends/otlp"
	"github.com/obskit/obskit/metrics"
)

// The OTLP benchmarks put obskit's OTLP backend (backends/otlp) beside the
// OpenTelemetry Go SDK's own instruments recording the same thing. Both
// export through an sdk/metric PeriodicReader; here its exporter discards
// what it is given, so that the figures are the recording and collection
// costs, not a network's.

// discardMetricExporter is an sdk/metric Exporter that drops every export.
type discardMetricExporter struct{}

func (discardMetricExporter) Temporality(sdkmetric.InstrumentKind) metricdata.Temporality {
	return metricdata.CumulativeTemporality
}

func (discardMetricExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}
func (discardMetricExporter) Export(context.Context, *metricdata.ResourceMetrics) error { return nil }
func (discardMetricExporter) ForceFlush(context.Context) error                          { return nil }
func (discardMetricExporter) Shutdown(context.Context) error                            { return nil }

func newOTLPBackend(b *testing.B) *otlp.Backend {
	be, err := otlp.New(otlp.Options{Exporter: discardMetricExporter{}, FlushInterval: time.Hour, ServiceName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close(context.Background()) })
	return be
}

// newOTLPCounter is pushCounter on a new OTLP backend.
func newOTLPCounter(b *testing.B) *metrics.CounterMetric {
	return pushCounter(b, newOTLPBackend(b))
}

// newSDKMeter returns a Meter of an SDK MeterProvider exporting through a
// PeriodicReader to the discarding exporter, and the reader.
func newSDKMeter(b *testing.B) (otelmetric.Meter, *sdkmetric.PeriodicReader) {
	r := sdkmetric.NewPeriodicReader(discardMetricExporter{}, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r), sdkmetric.WithCardinalityLimit(0))
	b.Cleanup(func() { mp.Shutdown(context.Background()) })
	return mp.Meter("bench"), r
}

// newSDKCounter is the counter "requests" of newSDKMeter.
func newSDKCounter(b *testing.B) otelmetric.Float64Counter {
	m, _ := newSDKMeter(b)
	c, err := m.Float64Counter("requests")
	if err != nil {
		b.Fatal(err)
	}
	return c
}

var benchAttrs = []attribute.KeyValue{attribute.String("method", "GET"), attribute.String("code", "200")}

// BenchmarkOTLPCounterBound: add one to a series bound before the loop.
// The SDK has no bound instrument; its closest are an attribute set built
// before the loop (WithAttributeSet) and attributes given on each call
// (WithAttributes), which is how it is usually called.
func BenchmarkOTLPCounterBound(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		benchBoundAdd(b, newOTLPCounter(b).Bind("method", "GET", "code", "200"))
	})
	b.Run("atomic.AddUint64", benchAtomicAdd)
	b.Run("otel-sdk-WithAttributeSet", func(b *testing.B) {
		c := newSDKCounter(b)
		opt := otelmetric.WithAttributeSet(attribute.NewSet(benchAttrs...))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, opt)
		}
	})
	b.Run("otel-sdk-WithAttributes", func(b *testing.B) {
		c := newSDKCounter(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, otelmetric.WithAttributes(benchAttrs...))
		}
	})
}

func BenchmarkOTLPCounterBoundParallel(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		benchBoundAddParallel(b, newOTLPCounter(b).Bind("method", "GET", "code", "200"))
	})
	b.Run("atomic.AddUint64", benchAtomicAddParallel)
	b.Run("otel-sdk-WithAttributeSet", func(b *testing.B) {
		c := newSDKCounter(b)
		opt := otelmetric.WithAttributeSet(attribute.NewSet(benchAttrs...))
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(ctx, 1, opt)
			}
		})
	})
}

// BenchmarkOTLPCounterWith: find the series of a label set already seen,
// then add; label values as constants and as fresh strings (built per
// call, as from a request), against the SDK's attributes per call.
func BenchmarkOTLPCounterWith(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		c := newOTLPCounter(b)
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
	})
	b.Run("obskit-fresh-strings", func(b *testing.B) {
		c := newOTLPCounter(b)
		buf := []byte("GET")
		b.ReportAllocs()
		for b.Loop() {
			code := strconv.Itoa(200)
			c.With("method", string(buf), "code", code).Add(1)
		}
	})
	b.Run("otel-sdk-WithAttributes", func(b *testing.B) {
		c := newSDKCounter(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, otelmetric.WithAttributes(attribute.String("method", "GET"), attribute.String("code", "200")))
		}
	})
	b.Run("otel-sdk-WithAttributes-fresh-strings", func(b *testing.B) {
		c := newSDKCounter(b)
		ctx := context.Background()
		buf := []byte("GET")
		b.ReportAllocs()
		for b.Loop() {
			code := strconv.Itoa(200)
			c.Add(ctx, 1, otelmetric.WithAttributes(attribute.String("method", string(buf)), attribute.String("code", code)))
		}
	})
}

// BenchmarkOTLPHistogramBound: observe into a series bound before the
// loop, default buckets.
func BenchmarkOTLPHistogramBound(b *testing.B) {
	b.Run("obskit", func(b *testing.B) {
		benchBoundObserve(b, pushHistogram(b, newOTLPBackend(b)).Bind("method", "GET"))
	})
	b.Run("obskit-exponential", func(b *testing.B) {
		be, err := otlp.New(otlp.Options{Exporter: discardMetricExporter{}, FlushInterval: time.Hour, ExponentialHistograms: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { be.Close(context.Background()) })
		h, err := metrics.New(be).NewHistogram(metrics.Opts{Name: "duration", Unit: metrics.UnitSeconds, Labels: []string{"method"}})
		if err != nil {
			b.Fatal(err)
		}
		benchBoundObserve(b, h.Bind("method", "GET"))
	})
	b.Run("client_golang", benchClientGolangObserve)
	b.Run("otel-sdk-WithAttributeSet", func(b *testing.B) {
		m, _ := newSDKMeter(b)
		h, err := m.Float64Histogram("duration", otelmetric.WithUnit("s"), otelmetric.WithExplicitBucketBoundaries(metrics.DefaultBuckets()...))
		if err != nil {
			b.Fatal(err)
		}
		opt := otelmetric.WithAttributeSet(attribute.NewSet(attribute.String("method", "GET")))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			h.Record(ctx, observed, opt)
		}
	})
	b.Run("otel-sdk-WithAttributes", func(b *testing.B) {
		m, _ := newSDKMeter(b)
		h, err := m.Float64Histogram("duration", otelmetric.WithUnit("s"), otelmetric.WithExplicitBucketBoundaries(metrics.DefaultBuckets()...))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			h.Record(ctx, observed, otelmetric.WithAttributes(attribute.String("method", "GET")))
		}
	})
}

// BenchmarkOTLPCollect: one collection (Flush: read every series, build
// the SDK's metricdata, hand it to the discarding exporter) of a counter
// with n series; the SDK's the same through its own reader.
func BenchmarkOTLPCollect(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			b.Run("obskit", func(b *testing.B) {
				be := newOTLPBackend(b)
				c, err := metrics.New(be, metrics.WithCardinalityLimit(n)).NewCounter(metrics.Opts{Name: "requests", Labels: []string{"id"}})
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					c.With("id", strconv.Itoa(i)).Add(1)
				}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if err := be.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("otel-sdk", func(b *testing.B) {
				m, r := newSDKMeter(b)
				c, err := m.Float64Counter("requests")
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				for i := range n {
					c.Add(ctx, 1, otelmetric.WithAttributes(attribute.String("id", strconv.Itoa(i))))
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := r.ForceFlush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
