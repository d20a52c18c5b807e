// Package backendtest is the conformance suite every obskit backend
// passes. A backend's test supplies a Harness: how to make the backend,
// and how to read back what arrived, from memory, from the wire or from a
// real server's query API. Run records a fixed workload through a
// metrics.Registry and checks what the harness reads back:
//
//   - counters with and without labels, exact;
//   - gauges after Set and Add, negative values included, exact;
//   - a histogram of 10 000 log-uniform values from 1 ms to 10 s: count
//     exact, sum to 1e-9 relative, the 0.5, 0.9 and 0.99 quantiles within
//     the backend's error;
//   - concurrent writers, exact;
//   - label values holding space, comma, '=', ':', '|', '#', quotes,
//     backslash, newline and non-ASCII letters: read back intact or in
//     the backend's documented sanitised form, and never as an extra
//     series;
//   - name collisions: a counter and a gauge of one full name declared
//     through two Registries over one Backend either both succeed or the
//     second fails with an error wrapping metrics.ErrConflict, and each
//     pair in Harness.Collisions fails that way.
package backendtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// Harness adapts one backend to the suite.
type Harness struct {
	// New returns the backend under test, ready to record.
	New func(t *testing.T) metrics.Backend
	// Namespace is the registry namespace for the workload; empty means
	// one made unique per run, so that runs against a long-lived server
	// never read each other's series.
	Namespace string
	// Collect makes everything recorded so far readable (a push backend
	// flushes, a pull backend waits until the server has scraped) and
	// returns the Reader. descs are the instruments the workload declared.
	Collect func(t *testing.T, b metrics.Backend, descs []*metrics.Desc) Reader
	// CheckQuantile reports whether got is an acceptable q-quantile
	// reading when the exact nearest-rank quantile is exact. Nil means the
	// backend reports no quantiles and they are not checked.
	CheckQuantile func(q, exact, got float64) error
	// SanitizeLabelValue returns the form in which the backend documents
	// that a label value arrives. Nil means values arrive intact.
	SanitizeLabelValue func(string) string
	// SumTolerance is the relative error allowed on a histogram's sum
	// (in the concurrent case too); zero means 1e-9.
	SumTolerance float64
	// Collisions are pairs of portable counter names that the backend
	// documents as colliding after mapping to its convention (for
	// Prometheus, "a.b" and "a_b"). The suite declares each pair through
	// two Registries over one Backend and expects the second declaration
	// to fail with an error wrapping metrics.ErrConflict.
	Collisions [][2]string
	// CounterValue returns the value the backend documents that a
	// counter reads back as after deltas adding up to recorded were
	// added (math.Floor for a backend whose counters are integers and
	// carry the fraction). Nil means exactly recorded.
	CounterValue func(recorded float64) float64
}

// Reader reads recorded values back. labels holds the declared labels
// only, by name.
type Reader interface {
	// Value returns a counter's or gauge's current value.
	Value(d *metrics.Desc, labels map[string]string) (float64, error)
	// Histogram returns a histogram series' count, sum and quantiles.
	Histogram(d *metrics.Desc, labels map[string]string) (HistogramReading, error)
	// Series returns the declared-label sets of every series of d.
	Series(d *metrics.Desc) ([]map[string]string, error)
}

// HistogramReading is what a backend holds of one histogram series.
type HistogramReading struct {
	Count uint64
	Sum   float64
	// Quantile returns the backend's estimate of the q-quantile; nil when
	// the backend has none.
	Quantile func(q float64) (float64, error)
}

// AwkwardLabelValues returns the label values the suite records, each of
// which a careless line protocol would turn into an extra line, tag or
// field: a new slice on every call, for a backend's own tests of its
// escaping.
func AwkwardLabelValues() []string { return slices.Clone(awkwardLabelValues) }

var awkwardLabelValues = []string{
	"with space",
	"comma,here",
	"equals=here",
	"colon:here",
	"pipe|here",
	"hash#here",
	`double"quote`,
	"single'quote",
	`back\slash`,
	"new\nline",
	"ünïcödé Ελληνικά 日本語",
}

// HistogramValues returns the suite's histogram workload: n values
// log-uniform between 1 ms and 10 s, the same on every call.
func HistogramValues(n int) []float64 {
	if n <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Exp(math.Log(0.001) + r.Float64()*(math.Log(10)-math.Log(0.001)))
	}
	return v
}

const (
	concurrentWriters = 8
	perWriter         = 1000
	histogramCount    = 10000
)

// quantiles are the quantiles the suite checks.
var quantiles = []float64{0.5, 0.9, 0.99}

type workload struct {
	plain, labelled, concurrent, awkward *metrics.CounterMetric
	level, pools                         *metrics.GaugeMetric
	latency, concurrentHist              *metrics.HistogramMetric
	values                               []float64
}

// Run records the workload into h.New's backend, collects and checks it.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Collect == nil {
		t.Fatal("backendtest: Harness.New and Harness.Collect are required")
	}
	b := h.New(t)
	if b == nil {
		t.Fatal("backendtest: Harness.New returned a nil Backend")
	}
	ns := h.Namespace
	if ns == "" {
		ns = fmt.Sprintf("bt%08x", rand.Uint32())
	}
	reg := metrics.New(b, metrics.WithNamespace(ns), metrics.WithErrorHandler(func(err error) {
		t.Errorf("unexpected hot-path problem: %v", err)
	}))
	w := declare(t, reg)
	w.record()
	descs := []*metrics.Desc{desc(w.plain), desc(w.labelled), desc(w.concurrent), desc(w.awkward),
		gdesc(w.level), gdesc(w.pools), hdesc(w.latency), hdesc(w.concurrentHist)}
	r := h.Collect(t, b, descs)

	counter := h.CounterValue
	if counter == nil {
		counter = func(v float64) float64 { return v }
	}
	t.Run("counter", func(t *testing.T) {
		expectValue(t, r, desc(w.plain), nil, counter(102.5))
		expectValue(t, r, desc(w.labelled), map[string]string{"method": "GET", "code": "200"}, counter(3))
		expectValue(t, r, desc(w.labelled), map[string]string{"method": "POST", "code": "500"}, counter(7.25))
		expectSeries(t, r, desc(w.labelled), []map[string]string{{"method": "GET", "code": "200"}, {"method": "POST", "code": "500"}})
	})
	t.Run("gauge", func(t *testing.T) {
		expectValue(t, r, gdesc(w.level), nil, -8)
		expectValue(t, r, gdesc(w.pools), map[string]string{"pool": "a"}, 2.25)
		expectValue(t, r, gdesc(w.pools), map[string]string{"pool": "b"}, -7)
	})
	t.Run("histogram", func(t *testing.T) {
		labels := map[string]string{"route": "/a"}
		got, err := r.Histogram(hdesc(w.latency), labels)
		if err != nil {
			t.Fatalf("read histogram: %v", err)
		}
		var sum float64
		for _, v := range w.values {
			sum += v
		}
		if got.Count != histogramCount {
			t.Errorf("count = %d, want %d", got.Count, histogramCount)
		}
		tol := h.SumTolerance
		if tol == 0 {
			tol = 1e-9
		}
		if math.Abs(got.Sum-sum) > tol*sum {
			t.Errorf("sum = %v, want %v (relative error %.3g > %.3g)", got.Sum, sum, math.Abs(got.Sum-sum)/sum, tol)
		}
		if h.CheckQuantile == nil {
			return
		}
		if got.Quantile == nil {
			t.Fatal("harness checks quantiles but the reading has none")
		}
		all := metricstest.HistogramSnapshot{Values: w.values}
		for _, q := range quantiles {
			exact := all.Quantile(q)
			est, err := got.Quantile(q)
			if err != nil {
				t.Errorf("quantile %v: %v", q, err)
				continue
			}
			if err := h.CheckQuantile(q, exact, est); err != nil {
				t.Errorf("quantile %v = %v, exact %v: %v", q, est, exact, err)
			}
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		expectValue(t, r, desc(w.concurrent), map[string]string{"worker": "all"}, counter(concurrentWriters*perWriter))
		got, err := r.Histogram(hdesc(w.concurrentHist), nil)
		if err != nil {
			t.Fatalf("read histogram: %v", err)
		}
		if want := uint64(concurrentWriters * perWriter); got.Count != want {
			t.Errorf("histogram count = %d, want %d", got.Count, want)
		}
		tol := h.SumTolerance
		if tol == 0 {
			tol = 1e-9
		}
		if want := concurrentWriters * perWriter * 0.25; math.Abs(got.Sum-want) > tol*want {
			t.Errorf("histogram sum = %v, want %v (relative error %.3g > %.3g)", got.Sum, want, math.Abs(got.Sum-want)/want, tol)
		}
	})
	t.Run("awkward label values", func(t *testing.T) {
		sanitize := h.SanitizeLabelValue
		if sanitize == nil {
			sanitize = func(s string) string { return s }
		}
		var want []map[string]string
		for i, v := range awkwardLabelValues {
			l := map[string]string{"value": sanitize(v)}
			want = append(want, l)
			expectValue(t, r, desc(w.awkward), l, counter(float64(i+1)))
		}
		expectSeries(t, r, desc(w.awkward), want)
	})
	t.Run("name collisions", func(t *testing.T) {
		checkCollisions(t, b, ns, h.Collisions)
	})
}

// checkCollisions declares colliding names through two Registries over
// b, so that only the backend can see the collision.
func checkCollisions(t *testing.T, b metrics.Backend, ns string, pairs [][2]string) {
	t.Helper()
	first := metrics.New(b, metrics.WithNamespace(ns))
	second := metrics.New(b, metrics.WithNamespace(ns))
	if _, err := first.NewCounter(metrics.Opts{Name: "collide", Help: "A counter."}); err != nil {
		t.Fatalf("declare counter collide: %v", err)
	}
	if _, err := second.NewGauge(metrics.Opts{Name: "collide", Help: "A gauge of the counter's name."}); err != nil && !errors.Is(err, metrics.ErrConflict) {
		t.Errorf("gauge of a counter's name refused with %v, which does not wrap metrics.ErrConflict", err)
	}
	for i, p := range pairs {
		if _, err := first.NewCounter(metrics.Opts{Name: p[0], Help: "First of a colliding pair."}); err != nil {
			t.Errorf("pair %d: declare %q: %v", i, p[0], err)
			continue
		}
		if _, err := second.NewCounter(metrics.Opts{Name: p[1], Help: "Second of a colliding pair."}); !errors.Is(err, metrics.ErrConflict) {
			t.Errorf("pair %d: %q after %q: err = %v, want one wrapping metrics.ErrConflict", i, p[1], p[0], err)
		}
	}
}

func declare(t *testing.T, reg *metrics.Registry) *workload {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var w workload
	var err error
	w.plain, err = reg.NewCounter(metrics.Opts{Name: "plain", Help: "A counter without labels."})
	must(err)
	w.labelled, err = reg.NewCounter(metrics.Opts{Name: "labelled", Help: "A counter with two labels.", Labels: []string{"method", "code"}})
	must(err)
	w.concurrent, err = reg.NewCounter(metrics.Opts{Name: "concurrent", Help: "Written by many goroutines.", Labels: []string{"worker"}})
	must(err)
	w.awkward, err = reg.NewCounter(metrics.Opts{Name: "awkward", Help: "Label values that need escaping.", Labels: []string{"value"}})
	must(err)
	w.level, err = reg.NewGauge(metrics.Opts{Name: "level", Help: "A gauge without labels."})
	must(err)
	w.pools, err = reg.NewGauge(metrics.Opts{Name: "pools", Help: "A gauge with a label.", Labels: []string{"pool"}})
	must(err)
	w.latency, err = reg.NewHistogram(metrics.Opts{Name: "latency", Help: "Log-uniform latencies.", Unit: metrics.UnitSeconds, Labels: []string{"route"}})
	must(err)
	w.concurrentHist, err = reg.NewHistogram(metrics.Opts{Name: "concurrent.hist", Help: "Observed by many goroutines.", Unit: metrics.UnitSeconds})
	must(err)
	w.values = HistogramValues(histogramCount)
	return &w
}

func (w *workload) record() {
	for range 100 {
		w.plain.Add(1)
	}
	w.plain.Add(2.5)
	get := w.labelled.With("method", "GET", "code", "200")
	for range 3 {
		get.Add(1)
	}
	w.labelled.With("code", "500").With("method", "POST").Add(7.25)

	w.level.Set(42)
	w.level.Add(-50)
	a := w.pools.With("pool", "a")
	a.Set(3.5)
	a.Add(-1.25)
	w.pools.With("pool", "b").Set(-7)

	lat := w.latency.With("route", "/a")
	for _, v := range w.values {
		lat.Observe(v)
	}

	var wg sync.WaitGroup
	for range concurrentWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWriter {
				w.concurrent.With("worker", "all").Add(1)
				w.concurrentHist.Observe(0.25)
			}
		}()
	}
	wg.Wait()

	for i, v := range awkwardLabelValues {
		w.awkward.With("value", v).Add(float64(i + 1))
	}
}

func desc(c *metrics.CounterMetric) *metrics.Desc    { return c.Desc() }
func gdesc(g *metrics.GaugeMetric) *metrics.Desc     { return g.Desc() }
func hdesc(h *metrics.HistogramMetric) *metrics.Desc { return h.Desc() }

func expectValue(t *testing.T, r Reader, d *metrics.Desc, labels map[string]string, want float64) {
	t.Helper()
	got, err := r.Value(d, labels)
	if err != nil {
		t.Errorf("%s %v: %v", d.FullName("."), labels, err)
		return
	}
	if got != want {
		t.Errorf("%s %v = %v, want %v", d.FullName("."), labels, got, want)
	}
}

func expectSeries(t *testing.T, r Reader, d *metrics.Desc, want []map[string]string) {
	t.Helper()
	got, err := r.Series(d)
	if err != nil {
		t.Errorf("series of %s: %v", d.FullName("."), err)
		return
	}
	if g, w := keys(got), keys(want); !slices.Equal(g, w) {
		t.Errorf("series of %s:\n got %q\nwant %q", d.FullName("."), g, w)
	}
}

func keys(sets []map[string]string) []string {
	var out []string
	for _, s := range sets {
		var parts []string
		for k, v := range s {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
		sort.Strings(parts)
		out = append(out, strings.Join(parts, ","))
	}
	sort.Strings(out)
	return out
}

// RelativeError returns a CheckQuantile that accepts estimates within
// rel of the exact quantile.
func RelativeError(rel float64) func(q, exact, got float64) error {
	return func(q, exact, got float64) error {
		if e := math.Abs(got-exact) / exact; e > rel {
			return fmt.Errorf("relative error %.4g > %.4g", e, rel)
		}
		return nil
	}
}

// BucketQuantile estimates the q-quantile of a histogram with explicit
// buckets as PromQL's histogram_quantile does, for a Reader of a backend
// that keeps buckets: linear interpolation within the bucket holding the
// rank, the lowest bucket starting at 0, and the highest bound for a rank
// in the +Inf bucket. counts holds each bucket's own count, one per bound
// and the +Inf bucket's last.
func BucketQuantile(q float64, bounds []float64, counts []uint64) (float64, error) {
	if len(bounds) == 0 || len(counts) != len(bounds)+1 {
		return 0, fmt.Errorf("%d bucket counts for %d bounds, want one more and at least one bound", len(counts), len(bounds))
	}
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0, errors.New("empty histogram")
	}
	rank := q * float64(total)
	var below uint64
	for i, c := range counts[:len(bounds)] {
		if float64(below+c) >= rank {
			if c == 0 {
				return bounds[i], nil
			}
			lo := 0.0
			if i > 0 {
				lo = bounds[i-1]
			}
			return lo + (bounds[i]-lo)*(rank-float64(below))/float64(c), nil
		}
		below += c
	}
	return bounds[len(bounds)-1], nil // in +Inf: the highest bound
}

// WithinBucket returns a CheckQuantile for bucketed histograms: the
// estimate must fall in the same bucket of bounds as the exact quantile,
// which is all that interpolation within a bucket can promise.
func WithinBucket(bounds []float64) func(q, exact, got float64) error {
	return func(q, exact, got float64) error {
		lo, hi := 0.0, math.Inf(1)
		for _, b := range bounds {
			if exact <= b {
				hi = b
				break
			}
			lo = b
		}
		if got < lo || got > hi {
			return fmt.Errorf("outside the exact quantile's bucket [%v, %v]", lo, hi)
		}
		return nil
	}
}
