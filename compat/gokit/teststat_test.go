package gokit_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/teststat"

	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// The instruments every teststat check records into: the same names,
// labels and buckets on every backend and through every path.
const (
	counterName   = "requests"
	gaugeName     = "queue.depth"
	histogramName = "latency"
)

// teststatBuckets are one unit wide around teststat's normal distribution
// (mean 500, standard deviation 25), so that quantiles interpolated from
// Prometheus' cumulative buckets are within 0.2% of the exact ones.
func teststatBuckets() []float64 {
	var b []float64
	for v := 400.0; v <= 600; v++ {
		b = append(b, v)
	}
	return b
}

func teststatOpts() map[string]metrics.Opts {
	labels := []string{"alpha", "beta"}
	return map[string]metrics.Opts{
		counterName:   {Name: counterName, Help: "Requests.", Labels: labels},
		gaugeName:     {Name: gaugeName, Help: "Queue depth.", Labels: labels},
		histogramName: {Name: histogramName, Help: "Latency.", Labels: labels, Buckets: teststatBuckets()},
	}
}

// backendUnderTest is one obskit backend with a way to read back the
// series alpha="a",beta="b" of the teststat instruments.
type backendUnderTest struct {
	reg       *metrics.Registry
	counter   func() float64
	gauge     func() float64
	quantiles func() (p50, p90, p95, p99 float64)

	// sample reads one series of the Prometheus text exposition, 0 when
	// absent (prometheus only).
	sample func(series string) float64
	// decode reads the series with the given key of an instrument, by
	// its name without the namespace, from /debug/vars into v; it leaves
	// v alone when absent (expvar only).
	decode func(name, key string, v any)
}

var backends = []struct {
	name string
	new  func(t *testing.T) backendUnderTest
}{
	{"metricstest", newMetricstest},
	{"prometheus", newPrometheus},
	{"expvar", newExpvar},
}

// newMetricstest reads back through metricstest's accessors; its
// quantiles are exact.
func newMetricstest(t *testing.T) backendUnderTest {
	b := metricstest.New()
	labels := []string{"alpha", "a", "beta", "b"}
	return backendUnderTest{
		reg:     metrics.New(b, metrics.WithNamespace("ns")),
		counter: func() float64 { return b.Counter("ns."+counterName, labels...) },
		gauge:   func() float64 { return b.Gauge("ns."+gaugeName, labels...) },
		quantiles: func() (float64, float64, float64, float64) {
			h := b.Histogram("ns."+histogramName, labels...)
			return h.Quantile(0.50), h.Quantile(0.90), h.Quantile(0.95), h.Quantile(0.99)
		},
	}
}

// newPrometheus reads back from the text exposition that the backend's
// handler serves, as Go kit's own Prometheus tests do; quantiles are
// interpolated from the cumulative buckets, as PromQL's
// histogram_quantile does.
func newPrometheus(t *testing.T) backendUnderTest {
	b, err := prometheus.New(prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Fatalf("GET /metrics: %d: %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	sample := func(series string) float64 {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
		m := re.FindStringSubmatch(scrape())
		if m == nil {
			return 0 // never recorded
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("%s: %v", series, err)
		}
		return v
	}
	bucketRE := regexp.MustCompile(`(?m)^ns_latency_bucket\{alpha="a",beta="b",le="([^"]+)"\} (\S+)$`)
	return backendUnderTest{
		reg:     metrics.New(b, metrics.WithNamespace("ns")),
		sample:  sample,
		counter: func() float64 { return sample(`ns_requests_total{alpha="a",beta="b"}`) },
		gauge:   func() float64 { return sample(`ns_queue_depth{alpha="a",beta="b"}`) },
		quantiles: func() (float64, float64, float64, float64) {
			var buckets []bucket
			for _, m := range bucketRE.FindAllStringSubmatch(scrape(), -1) {
				le, err1 := strconv.ParseFloat(m[1], 64)
				n, err2 := strconv.ParseFloat(m[2], 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("bucket line %q: %v %v", m[0], err1, err2)
				}
				buckets = append(buckets, bucket{le, n})
			}
			return bucketQuantile(0.50, buckets), bucketQuantile(0.90, buckets),
				bucketQuantile(0.95, buckets), bucketQuantile(0.99, buckets)
		},
	}
}

// newExpvar reads back from the JSON that the backend's handler serves.
// Its quantiles come from a relative-error sketch; at 0.1% accuracy they
// stay well within teststat's 1% tolerance.
func newExpvar(t *testing.T) backendUnderTest {
	b, err := expvar.New(expvar.Options{RelativeAccuracy: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	// expvar's registry is process-global: a namespace of the test's own.
	ns := fmt.Sprintf("gokit%08x", rand.Uint32())
	decode := func(name, key string, v any) {
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/vars", nil))
		var vars map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &vars); err != nil {
			t.Fatalf("/debug/vars: %v", err)
		}
		raw, ok := vars[ns+"."+name]
		if !ok {
			return // not declared
		}
		var byKey map[string]json.RawMessage
		if err := json.Unmarshal(raw, &byKey); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if raw, ok := byKey[key]; ok {
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("%s{%s}: %s: %v", name, key, raw, err)
			}
		}
	}
	number := func(name string) float64 {
		var v float64 // 0 when never recorded
		decode(name, "alpha=a,beta=b", &v)
		return v
	}
	return backendUnderTest{
		reg:     metrics.New(b, metrics.WithNamespace(ns)),
		decode:  decode,
		counter: func() float64 { return number(counterName) },
		gauge:   func() float64 { return number(gaugeName) },
		quantiles: func() (float64, float64, float64, float64) {
			h := struct{ P50, P90, P95, P99 float64 }{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
			decode(histogramName, "alpha=a,beta=b", &h)
			return h.P50, h.P90, h.P95, h.P99
		},
	}
}

type bucket struct{ le, cumulative float64 }

// bucketQuantile interpolates the q-quantile linearly within the bucket
// that holds it, as PromQL's histogram_quantile does.
func bucketQuantile(q float64, buckets []bucket) float64 {
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].le < buckets[j].le })
	if len(buckets) == 0 {
		return math.NaN()
	}
	rank := q * buckets[len(buckets)-1].cumulative
	lower, below := 0.0, 0.0
	for _, b := range buckets {
		if b.cumulative >= rank {
			if math.IsInf(b.le, 1) {
				return lower
			}
			if b.cumulative == below {
				return b.le
			}
			return lower + (b.le-lower)*(rank-below)/(b.cumulative-below)
		}
		lower, below = b.le, b.cumulative
	}
	return lower
}

// instruments are the Go kit instruments under test, all bound to the
// series alpha="a",beta="b".
type instruments struct {
	counter   kitmetrics.Counter
	gauge     kitmetrics.Gauge
	histogram kitmetrics.Histogram
}

// The paths from an obskit Registry to Go kit's interfaces.
var paths = []struct {
	name string
	make func(t *testing.T, reg *metrics.Registry) instruments
}{
	{"concrete", func(t *testing.T, reg *metrics.Registry) instruments {
		c, g, h := declareAll(t, reg)
		return instruments{
			gokit.ToKitCounter(c).With("beta", "b", "alpha", "a"), // order does not matter
			gokit.ToKitGauge(g).With("alpha", "a").With("beta", "b"),
			gokit.ToKitHistogram(h).With("alpha", "a", "beta", "b"),
		}
	}},
	{"interface", func(t *testing.T, reg *metrics.Registry) instruments {
		// Any other implementation of obskit's interfaces.
		c, g, h := declareAll(t, reg)
		return instruments{
			gokit.ToKitCounter(opaqueCounter{c}).With("beta", "b", "alpha", "a"),
			gokit.ToKitGauge(opaqueGauge{g}).With("alpha", "a").With("beta", "b"),
			gokit.ToKitHistogram(opaqueHistogram{h}).With("alpha", "a", "beta", "b"),
		}
	}},
	{"provider", func(t *testing.T, reg *metrics.Registry) instruments {
		p, err := gokit.NewProvider(reg, gokit.ProviderOptions{Instruments: teststatOpts()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.Err(); err != nil {
				t.Errorf("provider: %v", err)
			}
		})
		return instruments{
			p.NewCounter(counterName).With("beta", "b", "alpha", "a"),
			p.NewGauge(gaugeName).With("alpha", "a").With("beta", "b"),
			p.NewHistogram(histogramName, 50).With("alpha", "a", "beta", "b"),
		}
	}},
}

func declareAll(t *testing.T, reg *metrics.Registry) (*metrics.CounterMetric, *metrics.GaugeMetric, *metrics.HistogramMetric) {
	t.Helper()
	o := teststatOpts()
	c, err := reg.NewCounter(o[counterName])
	if err != nil {
		t.Fatal(err)
	}
	g, err := reg.NewGauge(o[gaugeName])
	if err != nil {
		t.Fatal(err)
	}
	h, err := reg.NewHistogram(o[histogramName])
	if err != nil {
		t.Fatal(err)
	}
	return c, g, h
}

// opaqueCounter and its kin hide the concrete types, so that the adapters
// take their path for any other implementation of obskit's interfaces.
type (
	opaqueCounter   struct{ c metrics.Counter }
	opaqueGauge     struct{ g metrics.Gauge }
	opaqueHistogram struct{ h metrics.Histogram }
)

func (o opaqueCounter) With(lv ...string) metrics.Counter { return opaqueCounter{o.c.With(lv...)} }
func (o opaqueCounter) Add(d float64)                     { o.c.Add(d) }
func (o opaqueGauge) With(lv ...string) metrics.Gauge     { return opaqueGauge{o.g.With(lv...)} }
func (o opaqueGauge) Set(v float64)                       { o.g.Set(v) }
func (o opaqueGauge) Add(d float64)                       { o.g.Add(d) }
func (o opaqueHistogram) With(lv ...string) metrics.Histogram {
	return opaqueHistogram{o.h.With(lv...)}
}
func (o opaqueHistogram) Observe(v float64) { o.h.Observe(v) }

// TestTeststat runs Go kit's own backend checks (metrics/teststat) through
// every path from obskit to Go kit's interfaces, on every backend, reading
// the values back the way a user of the backend would.
func TestTeststat(t *testing.T) {
	checks := []struct {
		name string
		run  func(in instruments, be backendUnderTest) error
	}{
		{"TestCounter", func(in instruments, be backendUnderTest) error {
			return teststat.TestCounter(in.counter, be.counter)
		}},
		{"TestGauge", func(in instruments, be backendUnderTest) error {
			return testGauge(in.gauge, be.gauge)
		}},
		{"TestHistogram", func(in instruments, be backendUnderTest) error {
			// 1%: the tolerance of Go kit's own backend tests.
			return teststat.TestHistogram(in.histogram, be.quantiles, 0.01)
		}},
	}
	for _, b := range backends {
		for _, p := range paths {
			for _, c := range checks {
				t.Run(b.name+"/"+p.name+"/"+c.name, func(t *testing.T) {
					be := b.new(t)
					if err := c.run(p.make(t, be.reg), be); err != nil {
						t.Fatal(err)
					}
					if s := be.reg.Stats(); s != (metrics.Stats{}) {
						t.Errorf("Stats = %+v, want no problems", s)
					}
				})
			}
		}
	}
}

// testGauge is teststat.TestGauge, run again when it draws no values:
// Go kit v0.13.0's TestGauge then indexes an empty slice and panics (it
// draws with math/rand's global source, which a test cannot seed). A
// draw with no values sets nothing, so running again on the same gauge
// is sound.
func testGauge(g kitmetrics.Gauge, value func() float64) (err error) {
	for range 10 {
		panicked := false
		func() {
			defer func() {
				if r := recover(); r != nil {
					if !strings.Contains(fmt.Sprint(r), "index out of range [-1]") {
						panic(r)
					}
					panicked = true
				}
			}()
			err = teststat.TestGauge(g, func() []float64 { return []float64{value()} })
		}()
		if !panicked {
			return err
		}
	}
	return fmt.Errorf("teststat.TestGauge drew no values ten times")
}
