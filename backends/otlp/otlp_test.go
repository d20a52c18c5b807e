package otlp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.uber.org/goleak"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

// TestMain checks that no test leaves a goroutine behind, once the
// keep-alive connections of the HTTP clients that read back from the
// servers are closed.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newMem returns a Backend exporting into a memExporter, closed at the
// end of the test.
func newMem(t *testing.T, o Options) (*Backend, *memExporter) {
	t.Helper()
	mem := &memExporter{}
	o.Exporter = mem
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour // only Flush and Close export
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b, mem
}

func flush(t *testing.T, b *Backend) {
	t.Helper()
	if err := b.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		q    func(q, exact, got float64) error
	}{
		{"cumulative", Options{}, backendtest.WithinBucket(metrics.DefaultBuckets())},
		{"delta", Options{Temporality: metricdata.DeltaTemporality}, backendtest.WithinBucket(metrics.DefaultBuckets())},
		// 4 decades in 160 buckets: scale 3, one bucket spans a factor
		// 2^(1/8), 9%; the reader returns a bucket's upper bound.
		{"exponential", Options{ExponentialHistograms: true}, backendtest.RelativeError(0.091)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, mem := newMem(t, tc.o)
			backendtest.Run(t, backendtest.Harness{
				New: func(*testing.T) metrics.Backend { return b },
				Collect: func(t *testing.T, _ metrics.Backend, _ []*metrics.Desc) backendtest.Reader {
					flush(t, b)
					return reader{mem.last()}
				},
				CheckQuantile: tc.q,
			})
		})
	}
}

func TestMapping(t *testing.T) {
	b, mem := newMem(t, Options{ServiceName: "addsvc", Resource: resource.NewSchemaless(attribute.String("host.name", "h1"))})
	reg := metrics.New(b, metrics.WithNamespace("addsvc"), metrics.WithConstLabels(map[string]string{"deployment.environment": "test"}))
	c, err := reg.NewCounter(metrics.Opts{Name: "http.requests", Help: "Requests.", Unit: "{request}", Labels: []string{"http.route"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := reg.NewGauge(metrics.Opts{Name: "queue.depth", Help: "Queued.", Labels: []string{"queue"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := reg.NewHistogram(metrics.Opts{Name: "latency", Help: "Latency.", Unit: metrics.UnitSeconds, Buckets: []float64{0.1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	c.With("http.route", "/sum").Add(2)
	c.With("http.route", "/sum").Add(0.5)
	g.With("queue", "a").Set(3)
	g.With("queue", "a").Add(-5)
	for _, v := range []float64{0.05, 0.1, 0.5, 2, 3} {
		h.Observe(v)
	}
	flush(t, b)
	s := mem.last()

	p, err := s.find("addsvc.http.requests", map[string]string{"http.route": "/sum", "deployment.environment": "test"})
	if err != nil {
		t.Fatal(err)
	}
	if p.kind != "sum" || !p.monotonic || p.temporality != metricdata.CumulativeTemporality || p.value != 2.5 ||
		p.unit != "{request}" || p.desc != "Requests." || len(p.attrs) != 2 {
		t.Errorf("counter point = %+v", p)
	}
	if p, err = s.find("addsvc.queue.depth", map[string]string{"queue": "a"}); err != nil || p.kind != "gauge" || p.value != -2 {
		t.Errorf("gauge point = %+v, %v", p, err)
	}
	p, err = s.find("addsvc.latency", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.kind != "histogram" || p.unit != "s" || p.count != 5 || p.sum != 5.65 || p.min != 0.05 || p.max != 3 ||
		!slices.Equal(p.bounds, []float64{0.1, 1}) || !slices.Equal(p.counts, []uint64{2, 1, 2}) {
		t.Errorf("histogram point = %+v", p)
	}
	if mem.res["service.name"] != "addsvc" || mem.res["host.name"] != "h1" {
		t.Errorf("resource = %v", mem.res)
	}
}

func TestDelta(t *testing.T) {
	b, mem := newMem(t, Options{Temporality: metricdata.DeltaTemporality})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c"})
	idle, _ := reg.NewCounter(metrics.Opts{Name: "idle"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h", Buckets: []float64{1}})
	_ = idle.Desc()
	idle.Add(0)

	c.Add(3)
	h.Observe(0.5)
	h.Observe(4)
	flush(t, b)
	s := mem.last()
	if p, err := s.find("c", nil); err != nil || p.value != 3 || p.temporality != metricdata.DeltaTemporality {
		t.Errorf("first delta: %+v, %v", p, err)
	}
	if _, ok := s["idle"]; ok {
		t.Error("a series with nothing recorded was exported with delta temporality")
	}

	// A failed export is carried into the next.
	c.Add(2)
	h.Observe(2)
	mem.setFail(errors.New("collector down"))
	if err := b.Flush(context.Background()); !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Flush with the exporter failing = %v, want ErrDelivery", err)
	}
	mem.setFail(nil)
	c.Add(1.5)
	flush(t, b)
	s = mem.last()
	if p, err := s.find("c", nil); err != nil || p.value != 3.5 {
		t.Errorf("delta after a failed export = %+v, %v; want 3.5", p, err)
	}
	p, err := s.find("h", nil)
	if err != nil || p.count != 1 || p.sum != 2 || p.min != 2 || p.max != 2 || !slices.Equal(p.counts, []uint64{0, 1}) {
		t.Errorf("histogram delta after a failed export = %+v, %v", p, err)
	}

	// Nothing new: nothing sent.
	n := mem.count()
	flush(t, b)
	if mem.count() != n {
		t.Errorf("an idle period exported %v", mem.last())
	}
	if st := b.Stats(); st.Flushes != 4 || st.FlushErrors != 1 || st.Dropped() != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestExportErrors(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	b, mem := newMem(t, Options{ErrorHandler: func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}})
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c"})
	c.Add(1)
	cause := errors.New("connection refused")
	mem.setFail(cause)
	for range 3 {
		if err := b.Flush(context.Background()); !errors.Is(err, metrics.ErrDelivery) || !errors.Is(err, cause) {
			t.Fatalf("Flush = %v, want ErrDelivery wrapping the cause", err)
		}
	}
	st := b.Stats()
	if st.Flushes != 3 || st.FlushErrors != 3 || st.Queued != 1 || st.Sent != 0 || st.Dropped() != 0 || !errors.Is(st.LastError, cause) {
		t.Errorf("Stats with the collector down = %+v", st)
	}
	mu.Lock()
	if len(reported) != 1 || !errors.Is(reported[0], metrics.ErrDelivery) {
		t.Errorf("error handler got %v, want one ErrDelivery (rate-limited)", reported)
	}
	mu.Unlock()

	mem.setFail(nil)
	flush(t, b)
	if st := b.Stats(); st.Sent != 1 || st.Queued != 0 {
		t.Errorf("Stats after recovery = %+v", st)
	}
	if p, err := mem.last().find("c", nil); err != nil || p.value != 1 {
		t.Errorf("after recovery: %+v, %v", p, err)
	}
}

func TestReportRateLimit(t *testing.T) {
	var got []string
	e := newExporter(nil, nil, func(err error) { got = append(got, err.Error()) })
	now := time.Unix(1000, 0)
	e.now = func() time.Time { return now }
	err := errors.New("down")
	for i := range 5 {
		if r := e.reportLocked(err); r != nil {
			e.onError(r)
		}
		now = now.Add(time.Duration(i+1) * 20 * time.Second)
	}
	// At 0 s reported; 20 s suppressed; 60 s reported with 1
	// suppressed; 120 s and 200 s reported.
	if len(got) != 4 || !strings.Contains(got[1], "(and 1 more delivery errors since ") || got[2] != "down" {
		t.Errorf("reported %q", got)
	}
}

func TestCloseDeliversLastCollection(t *testing.T) {
	mem := &memExporter{}
	b, err := New(Options{Exporter: mem, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c"})
	c.Add(7)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p, err := mem.last().find("c", nil); err != nil || p.value != 7 {
		t.Errorf("Close exported %+v, %v", p, err)
	}
	if err := b.Flush(context.Background()); !errors.Is(err, metrics.ErrDelivery) {
		t.Errorf("Flush after Close = %v, want ErrDelivery", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if st := b.Stats(); st.Flushes != 1 || st.Sent != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestCloseCountsLoss(t *testing.T) {
	mem := &memExporter{fail: errors.New("down")}
	b, err := New(Options{Exporter: mem, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"k"}})
	c.With("k", "a").Add(1)
	c.With("k", "b").Add(1)
	if err := b.Close(context.Background()); !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Close = %v, want ErrDelivery", err)
	}
	if st := b.Stats(); st.DroppedClosed != 2 || st.Queued != 0 {
		t.Errorf("Stats = %+v, want DroppedClosed 2", st)
	}
}

func TestPeriodicExport(t *testing.T) {
	b, mem := newMem(t, Options{FlushInterval: 20 * time.Millisecond})
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c"})
	c.Add(1)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p, err := mem.last().find("c", nil); err == nil && p.value == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no periodic export within 5 s")
}

func TestOptionsInvalid(t *testing.T) {
	for _, o := range []Options{
		{Protocol: "udp"},
		{Endpoint: "no-port"},
		{Endpoint: ":4317"},
		{URLPath: "/v1/metrics"},
		{Protocol: ProtocolHTTP, URLPath: "v1"},
		{FlushInterval: -1},
		{Timeout: -1},
		{Insecure: true, TLSConfig: nil, Compression: "zstd"},
		{Temporality: metricdata.Temporality(9)},
		{Exporter: &memExporter{}, Endpoint: "127.0.0.1:4317"},
	} {
		if _, err := New(o); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", o, err)
		}
	}
}

func TestNewDoesNotConnect(t *testing.T) {
	for _, p := range []Protocol{ProtocolGRPC, ProtocolHTTP} {
		b, err := New(Options{Protocol: p, Endpoint: "127.0.0.1:1", Insecure: true, Timeout: 200 * time.Millisecond, FlushInterval: time.Hour})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := b.Close(ctx); err != nil {
			t.Errorf("%s: Close with nothing recorded and no collector = %v", p, err)
		}
		cancel()
	}
}

func TestDeclare(t *testing.T) {
	b, mem := newMem(t, Options{})
	r1, r2 := metrics.New(b), metrics.New(b)
	c1, err := r1.NewCounter(metrics.Opts{Name: "c", Labels: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := r2.NewCounter(metrics.Opts{Name: "c", Labels: []string{"k"}})
	if err != nil {
		t.Fatalf("identical declaration on a second Registry: %v", err)
	}
	c1.With("k", "v").Add(1)
	c2.With("k", "v").Add(2)
	if _, err := r2.NewGauge(metrics.Opts{Name: "c"}); !errors.Is(err, metrics.ErrConflict) {
		t.Errorf("gauge over counter = %v, want ErrConflict", err)
	}
	if _, err := metrics.New(b, metrics.WithNamespace(strings.Repeat("n", 250))).NewCounter(metrics.Opts{Name: "toolong"}); !errors.Is(err, metrics.ErrInvalidName) {
		t.Errorf("256-byte name = %v, want ErrInvalidName", err)
	}
	flush(t, b)
	if pts := mem.last()["c"]; len(pts) != 1 || pts[0].value != 3 {
		t.Errorf("shared series = %+v", pts)
	}
}

func TestZeroAllocs(t *testing.T) {
	b, _ := newMem(t, Options{})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"k"}})
	g, _ := reg.NewGauge(metrics.Opts{Name: "g"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h", Labels: []string{"k"}})
	cb, hb := c.With("k", "v"), h.With("k", "v")
	for name, f := range map[string]func(){
		"counter Add":       func() { cb.Add(1) },
		"counter Add 0.5":   func() { cb.Add(0.5) },
		"counter With+Add":  func() { c.With("k", "v").Add(1) },
		"gauge Set":         func() { g.Set(2) },
		"gauge Add":         func() { g.Add(2) },
		"histogram Observe": func() { hb.Observe(0.3) },
		"histogram With+Observe": func() {
			h.With("k", "v").Observe(0.3)
		},
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocs", name, n)
		}
	}
}

func TestPartialSuccess(t *testing.T) {
	for _, tc := range []struct {
		err      error
		rejected uint64
		ok       bool
	}{
		{nil, 0, false},
		{errors.New("x"), 0, false},
		{PartialSuccess{RejectedItems: 3}, 3, true},
		{errors.Join(PartialSuccess{RejectedItems: 1}, PartialSuccess{RejectedItems: 2}), 3, true},
		{errors.Join(PartialSuccess{RejectedItems: 1}, errors.New("x")), 1, false},
	} {
		n, ok := partialSuccess(tc.err)
		if n != tc.rejected || ok != tc.ok {
			t.Errorf("partialSuccess(%v) = %d, %v; want %d, %v", tc.err, n, ok, tc.rejected, tc.ok)
		}
	}
}

// PartialSuccess has the name and field of the exporters' internal type.
type PartialSuccess struct{ RejectedItems int64 }

func (p PartialSuccess) Error() string { return "OTLP partial success" }

func TestExpoBin(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, scale := range []int32{-3, 0, 1, 4, 20} {
		base := math.Exp2(math.Exp2(-float64(scale)))
		for range 2000 {
			v := math.Exp(r.Float64()*60 - 30)
			i := expoBin(v, scale)
			lo, hi := math.Pow(base, float64(i)), math.Pow(base, float64(i+1))
			if !(v > lo*(1-1e-8) && v <= hi*(1+1e-8)) { // math.Log's rounding at scale 20
				t.Fatalf("scale %d: %v in bucket %d = (%v, %v]", scale, v, i, lo, hi)
			}
		}
		// Exact powers of two are upper bounds.
		if scale <= 0 {
			if i := expoBin(8, scale); i != (3>>-scale)-1 && scale == 0 {
				t.Errorf("scale 0: bin of 8 = %d, want 2", i)
			}
		}
	}
}

func TestExpoDataMerge(t *testing.T) {
	vals := backendtest.HistogramValues(5000)
	var all, a, b expoData
	all.reset()
	a.reset()
	b.reset()
	for i, v := range vals {
		if i%3 == 0 {
			v = -v
		}
		if i%50 == 0 {
			v = 0
		}
		all.record(v)
	}
	// a from a narrow first part (it stays at a finer scale than b), b
	// from the rest; merged they must equal all.
	for i, v := range vals {
		if i%3 == 0 {
			v = -v
		}
		if i%50 == 0 {
			v = 0
		}
		if i < 100 {
			a.record(v)
		} else {
			b.record(v)
		}
	}
	a.merge(&b)
	if a.count != all.count || a.zero != all.zero || a.scale != all.scale || a.min != all.min || a.max != all.max ||
		math.Abs(a.sum-all.sum) > 1e-9*math.Abs(all.sum) {
		t.Fatalf("merged %+v\n   all %+v", a, all)
	}
	if a.pos.start != all.pos.start || !slices.Equal(a.pos.counts, all.pos.counts) ||
		a.neg.start != all.neg.start || !slices.Equal(a.neg.counts, all.neg.counts) {
		t.Errorf("merged buckets differ from recording everything in one")
	}
	var n uint64
	for _, c := range slices.Concat(a.pos.counts, a.neg.counts) {
		n += c
	}
	if n+a.zero != a.count || len(a.pos.counts) > expoMaxSize {
		t.Errorf("bucket counts %d + zero %d != count %d, or %d buckets", n, a.zero, a.count, len(a.pos.counts))
	}
}

// TestPartialSuccessWarning: a partial success rejecting no point is a
// warning; everything counts as delivered.
func TestPartialSuccessWarning(t *testing.T) {
	b, mem := newMem(t, Options{Temporality: metricdata.DeltaTemporality})
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c"})
	c.Add(1)
	mem.setFail(PartialSuccess{})
	if err := b.Flush(context.Background()); err != nil {
		t.Errorf("Flush = %v, want nil for a warning", err)
	}
	mem.setFail(nil)
	c.Add(2)
	flush(t, b)
	if p, err := mem.last().find("c", nil); err != nil || p.value != 2 {
		t.Errorf("delta after a warning = %+v, %v; want 2 (the first was delivered)", p, err)
	}
	if st := b.Stats(); st.Sent != 2 || st.FlushErrors != 0 {
		t.Errorf("Stats = %+v", st)
	}
}
