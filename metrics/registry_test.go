package metrics_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

func TestDeclareErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []metrics.Option
		kind metrics.Kind
		o    metrics.Opts
		want error
	}{
		{"empty name", nil, metrics.KindCounter, metrics.Opts{}, metrics.ErrInvalidName},
		{"leading digit", nil, metrics.KindCounter, metrics.Opts{Name: "1abc"}, metrics.ErrInvalidName},
		{"dash", nil, metrics.KindGauge, metrics.Opts{Name: "a-b"}, metrics.ErrInvalidName},
		{"double dot", nil, metrics.KindGauge, metrics.Opts{Name: "a..b"}, metrics.ErrInvalidName},
		{"trailing dot", nil, metrics.KindGauge, metrics.Opts{Name: "a."}, metrics.ErrInvalidName},
		{"space", nil, metrics.KindGauge, metrics.Opts{Name: "a b"}, metrics.ErrInvalidName},
		{"too long", nil, metrics.KindCounter, metrics.Opts{Name: strings.Repeat("a", 256)}, metrics.ErrInvalidName},
		{"bad namespace", []metrics.Option{metrics.WithNamespace("9x")}, metrics.KindCounter, metrics.Opts{Name: "ok"}, metrics.ErrInvalidName},
		{"bad label", nil, metrics.KindCounter, metrics.Opts{Name: "ok", Labels: []string{"a-b"}}, metrics.ErrInvalidLabel},
		{"empty label", nil, metrics.KindCounter, metrics.Opts{Name: "ok", Labels: []string{""}}, metrics.ErrInvalidLabel},
		{"duplicate label", nil, metrics.KindCounter, metrics.Opts{Name: "ok", Labels: []string{"a", "a"}}, metrics.ErrInvalidLabel},
		{"reserved __", nil, metrics.KindCounter, metrics.Opts{Name: "ok", Labels: []string{"__name__"}}, metrics.ErrInvalidLabel},
		{"reserved le", nil, metrics.KindHistogram, metrics.Opts{Name: "ok", Labels: []string{"le"}}, metrics.ErrInvalidLabel},
		{"reserved quantile", nil, metrics.KindGauge, metrics.Opts{Name: "ok", Labels: []string{"quantile"}}, metrics.ErrInvalidLabel},
		{"collides with const", []metrics.Option{metrics.WithConstLabels(map[string]string{"env": "prod"})}, metrics.KindCounter, metrics.Opts{Name: "ok", Labels: []string{"env"}}, metrics.ErrInvalidLabel},
		{"bad const label name", []metrics.Option{metrics.WithConstLabels(map[string]string{"a b": "x"})}, metrics.KindCounter, metrics.Opts{Name: "ok"}, metrics.ErrInvalidLabel},
		{"bad const label value", []metrics.Option{metrics.WithConstLabels(map[string]string{"a": "\xff"})}, metrics.KindCounter, metrics.Opts{Name: "ok"}, metrics.ErrInvalidLabel},
		{"bad unit", nil, metrics.KindCounter, metrics.Opts{Name: "ok", Unit: "m s"}, metrics.ErrInvalidOption},
		{"unsorted buckets", nil, metrics.KindHistogram, metrics.Opts{Name: "ok", Buckets: []float64{1, 0.5}}, metrics.ErrInvalidOption},
		{"NaN bucket", nil, metrics.KindHistogram, metrics.Opts{Name: "ok", Buckets: []float64{math.NaN()}}, metrics.ErrInvalidOption},
		{"only +Inf", nil, metrics.KindHistogram, metrics.Opts{Name: "ok", Buckets: []float64{math.Inf(1)}}, metrics.ErrInvalidOption},
		{"limit 0", []metrics.Option{metrics.WithCardinalityLimit(0)}, metrics.KindCounter, metrics.Opts{Name: "ok"}, metrics.ErrInvalidOption},
		{"value length limit 0", []metrics.Option{metrics.WithMaxLabelValueLen(0)}, metrics.KindCounter, metrics.Opts{Name: "ok"}, metrics.ErrInvalidOption},
		{"const label value too long", []metrics.Option{metrics.WithConstLabels(map[string]string{"host": strings.Repeat("h", metrics.DefaultMaxLabelValueLen+1)})}, metrics.KindCounter, metrics.Opts{Name: "ok"}, metrics.ErrInvalidLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := metrics.New(metricstest.New(), tt.opts...)
			err := declare(reg, tt.kind, tt.o)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "metrics: declare ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func declare(reg *metrics.Registry, kind metrics.Kind, o metrics.Opts) error {
	var err error
	switch kind {
	case metrics.KindCounter:
		_, err = reg.NewCounter(o)
	case metrics.KindGauge:
		_, err = reg.NewGauge(o)
	case metrics.KindHistogram:
		_, err = reg.NewHistogram(o)
	}
	return err
}

func TestValidNames(t *testing.T) {
	for _, n := range []string{"a", "requests", "http.server.request.duration", "a_b.c9", "A.B_"} {
		if !metrics.ValidName(n) {
			t.Errorf("ValidName(%q) = false", n)
		}
	}
	reg := metrics.New(metricstest.New())
	for _, l := range []string{"_private", "http.request.method", "code"} {
		if _, err := reg.NewCounter(metrics.Opts{Name: "n" + strings.ReplaceAll(l, ".", "_"), Labels: []string{l}}); err != nil {
			t.Errorf("label %q: %v", l, err)
		}
	}
}

func TestRedeclare(t *testing.T) {
	reg := metrics.New(metricstest.New(), metrics.WithNamespace("svc"))
	o := metrics.Opts{Name: "requests", Help: "h", Labels: []string{"method"}}
	c1, err := reg.NewCounter(o)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := reg.NewCounter(o)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Error("identical declaration returned a different instrument")
	}
	conflicts := []struct {
		kind metrics.Kind
		o    metrics.Opts
	}{
		{metrics.KindGauge, o},
		{metrics.KindCounter, metrics.Opts{Name: "requests", Help: "h", Labels: []string{"code"}}},
		{metrics.KindCounter, metrics.Opts{Name: "requests", Help: "h", Labels: []string{"method"}, Unit: metrics.UnitSeconds}},
		{metrics.KindCounter, metrics.Opts{Name: "requests", Help: "other", Labels: []string{"method"}}},
	}
	for _, c := range conflicts {
		if err := declare(reg, c.kind, c.o); !errors.Is(err, metrics.ErrConflict) {
			t.Errorf("%v %+v: err = %v, want ErrConflict", c.kind, c.o, err)
		}
	}
	h1, _ := reg.NewHistogram(metrics.Opts{Name: "lat", Buckets: []float64{1, 2}})
	if _, err := reg.NewHistogram(metrics.Opts{Name: "lat", Buckets: []float64{1, 3}}); !errors.Is(err, metrics.ErrConflict) {
		t.Errorf("other buckets: err = %v, want ErrConflict", err)
	}
	if h2, err := reg.NewHistogram(metrics.Opts{Name: "lat", Buckets: []float64{1, 2, math.Inf(1)}}); err != nil || h2 != h1 {
		t.Errorf("same buckets with +Inf: %v, same=%v", err, h2 == h1)
	}
}

func TestBackendErrorIsWrapped(t *testing.T) {
	b := metricstest.New()
	// The same name on one backend through two registries: the backend refuses.
	if _, err := metrics.New(b).NewCounter(metrics.Opts{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err := metrics.New(b).NewCounter(metrics.Opts{Name: "x"})
	if err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Fatalf("err = %v, want the backend's error", err)
	}
}

func TestWithIsCumulative(t *testing.T) {
	b := metricstest.New()
	reg := metrics.New(b, metrics.WithConstLabels(map[string]string{"env": "test"}))
	c, err := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	c.With("a", "1").With("b", "2").Add(1)
	c.With("b", "2", "a", "1").Add(2)
	c.With("a", "1").Add(4)
	c.Add(8)
	c.With("a", "1").With("a", "3", "b", "2").Add(16)
	checks := []struct {
		labels []string
		want   float64
	}{
		{[]string{"a", "1", "b", "2"}, 3},
		{[]string{"a", "1"}, 4},
		{nil, 8},
		{[]string{"a", "3", "b", "2"}, 16},
	}
	for _, c := range checks {
		if got := b.Counter("c", c.labels...); got != c.want {
			t.Errorf("counter %v = %v, want %v", c.labels, got, c.want)
		}
	}
	s, _ := b.Lookup("c", "a", "1", "b", "2")
	if v, _ := s.Label("env"); v != "test" {
		t.Errorf("const label env = %q", v)
	}
	if n := len(b.Series("c")); n != 4 {
		t.Errorf("%d series, want 4 (intermediate children must not become series)", n)
	}
	if c.With("a", "1", "b", "2") != c.With("b", "2").With("a", "1") {
		t.Error("the same label set gave two children")
	}
}

func TestHotPathFallbacks(t *testing.T) {
	b := metricstest.New()
	var reported []error
	var mu sync.Mutex
	reg := metrics.New(b, metrics.WithNamespace("ns"), metrics.WithErrorHandler(func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}))
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"a", "b"}})
	g, _ := reg.NewGauge(metrics.Opts{Name: "g"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h"})

	for range 3 {
		c.With("a", "1", "b").Add(1)               // odd: b gets UnsetLabelValue
		c.With("a", "1", "zzz", "9").Add(1)        // undeclared: pair ignored
		c.With("a", "bad\xffvalue").Add(1)         // invalid UTF-8: replaced
		c.Add(-1)                                  // negative: dropped
		c.Add(math.NaN())                          // NaN: dropped
		c.Add(math.Inf(1))                         // +Inf: dropped
		g.Set(math.NaN())                          // dropped
		g.Add(math.Inf(-1))                        // dropped
		h.Observe(math.NaN())                      // dropped
		h.ObserveContext(t.Context(), math.Inf(1)) // dropped
	}
	if got := b.Counter("ns.c", "a", "1"); got != 6 {
		t.Errorf("a=1 b=unset: %v, want 6 (odd and undeclared fall back to it)", got)
	}
	if got := b.Counter("ns.c", "a", "bad\uFFFDvalue"); got != 3 {
		t.Errorf("replaced UTF-8 series = %v, want 3", got)
	}
	if got := b.Counter("ns.c"); got != 0 {
		t.Errorf("root = %v, want 0: invalid deltas must be dropped", got)
	}
	if g := b.Gauge("ns.g"); g != 0 {
		t.Errorf("gauge = %v, want 0", g)
	}
	if hs := b.Histogram("ns.h"); hs.Count != 0 {
		t.Errorf("histogram count = %v, want 0", hs.Count)
	}
	want := metrics.Stats{OddLabelValues: 3, UndeclaredLabels: 3, InvalidUTF8: 3, InvalidValues: 21}
	if got := reg.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	// Once per instrument and problem: c has 4 problems, g and h one each.
	if len(reported) != 6 {
		t.Fatalf("reported %d errors, want 6: %v", len(reported), reported)
	}
	var hp *metrics.HotPathError
	if !errors.As(reported[0], &hp) || hp.Metric != "ns.c" || hp.Problem != metrics.ProblemOddLabelValues {
		t.Errorf("first report = %#v", reported[0])
	}
}

// TestLongLabelValues: values past the length limit are cut at a
// character boundary, so that values alike up to the limit are one
// series; each cut is counted and reported once per instrument, and the
// registry keeps no more of a megabyte value than the limit.
func TestLongLabelValues(t *testing.T) {
	b := metricstest.New()
	var reports []error
	reg := metrics.New(b, metrics.WithMaxLabelValueLen(8), metrics.WithErrorHandler(func(err error) { reports = append(reports, err) }))
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"ua", "x"}})
	tests := []struct {
		value, series string
	}{
		{"short", "short"},
		{"12345678", "12345678"},         // at the limit: kept
		{"123456789", "12345678"},        // one past: cut
		{"12345678abc", "12345678"},      // alike up to the limit: the same series
		{"1234567é", "1234567"},          // é spans bytes 8 and 9: cut before it
		{"12\xff45678zz", "12\uFFFD456"}, // repaired, then cut: U+FFFD is 3 bytes
	}
	for _, tt := range tests {
		c.With("ua", tt.value, "x", "1").Add(1)
		c.Bind("ua", tt.value, "x", "1").Add(1)
	}
	want := map[string]float64{"short": 2, "12345678": 6, "1234567": 2, "12\uFFFD456": 2}
	for v, n := range want {
		if got := b.Counter("c", "ua", v, "x", "1"); got != n {
			t.Errorf("series ua=%q: %v, want %v", v, got, n)
		}
	}
	if n := len(b.Series("c")); n != len(want) {
		t.Errorf("%d series, want %d: %v", n, len(want), b.Series("c"))
	}
	if st := reg.Stats(); st.LongLabelValues != 8 || st.InvalidUTF8 != 2 {
		t.Errorf("Stats = %+v, want 8 long values cut and 2 invalid UTF-8 repaired", st)
	}
	var hp *metrics.HotPathError
	if len(reports) != 2 || !errors.As(reports[0], &hp) || hp.Problem != metrics.ProblemLongLabelValue || !strings.Contains(hp.Detail, "ua: 9 bytes") {
		t.Errorf("reports = %v, want the first cut (ua, 9 bytes) and the first repair, once each", reports)
	}

	// Megabyte values, each new: the registry and backend keep only the
	// limit's worth of each.
	mb := metricstest.New()
	reg = metrics.New(mb, metrics.WithCardinalityLimit(100))
	big, _ := reg.NewCounter(metrics.Opts{Name: "big", Labels: []string{"ua"}})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 100 {
		v := strings.Repeat(string(rune('a'+i%26)), 1<<20) + strconv.Itoa(i)
		big.With("ua", v).Add(1)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 10<<20 {
		t.Errorf("100 series of 1 MB values grew the heap by %d MB, want the values cut to %d bytes", grew>>20, metrics.DefaultMaxLabelValueLen)
	}
	if st := reg.Stats(); st.LongLabelValues != 100 || st.Overflows != 0 {
		t.Errorf("Stats = %+v, want 100 cuts and no overflow", st)
	}
	if n := len(mb.Series("big")); n != 26 { // alike up to the limit: one series per letter
		t.Errorf("%d series, want 26", n)
	}
}

func TestCardinalityLimit(t *testing.T) {
	b := metricstest.New()
	var reports int
	reg := metrics.New(b, metrics.WithCardinalityLimit(3), metrics.WithErrorHandler(func(error) { reports++ }))
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"id"}})
	for i := range 10 {
		c.With("id", string(rune('a'+i))).Add(1)
	}
	c.With("id", "a").Add(1) // an existing set still records in place
	if got := b.Counter("c", "id", "a"); got != 2 {
		t.Errorf("id=a = %v, want 2", got)
	}
	if got := b.Counter("c", "id", metrics.OverflowLabelValue); got != 7 {
		t.Errorf("overflow = %v, want 7", got)
	}
	if n := len(b.Series("c")); n != 4 {
		t.Errorf("%d series, want 3 + overflow", n)
	}
	if s := reg.Stats(); s.Overflows != 7 {
		t.Errorf("Overflows = %d, want 7", s.Overflows)
	}
	if reports != 1 {
		t.Errorf("%d reports, want 1", reports)
	}
}

// countingBackend counts Bind calls per label set.
type countingBackend struct {
	metrics.Backend
	mu    sync.Mutex
	binds map[string]int
}

func (b *countingBackend) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	f, err := b.Backend.DeclareCounter(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.CounterHandle](func(v []string) metrics.CounterHandle {
		b.mu.Lock()
		b.binds[strings.Join(v, ",")]++
		b.mu.Unlock()
		return f.Bind(v)
	}), nil
}

func TestConcurrentFirstUse(t *testing.T) {
	mem := metricstest.New()
	cb := &countingBackend{Backend: mem, binds: map[string]int{}}
	reg := metrics.New(cb)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"k", "v"}})
	const goroutines, perG, keys = 64, 200, 50
	var start, wg sync.WaitGroup
	start.Add(1)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			for i := range perG {
				k := string(rune('A' + (i+g)%keys))
				c.With("k", k, "v", "x").Add(1)
			}
		}()
	}
	start.Done()
	wg.Wait()
	total := 0.0
	for _, s := range mem.Series("c") {
		total += s.Value()
	}
	if total != goroutines*perG {
		t.Errorf("total = %v, want %v", total, goroutines*perG)
	}
	if len(cb.binds) != keys {
		t.Errorf("%d label sets bound, want %d", len(cb.binds), keys)
	}
	for k, n := range cb.binds {
		if n != 1 {
			t.Errorf("label set %s bound %d times", k, n)
		}
	}
}

func TestManySeriesGrowTable(t *testing.T) {
	b := metricstest.New()
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"i"}})
	const n = 5000
	names := make([]string, n)
	for i := range names {
		names[i] = strings.Repeat("x", i%7) + string(rune(0x4e00+i))
		c.With("i", names[i]).Add(float64(i))
	}
	for i, name := range names {
		if c.With("i", name) != c.With("i", name) {
			t.Fatalf("%d: unstable child", i)
		}
		if got := b.Counter("c", "i", name); got != float64(i) {
			t.Fatalf("series %d = %v", i, got)
		}
	}
}

func TestWithOnCachedSetDoesNotAllocate(t *testing.T) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	g, _ := reg.NewGauge(metrics.Opts{Name: "g", Labels: []string{"method", "code"}})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h", Labels: []string{"method", "code"}})
	c.With("method", "GET", "code", "200").Add(1)
	g.With("method", "GET", "code", "200").Set(1)
	h.With("method", "GET", "code", "200").Observe(1)
	allocs := testing.AllocsPerRun(1000, func() {
		c.With("method", "GET", "code", "200").Add(1)
		g.With("method", "GET", "code", "200").Add(1)
		h.With("method", "GET", "code", "200").Observe(0.5)
	})
	if allocs != 0 {
		t.Errorf("With on a cached label set + record: %v allocs, want 0", allocs)
	}
}

func TestTeeAndDiscard(t *testing.T) {
	a, b := metricstest.New(), metricstest.New()
	reg := metrics.New(metrics.Tee(a, metrics.Discard(), b))
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"x"}})
	g, _ := reg.NewGauge(metrics.Opts{Name: "g"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h"})
	c.With("x", "1").Add(2)
	g.Set(5)
	g.Add(-7)
	h.Observe(0.25)
	for i, m := range []*metricstest.Backend{a, b} {
		if got := m.Counter("c", "x", "1"); got != 2 {
			t.Errorf("backend %d counter = %v", i, got)
		}
		if got := m.Gauge("g"); got != -2 {
			t.Errorf("backend %d gauge = %v", i, got)
		}
		if got := m.Histogram("h"); got.Count != 1 || got.Sum != 0.25 {
			t.Errorf("backend %d histogram = %+v", i, got)
		}
	}
	// A backend's refusal reaches the caller with the backend named.
	reg2 := metrics.New(metrics.Tee(a, b))
	if _, err := reg2.NewCounter(metrics.Opts{Name: "c", Labels: []string{"x"}}); err == nil || !strings.Contains(err.Error(), "tee backend 0") {
		t.Errorf("err = %v", err)
	}
}

// TestIdentityCache exercises the cache that finds a With call by the
// addresses of its strings: shared addresses with other lengths, strings
// built per call, and many label sets taking turns must all record into
// the right series.
func TestIdentityCache(t *testing.T) {
	b := metricstest.New()
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	word := "GETX"
	codes := []string{"200", "201", "204", "301", "302", "400", "401", "403", "404", "409", "500", "502", "503", "504", "418", "429", "100", "101", "206", "207"}
	for range 5 {
		for _, code := range codes {
			c.With("method", word[:3], "code", code).Add(1)                              // shares its address with word
			c.With("method", word, "code", code).Add(10)                                 // same address, longer
			c.With("method", strings.Clone("GET"), "code", strings.Clone(code)).Add(100) // fresh strings
		}
	}
	for _, code := range codes {
		if got := b.Counter("c", "method", "GET", "code", code); got != 505 {
			t.Errorf("GET %s = %v, want 505", code, got)
		}
		if got := b.Counter("c", "method", "GETX", "code", code); got != 50 {
			t.Errorf("GETX %s = %v, want 50", code, got)
		}
	}
	if n := len(b.Series("c")); n != 2*len(codes) {
		t.Errorf("%d series, want %d", n, 2*len(codes))
	}
}

// BenchmarkWithHitAlternating: two label sets used in turn, as success
// and failure are; both must be served from the identity cache.
func BenchmarkWithHitAlternating(b *testing.B) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "outcome"}})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i&1 == 0 {
			c.With("method", "GET", "outcome", "success").Add(1)
		} else {
			c.With("method", "GET", "outcome", "error").Add(1)
		}
		i++
	}
}

// TestIdentityCacheBoundsAllocations: many literal label sets taking
// turns, so that some share a slot of the identity cache, must settle to
// no allocation per With however they collide.
func TestIdentityCacheBoundsAllocations(t *testing.T) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"code"}})
	codes := []string{"200", "201", "204", "301", "302", "304", "400", "401", "403", "404", "409", "429", "500", "502", "503", "504", "100", "101", "206", "207", "208", "226", "300", "303", "305", "307", "308", "402", "405", "406", "407", "408"}
	record := func() {
		for _, code := range codes {
			c.With("code", code).Add(1)
		}
	}
	for range 100 {
		record() // warm up: the cache fills and stops making entries
	}
	if allocs := testing.AllocsPerRun(100, record); allocs != 0 {
		t.Errorf("%v allocations per round of %d label sets, want 0", allocs, len(codes))
	}
}

// TestOverflowCountsAndDoesNotAllocate: past the cardinality limit a
// With costs no allocation, and Stats.Overflows counts what its doc
// says: each With whose new label set went to the overflow series, not
// each value recorded through a child bound once.
func TestOverflowCountsAndDoesNotAllocate(t *testing.T) {
	b := metricstest.New()
	reg := metrics.New(b, metrics.WithCardinalityLimit(100))
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"id"}})
	for i := range 100 {
		c.With("id", strconv.Itoa(i)).Add(1)
	}
	if s := reg.Stats(); s.Overflows != 0 {
		t.Fatalf("Overflows = %d at the limit, want 0", s.Overflows)
	}
	c.With("id", "new").Add(1)
	c.With("id", "new").Add(1) // looked up again: counts again
	bound := c.Bind("id", "other")
	for range 10 {
		bound.Add(1) // one Bind: counts once
	}
	c.With("id", "5").Add(1) // a held set: not an overflow
	if s := reg.Stats(); s.Overflows != 3 {
		t.Errorf("Overflows = %d, want 3", s.Overflows)
	}
	if got := b.Counter("c", "id", metrics.OverflowLabelValue); got != 12 {
		t.Errorf("overflow series = %v, want 12", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { c.With("id", "past").Add(1) }); allocs != 0 {
		t.Errorf("With past the limit: %v allocs, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { c.Add(-1) }); allocs != 0 {
		t.Errorf("invalid delta: %v allocs, want 0", allocs)
	}
}

// plainBackend's histogram handles have the optional ValueObserver
// method: the Registry must send Observe (no context) to its result and
// ObserveContext to the handle.
type plainBackend struct {
	metrics.Backend
	withCtx, plain *int
}

func (d plainBackend) DeclareHistogram(*metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	return metrics.FamilyFunc[metrics.HistogramHandle](func([]string) metrics.HistogramHandle {
		return plainHandle{d.withCtx, d.plain}
	}), nil
}

type plainHandle struct{ withCtx, plain *int }

func (h plainHandle) Observe(context.Context, float64) { *h.withCtx++ }

type plainObserver struct{ n *int }

func (o plainObserver) Observe(float64) { *o.n++ }

func (h plainHandle) ValueObserver() interface{ Observe(float64) } { return plainObserver{h.plain} }

func TestOptionalValueObserver(t *testing.T) {
	var withCtx, plain int
	reg := metrics.New(plainBackend{metrics.Discard(), &withCtx, &plain})
	h, err := reg.NewHistogram(metrics.Opts{Name: "h"})
	if err != nil {
		t.Fatal(err)
	}
	h.Observe(1)
	h.Observe(2)
	h.ObserveContext(t.Context(), 3)
	if plain != 2 || withCtx != 1 {
		t.Errorf("plain %d, with context %d; want 2 and 1", plain, withCtx)
	}
}

// refusing declares nothing named "taken"; it cannot undeclare.
type refusing struct{ metrics.Backend }

func (r refusing) DeclareCounter(d *metrics.Desc) (metrics.Family[metrics.CounterHandle], error) {
	if d.Name == "taken" {
		return nil, errors.New("refused")
	}
	return r.Backend.DeclareCounter(d)
}

// TestTeeAllOrNothing: when one backend of a Tee refuses a declaration,
// the others keep nothing of it, whatever the order they were given in.
func TestTeeAllOrNothing(t *testing.T) {
	for _, order := range []string{"refusing last", "refusing first"} {
		t.Run(order, func(t *testing.T) {
			a := metricstest.New()
			r := refusing{metrics.Discard()}
			tee := metrics.Tee(a, r)
			if order == "refusing first" {
				tee = metrics.Tee(r, a)
			}
			if _, err := metrics.New(tee).NewCounter(metrics.Opts{Name: "taken"}); err == nil {
				t.Fatal("declaration succeeded though one backend refused")
			}
			if d := a.Desc("taken"); d != nil {
				t.Fatalf("the accepting backend kept %+v", d)
			}
			// A later declaration of the name on the accepting backend
			// does not conflict with a half-made one.
			if _, err := metrics.New(a).NewGauge(metrics.Opts{Name: "taken"}); err != nil {
				t.Errorf("declaration after the refusal: %v", err)
			}
		})
	}
}
