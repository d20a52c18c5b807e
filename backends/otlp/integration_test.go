package otlp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
)

// The collector of scripts/servers/otelcol.sh: OTLP in, a Prometheus-format
// /metrics out, which the Prometheus of scripts/servers/prometheus.sh
// scrapes every second as job "otelcol".
const (
	collectorGRPC = "127.0.0.1:14317"
	collectorHTTP = "127.0.0.1:14318"
	scrapeWait    = 30 * time.Second
)

// TestIntegration runs the conformance workload over OTLP/gRPC and
// OTLP/HTTP into a real collector and reads it back through the real
// Prometheus that scrapes the collector's prometheus exporter.
func TestIntegration(t *testing.T) {
	itest.URL(t, "otelcol", "http://127.0.0.1:18889", "/metrics")
	base := itest.URL(t, "prometheus", "http://127.0.0.1:19090", "/-/ready")
	api := itest.PromReader{Base: base, Job: "otelcol", Name: promName, Label: promLabel}
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"grpc", Options{Endpoint: collectorGRPC, Insecure: true}},
		{"http", Options{Protocol: ProtocolHTTP, Endpoint: collectorHTTP, Insecure: true}},
		{"grpc gzip delta", Options{Endpoint: collectorGRPC, Insecure: true, Compression: "gzip", Temporality: metricdata.DeltaTemporality}},
		{"http gzip", Options{Protocol: ProtocolHTTP, Endpoint: collectorHTTP, Insecure: true, Compression: "gzip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.ServiceName = "obskit-itest"
			o.FlushInterval = time.Hour // only Flush exports
			o.Timeout = 10 * time.Second
			o.ErrorHandler = func(err error) { t.Errorf("delivery error: %v", err) }
			b, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close(context.Background()) })
			backendtest.Run(t, backendtest.Harness{
				New: func(*testing.T) metrics.Backend { return b },
				Collect: func(t *testing.T, _ metrics.Backend, descs []*metrics.Desc) backendtest.Reader {
					// The marker is the last metric of the export, which
					// the collector applies in order.
					api.AwaitMarker(t, b, descs[0].Namespace, func() error { return b.Flush(context.Background()) }, scrapeWait)
					return api
				},
				CheckQuantile: backendtest.WithinBucket(metrics.DefaultBuckets()),
			})
			if st := b.Stats(); st.FlushErrors != 0 || st.Sent == 0 || st.Dropped() != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// TestIntegrationExponential exports exponential histograms to the
// collector, which must accept every point. (Its prometheus exporter
// turns them into native histograms, which the Prometheus of the tests,
// 2.42 without the native-histograms feature, does not scrape; their
// buckets are checked by the unit tests.)
func TestIntegrationExponential(t *testing.T) {
	itest.URL(t, "otelcol", "http://127.0.0.1:18889", "/metrics")
	for _, o := range []Options{
		{Endpoint: collectorGRPC, Insecure: true, ExponentialHistograms: true},
		{Protocol: ProtocolHTTP, Endpoint: collectorHTTP, Insecure: true, ExponentialHistograms: true, Temporality: metricdata.DeltaTemporality},
	} {
		o.FlushInterval, o.Timeout = time.Hour, 10*time.Second
		b, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		h, err := metrics.New(b, metrics.WithNamespace(fmt.Sprintf("x%08x", rand.Uint32()))).NewHistogram(metrics.Opts{
			Name: "latency", Unit: metrics.UnitSeconds, Labels: []string{"route"}})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range backendtest.HistogramValues(1000) {
			if i%10 == 0 {
				v = -v
			}
			h.With("route", "/a").Observe(v)
		}
		h.With("route", "/b").Observe(0)
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("%s: Close: %v", o.Protocol, err)
		}
		if st := b.Stats(); st.Sent != 2 || st.Dropped() != 0 {
			t.Errorf("%s: Stats = %+v, want 2 points sent", o.Protocol, st)
		}
	}
}

// promName is the name under which the collector's prometheus exporter
// exposes d: dots become '_', then the unit and _total suffixes.
func promName(d *metrics.Desc) string {
	n := strings.ReplaceAll(d.FullName("."), ".", "_")
	switch d.Unit {
	case metrics.UnitSeconds:
		n += "_seconds"
	case metrics.UnitBytes:
		n += "_bytes"
	}
	if d.Kind == metrics.KindCounter {
		n += "_total"
	}
	return n
}

func promLabel(name string) string { return strings.ReplaceAll(name, ".", "_") }
