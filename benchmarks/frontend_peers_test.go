package benchmarks

import (
	"context"
	"net"
	"testing"
	"time"

	ddstatsd "github.com/DataDog/datadog-go/v5/statsd"
	vm "github.com/VictoriaMetrics/metrics"
	kitmetrics "github.com/go-kit/kit/metrics"
	kitdogstatsd "github.com/go-kit/kit/metrics/dogstatsd"
	kitexpvar "github.com/go-kit/kit/metrics/expvar"
	kitgraphite "github.com/go-kit/kit/metrics/graphite"
	kitinflux "github.com/go-kit/kit/metrics/influx"
	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	kitstatsd "github.com/go-kit/kit/metrics/statsd"
	kitlog "github.com/go-kit/log"
	gometrics "github.com/hashicorp/go-metrics"
	influxdb "github.com/influxdata/influxdb1-client/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	"go.opentelemetry.io/otel/attribute"
	otelmetric "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/obskit/obskit/metrics"
)

// The front-end scenarios put obskit's Registry, on each backend of
// obskitBackends, beside its peers doing the same work: record into a
// counter, gauge or histogram with the labels method and code. Each
// scenario is one benchmark function and each library one sub-benchmark,
// so that cmd/report (and benchstat) compare libraries on the same
// scenario. The scenarios whose names end in Parallel are the contention
// cases (RunParallel on one series); run them with -cpu 1,2:
//
//	go test -run=NONE -bench='Frontend.*Parallel$' -cpu 1,2 -benchmem
//
// Every peer is used the way its documentation shows, with what it offers
// in place of a bound child where it has none (a precomputed tag slice,
// attribute set or series name). What the peers do differently:
//
//   - Go kit's expvar, statsd and graphite adapters ignore label values
//     (their With returns the metric itself), so they record less than the
//     others.
//   - Go kit's statsd, dogstatsd and influx adapters keep every observation
//     in memory until the next flush (none runs here), which B/op shows.
//   - datadog-go sends to a UDP socket that nobody reads; counters and
//     gauges aggregate in the client (its default), distributions are
//     sent one line per value.
//   - hashicorp/go-metrics records into its InmemSink, the in-process
//     aggregator, with float32 values.
//   - The OpenTelemetry SDK aggregates for a ManualReader that is never
//     collected; uber-go/tally reports to its NullStatsReporter.

// kitAdapter is one of Go kit's metrics adapters; the Go kit rows call it
// through Go kit's interfaces, as code written against Go kit does.
type kitAdapter struct {
	name      string
	counter   func(b *testing.B) kitmetrics.Counter
	gauge     func(b *testing.B) kitmetrics.Gauge
	histogram func(b *testing.B) kitmetrics.Histogram
}

var kitAdapters = []kitAdapter{
	{
		name: "go-kit/prometheus",
		counter: func(b *testing.B) kitmetrics.Counter {
			return kitprometheus.NewCounter(newClientGolangCounter(b))
		},
		gauge: func(b *testing.B) kitmetrics.Gauge {
			return kitprometheus.NewGauge(newClientGolangGauge(b))
		},
		histogram: func(b *testing.B) kitmetrics.Histogram {
			return kitprometheus.NewHistogram(newClientGolangHistogram2(b))
		},
	},
	{
		name:      "go-kit/expvar",
		counter:   func(*testing.B) kitmetrics.Counter { return kitexpvar.NewCounter(uniqueName("kit_requests")) },
		gauge:     func(*testing.B) kitmetrics.Gauge { return kitexpvar.NewGauge(uniqueName("kit_in_flight")) },
		histogram: func(*testing.B) kitmetrics.Histogram { return kitexpvar.NewHistogram(uniqueName("kit_duration"), 50) },
	},
	{
		name:      "go-kit/statsd",
		counter:   func(*testing.B) kitmetrics.Counter { return kitStatsd().NewCounter("requests", 1) },
		gauge:     func(*testing.B) kitmetrics.Gauge { return kitStatsd().NewGauge("in_flight") },
		histogram: func(*testing.B) kitmetrics.Histogram { return kitStatsd().NewTiming("duration", 1) },
	},
	{
		name:      "go-kit/dogstatsd",
		counter:   func(*testing.B) kitmetrics.Counter { return kitDogstatsd().NewCounter("requests", 1) },
		gauge:     func(*testing.B) kitmetrics.Gauge { return kitDogstatsd().NewGauge("in_flight") },
		histogram: func(*testing.B) kitmetrics.Histogram { return kitDogstatsd().NewHistogram("duration", 1) },
	},
	{
		name:      "go-kit/influx",
		counter:   func(*testing.B) kitmetrics.Counter { return kitInflux().NewCounter("requests") },
		gauge:     func(*testing.B) kitmetrics.Gauge { return kitInflux().NewGauge("in_flight") },
		histogram: func(*testing.B) kitmetrics.Histogram { return kitInflux().NewHistogram("duration") },
	},
	{
		name:      "go-kit/graphite",
		counter:   func(*testing.B) kitmetrics.Counter { return kitGraphite().NewCounter("requests") },
		gauge:     func(*testing.B) kitmetrics.Gauge { return kitGraphite().NewGauge("in_flight") },
		histogram: func(*testing.B) kitmetrics.Histogram { return kitGraphite().NewHistogram("duration", 50) },
	},
}

func kitStatsd() *kitstatsd.Statsd { return kitstatsd.New("bench.", kitlog.NewNopLogger()) }
func kitDogstatsd() *kitdogstatsd.Dogstatsd {
	return kitdogstatsd.New("bench.", kitlog.NewNopLogger())
}
func kitInflux() *kitinflux.Influx {
	return kitinflux.New(nil, influxdb.BatchPointsConfig{Database: "bench"}, kitlog.NewNopLogger())
}
func kitGraphite() *kitgraphite.Graphite { return kitgraphite.New("bench.", kitlog.NewNopLogger()) }

func newClientGolangGauge(b *testing.B) *prometheus.GaugeVec {
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "in_flight", Help: "h"}, benchLabels)
	if err := prometheus.NewRegistry().Register(vec); err != nil {
		b.Fatal(err)
	}
	return vec
}

// newClientGolangHistogram2 is newClientGolangHistogram with the
// front-end scenarios' two labels.
func newClientGolangHistogram2(b *testing.B) *prometheus.HistogramVec {
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "duration_seconds", Help: "h", Buckets: metrics.DefaultBuckets()}, benchLabels)
	if err := prometheus.NewRegistry().Register(vec); err != nil {
		b.Fatal(err)
	}
	return vec
}

func newTally(b *testing.B) tally.Scope {
	scope, closer := tally.NewRootScope(tally.ScopeOptions{Reporter: tally.NullStatsReporter}, 0)
	b.Cleanup(func() { _ = closer.Close() })
	return scope
}

func newGoMetrics(b *testing.B) *gometrics.Metrics {
	cfg := gometrics.DefaultConfig("bench")
	cfg.EnableRuntimeMetrics = false
	cfg.EnableHostname = false
	m, err := gometrics.New(cfg, gometrics.NewInmemSink(10*time.Second, time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Shutdown)
	return m
}

func newOTelMeter(b *testing.B) otelmetric.Meter {
	p := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p.Meter("bench")
}

func newDatadog(b *testing.B) *ddstatsd.Client {
	// A socket nobody reads: the kernel drops what overflows its buffer,
	// and no ICMP error comes back as it would from a closed port.
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c, err := ddstatsd.New(sink.LocalAddr().String(), quietDD...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Close()
		_ = sink.Close()
	})
	return c
}

// Series names for the peers that identify a series by one string.
const (
	vmCounterName   = `requests_total{method="GET",code="200"}`
	vmGaugeName     = `in_flight{method="GET",code="200"}`
	vmHistogramName = `duration_seconds{method="GET",code="200"}`
)

var (
	benchDDTags = []string{"method:" + labelMethod, "code:" + labelCode}
	goMetLabel  = []gometrics.Label{{Name: "method", Value: labelMethod}, {Name: "code", Value: labelCode}}
	otelAttrs   = attribute.NewSet(attribute.String("method", labelMethod), attribute.String("code", labelCode))
)

func otelCounter(b *testing.B) otelmetric.Float64Counter {
	c, err := newOTelMeter(b).Float64Counter("requests")
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func otelGauge(b *testing.B) otelmetric.Float64Gauge {
	g, err := newOTelMeter(b).Float64Gauge("in_flight")
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func otelHistogram(b *testing.B) otelmetric.Float64Histogram {
	h, err := newOTelMeter(b).Float64Histogram("duration", otelmetric.WithUnit("s"), otelmetric.WithExplicitBucketBoundaries(metrics.DefaultBuckets()...))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkFrontendCounterWithHit: With on a label set seen before, then
// Add(1), the label values being string constants: each library's
// per-call lookup at its best.
func BenchmarkFrontendCounterWithHit(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			c := o.counter(b)
			b.ReportAllocs()
			for b.Loop() {
				c.With("method", labelMethod, "code", labelCode).Add(1)
			}
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		b.ReportAllocs()
		for b.Loop() {
			vec.WithLabelValues(labelMethod, labelCode).Add(1)
		}
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			c := k.counter(b)
			b.ReportAllocs()
			for b.Loop() {
				c.With("method", labelMethod, "code", labelCode).Add(1)
			}
		})
	}
	b.Run("tally", func(b *testing.B) {
		scope := newTally(b)
		b.ReportAllocs()
		for b.Loop() {
			scope.Tagged(map[string]string{"method": labelMethod, "code": labelCode}).Counter("requests").Inc(1)
		}
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"requests"}
		b.ReportAllocs()
		for b.Loop() {
			m.IncrCounterWithLabels(key, 1, []gometrics.Label{{Name: "method", Value: labelMethod}, {Name: "code", Value: labelCode}})
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		c := otelCounter(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, otelmetric.WithAttributes(attribute.String("method", labelMethod), attribute.String("code", labelCode)))
		}
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Count("requests", 1, []string{"method:" + labelMethod, "code:" + labelCode}, 1)
		}
	})
	b.Run("victoriametrics", func(b *testing.B) {
		set := vm.NewSet()
		b.ReportAllocs()
		for b.Loop() {
			set.GetOrCreateFloatCounter(vmCounterName).Add(1)
		}
	})
}

// BenchmarkFrontendCounterWithHitFresh is BenchmarkFrontendCounterWithHit
// with label values at new addresses on every call, as values read from a
// request are: the realistic case, where no library can recognise a
// string by its pointer. Peers that identify a series by one string
// (datadog-go, VictoriaMetrics) build it per call, as their users must.
func BenchmarkFrontendCounterWithHitFresh(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			c := o.counter(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v := &freshValues[i&freshMask]
				c.With("method", v.method, "code", v.code).Add(1)
				i++
			}
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			v := &freshValues[i&freshMask]
			vec.WithLabelValues(v.method, v.code).Add(1)
			i++
		}
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			c := k.counter(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				v := &freshValues[i&freshMask]
				c.With("method", v.method, "code", v.code).Add(1)
				i++
			}
		})
	}
	b.Run("tally", func(b *testing.B) {
		scope := newTally(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			v := &freshValues[i&freshMask]
			scope.Tagged(map[string]string{"method": v.method, "code": v.code}).Counter("requests").Inc(1)
			i++
		}
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"requests"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			v := &freshValues[i&freshMask]
			m.IncrCounterWithLabels(key, 1, []gometrics.Label{{Name: "method", Value: v.method}, {Name: "code", Value: v.code}})
			i++
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		c := otelCounter(b)
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			v := &freshValues[i&freshMask]
			c.Add(ctx, 1, otelmetric.WithAttributes(attribute.String("method", v.method), attribute.String("code", v.code)))
			i++
		}
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			v := &freshValues[i&freshMask]
			_ = c.Count("requests", 1, []string{"method:" + v.method, "code:" + v.code}, 1)
			i++
		}
	})
	b.Run("victoriametrics", func(b *testing.B) {
		set := vm.NewSet()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			v := &freshValues[i&freshMask]
			set.GetOrCreateFloatCounter(`requests_total{method="` + v.method + `",code="` + v.code + `"}`).Add(1)
			i++
		}
	})
}

// BenchmarkFrontendCounterBound: Add(1) to a series looked up before the
// loop (or, for peers with no bound series, with the tags, labels or
// attribute set built before the loop).
func BenchmarkFrontendCounterBound(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			c := o.counter(b).Bind("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			for b.Loop() {
				c.Add(1)
			}
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		c := newClientGolangCounter(b).WithLabelValues(labelMethod, labelCode)
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			c := k.counter(b).With("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			for b.Loop() {
				c.Add(1)
			}
		})
	}
	b.Run("tally", func(b *testing.B) {
		c := newTally(b).Tagged(map[string]string{"method": labelMethod, "code": labelCode}).Counter("requests")
		b.ReportAllocs()
		for b.Loop() {
			c.Inc(1)
		}
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"requests"}
		b.ReportAllocs()
		for b.Loop() {
			m.IncrCounterWithLabels(key, 1, goMetLabel)
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		c := otelCounter(b)
		ctx := context.Background()
		opt := otelmetric.WithAttributeSet(otelAttrs)
		b.ReportAllocs()
		for b.Loop() {
			c.Add(ctx, 1, opt)
		}
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Count("requests", 1, benchDDTags, 1)
		}
	})
	b.Run("victoriametrics", func(b *testing.B) {
		c := vm.NewSet().GetOrCreateFloatCounter(vmCounterName)
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
}

// gaugeValue varies the value Set records, so that no library can skip a
// store of the value it already holds.
func gaugeValue(i int) float64 { return float64(i & 1023) }

// BenchmarkFrontendGaugeSet: Set on a bound series.
func BenchmarkFrontendGaugeSet(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			g := o.gauge(b).Bind("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g.Set(gaugeValue(i))
				i++
			}
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		g := newClientGolangGauge(b).WithLabelValues(labelMethod, labelCode)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			g.Set(gaugeValue(i))
			i++
		}
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			g := k.gauge(b).With("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				g.Set(gaugeValue(i))
				i++
			}
		})
	}
	b.Run("tally", func(b *testing.B) {
		g := newTally(b).Tagged(map[string]string{"method": labelMethod, "code": labelCode}).Gauge("in_flight")
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			g.Update(gaugeValue(i))
			i++
		}
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"in_flight"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.SetGaugeWithLabels(key, float32(gaugeValue(i)), goMetLabel)
			i++
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		g := otelGauge(b)
		ctx := context.Background()
		opt := otelmetric.WithAttributeSet(otelAttrs)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			g.Record(ctx, gaugeValue(i), opt)
			i++
		}
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = c.Gauge("in_flight", gaugeValue(i), benchDDTags, 1)
			i++
		}
	})
	b.Run("victoriametrics", func(b *testing.B) {
		g := vm.NewSet().GetOrCreateGauge(vmGaugeName, nil)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			g.Set(gaugeValue(i))
			i++
		}
	})
}

// BenchmarkFrontendHistogramObserve: Observe on a bound series, with the
// default buckets where the library takes buckets.
func BenchmarkFrontendHistogramObserve(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			h := o.histogram(b).Bind("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			for b.Loop() {
				h.Observe(observed)
			}
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		h := newClientGolangHistogram2(b).WithLabelValues(labelMethod, labelCode)
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(observed)
		}
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			h := k.histogram(b).With("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			for b.Loop() {
				h.Observe(observed)
			}
		})
	}
	b.Run("tally", func(b *testing.B) {
		h := newTally(b).Tagged(map[string]string{"method": labelMethod, "code": labelCode}).
			Histogram("duration", tally.ValueBuckets(metrics.DefaultBuckets()))
		b.ReportAllocs()
		for b.Loop() {
			h.RecordValue(observed)
		}
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"duration"}
		b.ReportAllocs()
		for b.Loop() {
			m.AddSampleWithLabels(key, observed, goMetLabel)
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		h := otelHistogram(b)
		ctx := context.Background()
		opt := otelmetric.WithAttributeSet(otelAttrs)
		b.ReportAllocs()
		for b.Loop() {
			h.Record(ctx, observed, opt)
		}
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Distribution("duration", observed, benchDDTags, 1)
		}
	})
	b.Run("victoriametrics", func(b *testing.B) {
		h := vm.NewSet().GetOrCreatePrometheusHistogramExt(vmHistogramName, metrics.DefaultBuckets())
		b.ReportAllocs()
		for b.Loop() {
			h.Update(observed)
		}
	})
}
