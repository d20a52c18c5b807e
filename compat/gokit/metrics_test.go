package gokit_test

import (
	"context"
	"slices"
	"testing"

	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/generic"

	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

func newRegistry(t *testing.T) (*metrics.Registry, *metricstest.Backend) {
	t.Helper()
	b := metricstest.New()
	return metrics.New(b, metrics.WithNamespace("ns")), b
}

// The Go kit view of an obskit instrument satisfies Go kit's interfaces,
// and obskit's view of a Go kit instrument satisfies obskit's.
var (
	_ kitmetrics.Counter   = gokit.ToKitCounter(nil)
	_ kitmetrics.Gauge     = gokit.ToKitGauge(nil)
	_ kitmetrics.Histogram = gokit.ToKitHistogram(nil)
	_ metrics.Counter      = gokit.FromKitCounter(nil)
	_ metrics.Gauge        = gokit.FromKitGauge(nil)
	_ metrics.Histogram    = gokit.FromKitHistogram(nil)
)

func TestRoundTripIsIdentity(t *testing.T) {
	reg, _ := newRegistry(t)
	c, g, h := declareAll(t, reg)
	if got := gokit.FromKitCounter(gokit.ToKitCounter(c)); got != metrics.Counter(c) {
		t.Errorf("counter: round trip gave %T %p, want %p", got, got, c)
	}
	if got := gokit.FromKitGauge(gokit.ToKitGauge(g)); got != metrics.Gauge(g) {
		t.Errorf("gauge: round trip gave %T %p, want %p", got, got, g)
	}
	if got := gokit.FromKitHistogram(gokit.ToKitHistogram(h)); got != metrics.Histogram(h) {
		t.Errorf("histogram: round trip gave %T %p, want %p", got, got, h)
	}
	// A child found through Go kit's With is obskit's cached child.
	child := gokit.ToKitCounter(c).With("alpha", "a", "beta", "b")
	if got, want := gokit.FromKitCounter(child), metrics.Counter(c.Bind("alpha", "a", "beta", "b")); got != want {
		t.Errorf("child: %p, want obskit's cached child %p", got, want)
	}

	kc, kg, kh := generic.NewCounter("c"), generic.NewGauge("g"), generic.NewHistogram("h", 10)
	if got := gokit.ToKitCounter(gokit.FromKitCounter(kc)); got != kitmetrics.Counter(kc) {
		t.Errorf("Go kit counter: round trip gave %T", got)
	}
	if got := gokit.ToKitGauge(gokit.FromKitGauge(kg)); got != kitmetrics.Gauge(kg) {
		t.Errorf("Go kit gauge: round trip gave %T", got)
	}
	if got := gokit.ToKitHistogram(gokit.FromKitHistogram(kh)); got != kitmetrics.Histogram(kh) {
		t.Errorf("Go kit histogram: round trip gave %T", got)
	}

	oc := opaqueCounter{c}
	if got := gokit.FromKitCounter(gokit.ToKitCounter(oc)); got != metrics.Counter(oc) {
		t.Errorf("other obskit counter: round trip gave %T", got)
	}
}

func TestNil(t *testing.T) {
	if gokit.ToKitCounter(nil) != nil || gokit.ToKitGauge(nil) != nil || gokit.ToKitHistogram(nil) != nil {
		t.Error("ToKit… of nil is not nil")
	}
	if gokit.FromKitCounter(nil) != nil || gokit.FromKitGauge(nil) != nil || gokit.FromKitHistogram(nil) != nil {
		t.Error("FromKit… of nil is not nil")
	}
}

// TestFromKit records through obskit's interfaces into Go kit's generic
// instruments and reads Go kit's values back, labels included.
func TestFromKit(t *testing.T) {
	kc := generic.NewCounter("c")
	c := gokit.FromKitCounter(kc).With("method", "Sum")
	c.Add(2)
	c.With("code", "200").Add(3)
	// generic.Counter keeps a value per instance, and With returns a new
	// instance: read back the children recorded into.
	if got := gokit.ToKitCounter(c).(*generic.Counter); got.Value() != 2 || !slices.Equal(got.LabelValues(), []string{"method", "Sum"}) {
		t.Errorf("counter child: value %v, labels %v; want 2, [method Sum]", got.Value(), got.LabelValues())
	}
	grandchild := c.With("code", "200")
	grandchild.Add(3)
	// generic's With starts the child at its parent's value, 2.
	cc := gokit.ToKitCounter(grandchild).(*generic.Counter)
	if cc.Value() != 5 || !slices.Equal(cc.LabelValues(), []string{"method", "Sum", "code", "200"}) {
		t.Errorf("grandchild: value %v, labels %v; want 5, [method Sum code 200]", cc.Value(), cc.LabelValues())
	}

	kg := generic.NewGauge("g")
	g := gokit.FromKitGauge(kg)
	g.Set(5)
	g.Add(-2)
	if kg.Value() != 3 {
		t.Errorf("gauge = %v, want 3", kg.Value())
	}
	gc := gokit.ToKitGauge(g.With("queue", "q")).(*generic.Gauge)
	if !slices.Equal(gc.LabelValues(), []string{"queue", "q"}) {
		t.Errorf("gauge child labels %v", gc.LabelValues())
	}

	kh := generic.NewHistogram("h", 50)
	h := gokit.FromKitHistogram(kh)
	for i := 1; i <= 100; i++ {
		h.Observe(float64(i))
	}
	if q := kh.Quantile(0.5); q < 45 || q > 55 {
		t.Errorf("median of 1…100 = %v", q)
	}
	if _, ok := h.(metrics.ContextObserver); ok {
		t.Error("a Go kit histogram claims to observe with a context")
	}
	hc := gokit.ToKitHistogram(h.With("route", "/a")).(*generic.Histogram)
	if !slices.Equal(hc.LabelValues(), []string{"route", "/a"}) {
		t.Errorf("histogram child labels %v", hc.LabelValues())
	}
}

// TestToKitRecords checks what arrives in obskit, labels and bad input
// included: Go kit's With is cumulative, and bad input takes obskit's
// documented fallbacks instead of panicking.
func TestToKitRecords(t *testing.T) {
	reg, b := newRegistry(t)
	c, g, h := declareAll(t, reg)
	kc := gokit.ToKitCounter(c)
	kc.With("alpha", "a").With("beta", "b").Add(1)
	kc.With("alpha", "a", "beta", "b").Add(2)
	kc.With("alpha", "a", "undeclared", "x").Add(4) // the pair is dropped
	kc.With("alpha").Add(8)                         // odd: alpha is unset
	if got := b.Counter("ns.requests", "alpha", "a", "beta", "b"); got != 3 {
		t.Errorf("a,b = %v, want 3", got)
	}
	if got := b.Counter("ns.requests", "alpha", "a"); got != 4 {
		t.Errorf("a,unset = %v, want 4", got)
	}
	if got := b.Counter("ns.requests"); got != 8 {
		t.Errorf("unset,unset = %v, want 8", got)
	}
	s := reg.Stats()
	if s.UndeclaredLabels != 1 || s.OddLabelValues != 1 {
		t.Errorf("Stats = %+v, want one undeclared label and one odd With", s)
	}

	kg := gokit.ToKitGauge(g).With("alpha", "a")
	kg.Set(10)
	kg.Add(-2.5)
	if got := b.Gauge("ns.queue.depth", "alpha", "a"); got != 7.5 {
		t.Errorf("gauge = %v, want 7.5", got)
	}

	kh := gokit.ToKitHistogram(h).With("beta", "b")
	kh.Observe(0.25)
	kh.(metrics.ContextObserver).ObserveContext(context.Background(), 0.75)
	if got := b.Histogram("ns.latency", "beta", "b"); got.Count != 2 || got.Sum != 1 {
		t.Errorf("histogram = %+v, want 2 observations summing to 1", got)
	}
	oh := gokit.ToKitHistogram(opaqueHistogram{h}).With("beta", "b")
	oh.(metrics.ContextObserver).ObserveContext(context.Background(), 1)
	if got := b.Histogram("ns.latency", "beta", "b"); got.Count != 3 {
		t.Errorf("histogram via another implementation: %d observations, want 3", got.Count)
	}
}

// TestToKitAllocs: the Go kit view of a concrete obskit instrument costs
// what obskit's own interface costs: recording allocates nothing, and a
// With on a cached label set allocates nothing beyond the variadic slice
// that the caller of an interface method builds.
func TestToKitAllocs(t *testing.T) {
	reg, _ := newRegistry(t)
	c, _, h := declareAll(t, reg)
	kc := gokit.ToKitCounter(c).With("alpha", "a", "beta", "b")
	kh := gokit.ToKitHistogram(h).With("alpha", "a", "beta", "b")
	if n := testing.AllocsPerRun(100, func() { kc.Add(1); kh.Observe(0.1) }); n != 0 {
		t.Errorf("recording: %v allocations, want 0", n)
	}
	// Held in slices, so that the compiler cannot see the concrete type
	// behind either interface and call With directly.
	obskitRoot := []metrics.Counter{c}
	kitRoot := []kitmetrics.Counter{gokit.ToKitCounter(c)}
	var (
		obskitSink metrics.Counter
		kitSink    kitmetrics.Counter
	)
	obskitAllocs := testing.AllocsPerRun(100, func() { obskitSink = obskitRoot[0].With("alpha", "a", "beta", "b") })
	kitAllocs := testing.AllocsPerRun(100, func() { kitSink = kitRoot[0].With("alpha", "a", "beta", "b") })
	if kitAllocs > obskitAllocs {
		t.Errorf("With through the Go kit view: %v allocations, through obskit's interface %v", kitAllocs, obskitAllocs)
	}
	_, _ = obskitSink, kitSink
}
