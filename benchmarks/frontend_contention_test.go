package benchmarks

import (
	"context"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"
	gometrics "github.com/hashicorp/go-metrics"
	"github.com/uber-go/tally/v4"
	"go.opentelemetry.io/otel/attribute"
	otelmetric "go.opentelemetry.io/otel/metric"

	"github.com/obskit/obskit/metrics"
)

// The contention scenarios: every goroutine of RunParallel records into
// the same series, the front-end scenarios' worst case for shared state.
// They mean something only beside their single-goroutine baseline, so
// run them with -cpu 1,2 (cmd/report does):
//
//	go test -run=NONE -bench='Frontend.*Parallel$' -cpu 1,2 -benchmem

// BenchmarkFrontendCounterWithHitParallel: With on a cached label set of
// constants, then Add(1), from every goroutine.
func BenchmarkFrontendCounterWithHitParallel(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			c := o.counter(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.With("method", labelMethod, "code", labelCode).Add(1)
				}
			})
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		vec := newClientGolangCounter(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				vec.WithLabelValues(labelMethod, labelCode).Add(1)
			}
		})
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			c := k.counter(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.With("method", labelMethod, "code", labelCode).Add(1)
				}
			})
		})
	}
	b.Run("tally", func(b *testing.B) {
		scope := newTally(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				scope.Tagged(map[string]string{"method": labelMethod, "code": labelCode}).Counter("requests").Inc(1)
			}
		})
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"requests"}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.IncrCounterWithLabels(key, 1, []gometrics.Label{{Name: "method", Value: labelMethod}, {Name: "code", Value: labelCode}})
			}
		})
	})
	b.Run("otel-sdk", func(b *testing.B) {
		c := otelCounter(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(ctx, 1, otelmetric.WithAttributes(attribute.String("method", labelMethod), attribute.String("code", labelCode)))
			}
		})
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = c.Count("requests", 1, []string{"method:" + labelMethod, "code:" + labelCode}, 1)
			}
		})
	})
	b.Run("victoriametrics", func(b *testing.B) {
		set := vm.NewSet()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				set.GetOrCreateFloatCounter(vmCounterName).Add(1)
			}
		})
	})
}

// BenchmarkFrontendCounterBoundParallel: Add(1) on one bound series from
// every goroutine.
func BenchmarkFrontendCounterBoundParallel(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			c := o.counter(b).Bind("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.Add(1)
				}
			})
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		c := newClientGolangCounter(b).WithLabelValues(labelMethod, labelCode)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			c := k.counter(b).With("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.Add(1)
				}
			})
		})
	}
	b.Run("tally", func(b *testing.B) {
		c := newTally(b).Tagged(map[string]string{"method": labelMethod, "code": labelCode}).Counter("requests")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc(1)
			}
		})
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"requests"}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.IncrCounterWithLabels(key, 1, goMetLabel)
			}
		})
	})
	b.Run("otel-sdk", func(b *testing.B) {
		c := otelCounter(b)
		ctx := context.Background()
		opt := otelmetric.WithAttributeSet(otelAttrs)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(ctx, 1, opt)
			}
		})
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = c.Count("requests", 1, benchDDTags, 1)
			}
		})
	})
	b.Run("victoriametrics", func(b *testing.B) {
		c := vm.NewSet().GetOrCreateFloatCounter(vmCounterName)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(1)
			}
		})
	})
}

// BenchmarkFrontendHistogramObserveParallel: Observe on one bound series
// from every goroutine.
func BenchmarkFrontendHistogramObserveParallel(b *testing.B) {
	for _, o := range obskitBackends {
		b.Run(o.name, func(b *testing.B) {
			h := o.histogram(b).Bind("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.Observe(observed)
				}
			})
		})
	}
	b.Run("client_golang", func(b *testing.B) {
		h := newClientGolangHistogram2(b).WithLabelValues(labelMethod, labelCode)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe(observed)
			}
		})
	})
	for _, k := range kitAdapters {
		b.Run(k.name, func(b *testing.B) {
			h := k.histogram(b).With("method", labelMethod, "code", labelCode)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.Observe(observed)
				}
			})
		})
	}
	b.Run("tally", func(b *testing.B) {
		h := newTally(b).Tagged(map[string]string{"method": labelMethod, "code": labelCode}).
			Histogram("duration", tally.ValueBuckets(metrics.DefaultBuckets()))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.RecordValue(observed)
			}
		})
	})
	b.Run("go-metrics", func(b *testing.B) {
		m := newGoMetrics(b)
		key := []string{"duration"}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.AddSampleWithLabels(key, observed, goMetLabel)
			}
		})
	})
	b.Run("otel-sdk", func(b *testing.B) {
		h := otelHistogram(b)
		ctx := context.Background()
		opt := otelmetric.WithAttributeSet(otelAttrs)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Record(ctx, observed, opt)
			}
		})
	})
	b.Run("datadog-go", func(b *testing.B) {
		c := newDatadog(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = c.Distribution("duration", observed, benchDDTags, 1)
			}
		})
	})
	b.Run("victoriametrics", func(b *testing.B) {
		h := vm.NewSet().GetOrCreatePrometheusHistogramExt(vmHistogramName, metrics.DefaultBuckets())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Update(observed)
			}
		})
	})
}
