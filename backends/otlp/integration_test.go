package otlp

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
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
	api := &promAPI{base: base, client: &http.Client{Timeout: 5 * time.Second}}
	defer api.client.CloseIdleConnections()
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
					api.await(t, b, descs[0].Namespace)
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

// promAPI reads back through Prometheus' HTTP API. It is a
// backendtest.Reader.
type promAPI struct {
	base   string
	client *http.Client
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() (float64, error) {
	v, ok := s.Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("value %v is not a string", s.Value[1])
	}
	return strconv.ParseFloat(v, 64)
}

// query returns the samples of an instant PromQL query.
func (a *promAPI) query(promql string) ([]sample, error) {
	resp, err := a.client.Get(a.base + "/api/v1/query?" + url.Values{"query": {promql}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w", promql, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", promql, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", promql, r.Data.ResultType)
	}
	return r.Data.Result, nil
}

// await sets a marker gauge in namespace ns to a new value, exports, and
// waits until Prometheus holds the marker. The marker is the last metric
// of the export, which the collector applies in order, so everything
// recorded before it is then readable.
func (a *promAPI) await(t *testing.T, b *Backend, ns string) {
	t.Helper()
	g, err := metrics.New(b, metrics.WithNamespace(ns)).NewGauge(metrics.Opts{Name: "collect.marker", Help: "Set by the integration test before it reads back."})
	if err != nil {
		t.Fatal(err)
	}
	want := float64(rand.IntN(1 << 30))
	g.Set(want)
	if err := b.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	q := selector(promName(g.Desc()))
	deadline := time.Now().Add(scrapeWait)
	var last string
	for time.Now().Before(deadline) {
		s, err := a.query(q)
		switch {
		case err != nil:
			last = err.Error()
		case len(s) == 1:
			if v, err := s[0].float(); err == nil && v == want {
				return
			}
			last = fmt.Sprintf("%v", s[0].Value)
		default:
			last = fmt.Sprintf("%d series", len(s))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Prometheus did not scrape %s from the collector within %v (last: %s); see %s/targets", q, scrapeWait, last, a.base)
}

func selector(name string) string { return name + `{job="otelcol"}` }

func (a *promAPI) declared(d *metrics.Desc, m map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range d.Labels {
		if v, ok := m[promLabel(l)]; ok {
			out[l] = v
		}
	}
	return out
}

// seriesOf returns the sample of promql whose declared labels are labels.
func (a *promAPI) seriesOf(d *metrics.Desc, promql string, labels map[string]string) (sample, error) {
	s, err := a.query(promql)
	if err != nil {
		return sample{}, err
	}
	for _, x := range s {
		if equal(a.declared(d, x.Metric), labels) {
			return x, nil
		}
	}
	return sample{}, fmt.Errorf("%s: no series with %q among %d", promql, labels, len(s))
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (a *promAPI) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	s, err := a.seriesOf(d, selector(promName(d)), labels)
	if err != nil {
		return 0, err
	}
	return s.float()
}

func (a *promAPI) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	name := promName(d)
	read := func(suffix string) (float64, error) {
		s, err := a.seriesOf(d, selector(name+suffix), labels)
		if err != nil {
			return 0, err
		}
		return s.float()
	}
	count, err := read("_count")
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	sum, err := read("_sum")
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	return backendtest.HistogramReading{Count: uint64(count), Sum: sum, Quantile: func(q float64) (float64, error) {
		s, err := a.seriesOf(d, fmt.Sprintf("histogram_quantile(%g, %s)", q, selector(name+"_bucket")), labels)
		if err != nil {
			return 0, err
		}
		return s.float()
	}}, nil
}

func (a *promAPI) Series(d *metrics.Desc) ([]map[string]string, error) {
	s, err := a.query(selector(promName(d)))
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, x := range s {
		out = append(out, a.declared(d, x.Metric))
	}
	return out, nil
}
