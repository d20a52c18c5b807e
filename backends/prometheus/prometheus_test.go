package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

func TestNames(t *testing.T) {
	validName := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	for _, c := range []struct {
		kind      metrics.Kind
		namespace string
		name      string
		unit      metrics.Unit
		want      string
	}{
		{metrics.KindCounter, "", "requests", "", "requests_total"},
		{metrics.KindCounter, "addsvc", "requests", "", "addsvc_requests_total"},
		{metrics.KindCounter, "my.svc", "http.server.requests", "", "my_svc_http_server_requests_total"},
		{metrics.KindCounter, "", "requests.total", "", "requests_total"},
		{metrics.KindCounter, "", "sent", "By", "sent_bytes_total"},
		{metrics.KindCounter, "", "sent.bytes", "By", "sent_bytes_total"},
		{metrics.KindCounter, "", "sent.bytes.total", "By", "sent_bytes_total"},
		{metrics.KindCounter, "", "errors", "1", "errors_total"},
		{metrics.KindCounter, "", "total", "", "total"},
		{metrics.KindCounter, "", "requests.total", "s", "requests_seconds_total"},
		{metrics.KindCounter, "", "requests", "{request}", "requests_total"},
		{metrics.KindGauge, "", "temperature", "", "temperature"},
		{metrics.KindGauge, "", "cpu.usage", "1", "cpu_usage_ratio"},
		{metrics.KindGauge, "", "cpu.usage.ratio", "1", "cpu_usage_ratio"},
		{metrics.KindGauge, "", "heap", "By", "heap_bytes"},
		{metrics.KindGauge, "", "heap", "MiBy", "heap_mebibytes"},
		{metrics.KindGauge, "", "throughput", "By/s", "throughput_bytes_per_second"},
		{metrics.KindGauge, "", "rate", "{packet}/s", "rate_per_second"},
		{metrics.KindGauge, "", "load", "%", "load_percent"},
		{metrics.KindGauge, "", "room", "Cel", "room_celsius"},
		{metrics.KindGauge, "", "speed", "km/h", "speed_km_per_hour"},
		{metrics.KindGauge, "", "odd", "[foo]", "odd_foo"},
		{metrics.KindGauge, "", "odd", "a-b.c", "odd_a_b_c"},
		{metrics.KindHistogram, "", "http.server.request.duration", "s", "http_server_request_duration_seconds"},
		{metrics.KindHistogram, "", "latency.seconds", "s", "latency_seconds"},
		{metrics.KindHistogram, "", "latency", "ms", "latency_milliseconds"},
		{metrics.KindHistogram, "", "fill", "1", "fill_ratio"},
		{metrics.KindHistogram, "svc", "size", "By", "svc_size_bytes"},
	} {
		d := &metrics.Desc{Kind: c.kind, Namespace: c.namespace, Name: c.name, Unit: c.unit}
		got := metricName(d)
		if got != c.want {
			t.Errorf("%s %q unit %q: got %q, want %q", c.kind, d.FullName("."), c.unit, got, c.want)
		}
		if !validName.MatchString(got) {
			t.Errorf("%q is not a valid Prometheus name", got)
		}
	}
	for in, want := range map[string]string{"method": "method", "http.request.method": "http_request_method", "_x.y": "_x_y"} {
		if got := labelName(in); got != want {
			t.Errorf("label %q: got %q, want %q", in, got, want)
		}
	}
}

func newBackend(t *testing.T, o Options) *Backend {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeclareErrors(t *testing.T) {
	b := newBackend(t, Options{})
	reg := metrics.New(b)
	for _, c := range []struct {
		what string
		o    metrics.Opts
		want string
	}{
		{"labels colliding after mapping", metrics.Opts{Name: "a", Labels: []string{"http.method", "http_method"}}, `labels "http.method" and "http_method" both map to "http_method"`},
		{"reserved label after mapping", metrics.Opts{Name: "b", Labels: []string{"_._x"}}, `reserves`},
	} {
		_, err := reg.NewCounter(c.o)
		if !errors.Is(err, metrics.ErrInvalidLabel) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "prometheus: declare") {
			t.Errorf("%s: err = %v, want one containing %q", c.what, err, c.want)
		}
	}

	// Names that collide after mapping, and a name that collides with a
	// histogram's series.
	if _, err := reg.NewCounter(metrics.Opts{Name: "x.y"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.NewCounter(metrics.Opts{Name: "x_y"}); !errors.Is(err, metrics.ErrConflict) || !strings.Contains(err.Error(), `collides with counter "x.y"`) {
		t.Errorf("x_y after x.y: err = %v", err)
	}
	if _, err := reg.NewGauge(metrics.Opts{Name: "x.y.total"}); !errors.Is(err, metrics.ErrConflict) || !strings.Contains(err.Error(), "collides") {
		t.Errorf("gauge x.y.total after counter x.y: err = %v", err)
	}
	if _, err := reg.NewHistogram(metrics.Opts{Name: "lat", Unit: metrics.UnitSeconds}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.NewGauge(metrics.Opts{Name: "lat.seconds.count"}); !errors.Is(err, metrics.ErrConflict) || !strings.Contains(err.Error(), `series "lat_seconds_count" collides with histogram "lat"`) {
		t.Errorf("gauge lat.seconds.count after histogram lat: err = %v", err)
	}
	// A failed declaration leaves nothing behind.
	if _, err := reg.NewGauge(metrics.Opts{Name: "x_y.total"}); err == nil {
		t.Errorf("gauge x_y.total after counter x.y: no error")
	}
	mfs, err := b.gather.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if want := []string{"lat_seconds", "x_y_total"}; !slices.Equal(names, want) {
		t.Errorf("gathered %q, want %q", names, want)
	}
}

func TestOptions(t *testing.T) {
	if _, err := New(Options{Gatherer: prom.NewRegistry()}); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Errorf("Gatherer without Registerer: err = %v, want ErrInvalidOption", err)
	}
	if _, err := New(Options{Registerer: prom.WrapRegistererWithPrefix("x_", prom.NewRegistry())}); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Errorf("Registerer that is no Gatherer, without Gatherer: err = %v, want ErrInvalidOption", err)
	}
	for _, f := range []float64{-1, 1, 3} {
		if _, err := New(Options{NativeHistograms: true, NativeHistogramBucketFactor: f}); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("bucket factor %v: no error", f)
		}
	}
	// The default registry is untouched.
	b := newBackend(t, Options{})
	c, err := metrics.New(b).NewCounter(metrics.Opts{Name: "private"})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(1)
	mfs, _ := prom.DefaultGatherer.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "private_total" {
			t.Error("private_total reached client_golang's default registry")
		}
	}
}

func TestAlreadyRegistered(t *testing.T) {
	user := prom.NewRegistry()
	opts := metrics.Opts{Name: "jobs", Help: "Jobs done.", Labels: []string{"queue"}}

	// Two Backends on the user's registry share the collector.
	b1 := newBackend(t, Options{Registerer: user})
	b2 := newBackend(t, Options{Registerer: user})
	c1, err := metrics.New(b1).NewCounter(opts)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := metrics.New(b2).NewCounter(opts)
	if err != nil {
		t.Fatalf("identical declaration on a shared registry: %v", err)
	}
	c1.With("queue", "a").Add(1)
	c2.With("queue", "a").Add(2)
	if got := gatherValue(t, user, "jobs_total", "queue", "a"); got != 3 {
		t.Errorf("jobs_total{queue=a} = %v, want 3", got)
	}

	// A histogram declared again with other buckets conflicts, though
	// client_golang sees the same descriptor.
	hopts := metrics.Opts{Name: "lat", Unit: metrics.UnitSeconds, Buckets: []float64{1, 2}}
	if _, err := metrics.New(b1).NewHistogram(hopts); err != nil {
		t.Fatal(err)
	}
	hopts.Buckets = []float64{1, 3}
	if _, err := metrics.New(b2).NewHistogram(hopts); !errors.Is(err, metrics.ErrConflict) || !strings.Contains(err.Error(), `prometheus: declare "lat"`) {
		t.Errorf("histogram with other buckets: err = %v", err)
	}

	// A Vec the user registered with the same shape is reused.
	mine := prom.NewGaugeVec(prom.GaugeOpts{Name: "depth", Help: "Queue depth."}, []string{"queue"})
	user.MustRegister(mine)
	g, err := metrics.New(b1).NewGauge(metrics.Opts{Name: "depth", Help: "Queue depth.", Labels: []string{"queue"}})
	if err != nil {
		t.Fatalf("reusing the user's GaugeVec: %v", err)
	}
	g.With("queue", "b").Set(5)
	if got := gatherValue(t, user, "depth", "queue", "b"); got != 5 {
		t.Errorf("depth{queue=b} = %v, want 5", got)
	}

	// One of another kind, other help or other labels is an error.
	user.MustRegister(prom.NewGaugeVec(prom.GaugeOpts{Name: "hits_total", Help: "Hits."}, nil))
	if _, err := metrics.New(b1).NewCounter(metrics.Opts{Name: "hits", Help: "Hits."}); !errors.Is(err, metrics.ErrConflict) || !strings.Contains(err.Error(), "GaugeVec is already registered") {
		t.Errorf("counter over a GaugeVec: err = %v", err)
	}
	if _, err := metrics.New(b2).NewGauge(metrics.Opts{Name: "depth", Help: "Other help.", Labels: []string{"queue"}}); !errors.Is(err, metrics.ErrConflict) {
		t.Error("gauge with other help: no error")
	}
	if _, err := metrics.New(b2).NewGauge(metrics.Opts{Name: "depth", Help: "Queue depth.", Labels: []string{"pool"}}); !errors.Is(err, metrics.ErrConflict) {
		t.Error("gauge with other labels: no error")
	}
}

func gatherValue(t *testing.T, g prom.Gatherer, name string, labelPairs ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labelPairs) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%q", name, labelPairs)
	return 0
}

func matches(m *dto.Metric, labelPairs []string) bool {
	for i := 0; i+1 < len(labelPairs); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labelPairs[i] && lp.GetValue() == labelPairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sampled returns a context carrying a sampled remote span, as an
// OpenTelemetry propagator would make it; no SDK is needed.
func sampled(t *testing.T) (context.Context, string) {
	t.Helper()
	return sampledB()
}

func sampledB() (context.Context, string) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	return trace.ContextWithRemoteSpanContext(context.Background(), sc), tid.String()
}

func TestExemplar(t *testing.T) {
	b := newBackend(t, Options{})
	h, err := metrics.New(b, metrics.WithConstLabels(map[string]string{"service.name": "addsvc"})).
		NewHistogram(metrics.Opts{Name: "rpc.duration", Help: "RPC latency.", Unit: metrics.UnitSeconds, Labels: []string{"rpc.method"}, Buckets: []float64{0.1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, tid := sampled(t)
	h.With("rpc.method", "Sum").(metrics.ContextObserver).ObserveContext(ctx, 0.5)
	// An unsampled span and no span record no exemplar.
	sc := trace.SpanContextFromContext(ctx).WithTraceFlags(0)
	h.With("rpc.method", "Concat").(metrics.ContextObserver).ObserveContext(trace.ContextWithSpanContext(context.Background(), sc), 0.05)
	h.With("rpc.method", "Concat").Observe(0.05)

	body := scrape(t, b.Handler(), "application/openmetrics-text; version=1.0.0")
	want := `rpc_duration_seconds_bucket{rpc_method="Sum",service_name="addsvc",le="1.0"} 1 # {trace_id="` + tid + `"} 0.5`
	if !strings.Contains(body, want) {
		t.Errorf("OpenMetrics scrape lacks\n%s\ngot:\n%s", want, body)
	}
	if n := strings.Count(body, "trace_id"); n != 1 {
		t.Errorf("%d exemplars in the scrape, want 1:\n%s", n, body)
	}
	if !strings.Contains(body, "# HELP rpc_duration_seconds RPC latency.") {
		t.Errorf("help missing:\n%s", body)
	}
}

func scrape(t *testing.T, h http.Handler, accept string) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, body)
	}
	return string(body)
}

func TestNativeHistograms(t *testing.T) {
	r := prom.NewRegistry()
	b := newBackend(t, Options{Registerer: r, NativeHistograms: true})
	h, err := metrics.New(b).NewHistogram(metrics.Opts{Name: "lat", Unit: metrics.UnitSeconds})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range backendtest.HistogramValues(1000) {
		h.Observe(v)
	}
	mfs, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	hist := mfs[0].GetMetric()[0].GetHistogram()
	if hist.Schema == nil || len(hist.GetPositiveSpan()) == 0 {
		t.Errorf("no native buckets: %v", hist)
	}
	if len(hist.GetBucket()) != len(metrics.DefaultBuckets()) {
		t.Errorf("%d classic buckets, want %d", len(hist.GetBucket()), len(metrics.DefaultBuckets()))
	}
}

func TestHotPathAllocs(t *testing.T) {
	b := newBackend(t, Options{})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"k"}})
	g, _ := reg.NewGauge(metrics.Opts{Name: "g"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h", Labels: []string{"k"}})
	cb, hb := c.Bind("k", "v"), h.Bind("k", "v")
	ctx := context.Background()
	for name, f := range map[string]func(){
		"bound counter Add":          func() { cb.Add(1) },
		"counter With+Add":           func() { c.Bind("k", "v").Add(1) },
		"gauge Set":                  func() { g.Set(1) },
		"bound histogram Observe":    func() { hb.Observe(0.1) },
		"histogram ObserveContext":   func() { hb.ObserveContext(ctx, 0.1) },
		"histogram With+Observe":     func() { h.Bind("k", "v").Observe(0.1) },
		"unsampled span, no context": func() { hb.ObserveContext(context.TODO(), 0.1) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}

// TestConformance runs the suite against the text exposition that
// Handler serves, parsed as a Prometheus server parses it.
func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) metrics.Backend { return newBackend(t, Options{}) },
		Collect: func(t *testing.T, mb metrics.Backend, _ []*metrics.Desc) backendtest.Reader {
			body := scrape(t, mb.(*Backend).Handler(), "")
			p := expfmt.NewTextParser(model.LegacyValidation)
			mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
			if err != nil {
				t.Fatalf("parse the scrape: %v\n%s", err, body)
			}
			return textReader(mfs)
		},
		CheckQuantile: backendtest.WithinBucket(metrics.DefaultBuckets()),
		Collisions:    [][2]string{{"a.b", "a_b"}, {"c.total", "c"}},
	})
}

// textReader reads parsed metric families.
type textReader map[string]*dto.MetricFamily

func (r textReader) find(d *metrics.Desc, labels map[string]string) (*dto.Metric, error) {
	name := metricName(d)
	mf, ok := r[name]
	if !ok {
		return nil, fmt.Errorf("no family %s", name)
	}
	for _, m := range mf.GetMetric() {
		if maps(declaredLabels(d, m.GetLabel()), labels) {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no series %s%v", name, labels)
}

func maps(a, b map[string]string) bool {
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

// declaredLabels returns the values of d's declared labels in pairs, by
// their obskit names.
func declaredLabels(d *metrics.Desc, pairs []*dto.LabelPair) map[string]string {
	out := map[string]string{}
	for _, l := range d.Labels {
		for _, p := range pairs {
			if p.GetName() == labelName(l) {
				out[l] = p.GetValue()
			}
		}
	}
	return out
}

func (r textReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	m, err := r.find(d, labels)
	if err != nil {
		return 0, err
	}
	if d.Kind == metrics.KindCounter {
		return m.GetCounter().GetValue(), nil
	}
	return m.GetGauge().GetValue(), nil
}

func (r textReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	m, err := r.find(d, labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	h := m.GetHistogram()
	var bounds []float64
	var counts []uint64
	var below uint64
	for _, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), 1) {
			continue
		}
		bounds = append(bounds, b.GetUpperBound())
		counts = append(counts, b.GetCumulativeCount()-below)
		below = b.GetCumulativeCount()
	}
	counts = append(counts, h.GetSampleCount()-below) // +Inf
	return backendtest.HistogramReading{Count: h.GetSampleCount(), Sum: h.GetSampleSum(),
		Quantile: func(q float64) (float64, error) { return backendtest.BucketQuantile(q, bounds, counts) }}, nil
}

func (r textReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	mf, ok := r[metricName(d)]
	if !ok {
		return nil, fmt.Errorf("no family %s", metricName(d))
	}
	var out []map[string]string
	for _, m := range mf.GetMetric() {
		out = append(out, declaredLabels(d, m.GetLabel()))
	}
	return out, nil
}

// TestExemplarInterval checks that a bucket takes at most one exemplar per
// interval, while other buckets still take theirs, and that a negative
// interval attaches one to every sampled observation.
func TestExemplarInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		second   bool // whether the second trace's exemplar replaces the first
	}{
		{"hour", time.Hour, false},
		{"every", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, Options{ExemplarInterval: tc.interval})
			h, err := metrics.New(b).NewHistogram(metrics.Opts{Name: "lat", Unit: metrics.UnitSeconds, Buckets: []float64{0.1, 1}})
			if err != nil {
				t.Fatal(err)
			}
			ctx1, tid1 := sampledWith("11111111111111111111111111111111")
			ctx2, tid2 := sampledWith("22222222222222222222222222222222")
			h.ObserveContext(ctx1, 0.5)
			h.ObserveContext(ctx2, 0.6)  // same bucket as 0.5
			h.ObserveContext(ctx2, 0.05) // another bucket
			body := scrape(t, b.Handler(), "application/openmetrics-text; version=1.0.0")
			want := tid1
			if tc.second {
				want = tid2
			}
			if line := `lat_seconds_bucket{le="1.0"} 3 # {trace_id="` + want + `"}`; !strings.Contains(body, line) {
				t.Errorf("scrape lacks %s:\n%s", line, body)
			}
			if line := `lat_seconds_bucket{le="0.1"} 1 # {trace_id="` + tid2 + `"} 0.05`; !strings.Contains(body, line) {
				t.Errorf("scrape lacks %s:\n%s", line, body)
			}
		})
	}
}

func sampledWith(traceID string) (context.Context, string) {
	tid, _ := trace.TraceIDFromHex(traceID)
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	return trace.ContextWithRemoteSpanContext(context.Background(), sc), tid.String()
}

// TestZeroAndNil: New with zero Options is a working Backend; a Backend
// not made by New, and a nil Desc, give errors, never a panic.
func TestZeroAndNil(t *testing.T) {
	b, err := New(Options{})
	if err != nil || b == nil {
		t.Fatalf("New(Options{}) = %v, %v", b, err)
	}
	for name, be := range map[string]*Backend{"zero Backend": new(Backend), "nil *Backend": nil} {
		reg := metrics.New(be)
		_, ec := reg.NewCounter(metrics.Opts{Name: "c"})
		_, eg := reg.NewGauge(metrics.Opts{Name: "g"})
		_, eh := reg.NewHistogram(metrics.Opts{Name: "h"})
		for i, err := range []error{ec, eg, eh} {
			if !errors.Is(err, metrics.ErrInvalidOption) {
				t.Errorf("%s: constructor %d: err = %v, want ErrInvalidOption", name, i, err)
			}
		}
		rec := httptest.NewRecorder()
		be.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: Handler answered %d, want 404", name, rec.Code)
		}
		be.Undeclare(nil)
	}
	if _, err := b.DeclareCounter(nil); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Errorf("DeclareCounter(nil): err = %v", err)
	}
	if _, err := b.DeclareGauge(nil); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Errorf("DeclareGauge(nil): err = %v", err)
	}
	if _, err := b.DeclareHistogram(nil); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Errorf("DeclareHistogram(nil): err = %v", err)
	}
	b.Undeclare(nil)
}

// refuseAll is a backend that refuses every declaration.
type refuseAll struct{ metrics.Backend }

func (refuseAll) DeclareCounter(*metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	return nil, errors.New("refused")
}

// TestTeeUndeclare: a Prometheus Backend in a Tee whose other backend
// refuses keeps neither the collector nor the names.
func TestTeeUndeclare(t *testing.T) {
	b := newBackend(t, Options{})
	if _, err := metrics.New(metrics.Tee(b, refuseAll{metrics.Discard()})).NewCounter(metrics.Opts{Name: "x.y", Help: "h"}); err == nil {
		t.Fatal("no error though the second backend refused")
	}
	if mfs, _ := b.gather.Gather(); len(mfs) != 0 {
		t.Errorf("gathered %d families after the refusal, want 0", len(mfs))
	}
	// Another declaration whose names map to the same ones succeeds
	// (with the same help and labels: client_golang keeps those of a
	// name for the life of its Registry).
	g, err := metrics.New(b).NewGauge(metrics.Opts{Name: "x_y.total", Help: "h"})
	if err != nil {
		t.Fatalf("declaration after the refusal: %v", err)
	}
	g.Set(1)
	if got := gatherValue(t, b.gather, "x_y_total"); got != 1 {
		t.Errorf("x_y_total = %v", got)
	}
}
