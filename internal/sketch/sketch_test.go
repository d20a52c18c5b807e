package sketch_test

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/internal/sketch"
	"github.com/obskit/obskit/metrics/metricstest"
)

func mustNew(t testing.TB, acc float64) *sketch.Sketch {
	t.Helper()
	s, err := sketch.New(acc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exactQuantile(sorted []float64, q float64) float64 {
	return metricstest.HistogramSnapshot{Values: sorted}.Quantile(q)
}

// TestConformanceWorkloadAccuracy checks the quantiles the backends report
// on the conformance workload against the exact nearest-rank ones.
func TestConformanceWorkloadAccuracy(t *testing.T) {
	values := backendtest.HistogramValues(10000)
	sorted := slices.Sorted(slices.Values(values))
	s := mustNew(t, 0.01)
	for _, v := range values {
		s.Add(v)
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		exact := exactQuantile(sorted, q)
		got := s.Quantile(q)
		rel := math.Abs(got-exact) / exact
		t.Logf("p%v: exact %.6g, sketch %.6g, relative error %.3g%%", q*100, exact, got, rel*100)
		if rel > 0.01 {
			t.Errorf("quantile %v = %v, exact %v: relative error %.4g > 0.01", q, got, exact, rel)
		}
	}
	if s.Count() != 10000 {
		t.Errorf("Count = %d, want 10000", s.Count())
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	if s.Sum() != sum {
		t.Errorf("Sum = %v, want %v", s.Sum(), sum)
	}
	if s.Min() != sorted[0] || s.Max() != sorted[len(sorted)-1] {
		t.Errorf("Min, Max = %v, %v, want %v, %v", s.Min(), s.Max(), sorted[0], sorted[len(sorted)-1])
	}
}

func TestNew(t *testing.T) {
	for _, acc := range []float64{0, -0.1, 1, 2, math.NaN(), math.Inf(1)} {
		if _, err := sketch.New(acc); !errors.Is(err, sketch.ErrAccuracy) {
			t.Errorf("New(%v) error = %v, want ErrAccuracy", acc, err)
		}
	}
	for _, acc := range []float64{1e-4, 0.01, 0.5} {
		if s, err := sketch.New(acc); err != nil || s.RelativeAccuracy() != acc {
			t.Errorf("New(%v) = %v, %v", acc, s, err)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                     string
		add                      []float64
		count                    uint64
		sum, min, max, p50, p100 float64
	}{
		{"empty", nil, 0, 0, nan, nan, nan, nan},
		{"only non-finite", []float64{nan, math.Inf(1), math.Inf(-1)}, 0, 0, nan, nan, nan, nan},
		{"one value", []float64{3}, 1, 3, 3, 3, 3, 3},
		{"zeros", []float64{0, 0, 0}, 3, 0, 0, 0, 0, 0},
		{"negatives", []float64{-1, -2, -3}, 3, -6, -3, -1, -2, -1},
		{"mixed signs", []float64{-5, 0, 5}, 3, 0, -5, 5, 0, 5},
		{"non-finite ignored", []float64{1, nan, 2, math.Inf(1), 3}, 3, 6, 1, 3, 2, 3},
		{"tiny counts as zero", []float64{1e-320, 1e-320, 1}, 3, 1 + 2e-320, 1e-320, 1, 1e-320, 1},
		{"huge", []float64{1e300, -1e300}, 2, 0, -1e300, 1e300, -1e300, 1e300},
		{"beyond indexable", []float64{math.MaxFloat64, math.MaxFloat64}, 2, math.Inf(1), math.MaxFloat64, math.MaxFloat64, math.MaxFloat64, math.MaxFloat64},
		{"negatives and zeros", []float64{-4, -3, 0, 0, -2, -1}, 6, -10, -4, 0, -2, 0},
	}
	same := func(got, want float64) bool {
		if math.IsNaN(want) {
			return math.IsNaN(got)
		}
		if want == 0 {
			return got == 0
		}
		return math.Abs(got-want) <= 0.01*math.Abs(want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, 0.01)
			for _, v := range tt.add {
				s.Add(v)
			}
			if s.Count() != tt.count {
				t.Errorf("Count = %d, want %d", s.Count(), tt.count)
			}
			if s.Sum() != tt.sum {
				t.Errorf("Sum = %v, want %v", s.Sum(), tt.sum)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"Min", s.Min(), tt.min}, {"Max", s.Max(), tt.max},
				{"Quantile(0.5)", s.Quantile(0.5), tt.p50}, {"Quantile(1)", s.Quantile(1), tt.p100},
				{"Quantile(2)", s.Quantile(2), tt.p100}, {"Quantile(NaN)", s.Quantile(nan), nan},
			} {
				if !same(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestMergeAndDrain(t *testing.T) {
	values := backendtest.HistogramValues(10000)
	whole, a, b := mustNew(t, 0.01), mustNew(t, 0.01), mustNew(t, 0.01)
	for i, v := range values {
		whole.Add(v)
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(-v)
			b.Add(v)
		}
	}
	// b holds the odd values and their negations; drain it, keep the
	// positives by merging the drained snapshot only after checking it.
	snap := b.Drain()
	if b.Count() != 0 || !math.IsNaN(b.Quantile(0.5)) {
		t.Fatalf("after Drain: Count = %d, p50 = %v, want empty", b.Count(), b.Quantile(0.5))
	}
	if snap.Count() != 10000 || snap.Min() != -snap.Max() {
		t.Fatalf("drained snapshot: count %d, min %v, max %v", snap.Count(), snap.Min(), snap.Max())
	}
	if got := snap.Quantile(0.5); math.Abs(got) > 0.002 {
		t.Errorf("p50 of symmetric values = %v, want about ±0.001", got)
	}
	if err := a.Merge(a.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if a.Count() != 10000 {
		t.Errorf("self-merge count = %d, want 10000", a.Count())
	}
	a.Reset()
	for i, v := range values {
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	if err := a.Merge(b.Snapshot()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if got, want := a.Quantile(q), whole.Quantile(q); got != want {
			t.Errorf("merged quantile %v = %v, want %v as in one sketch", q, got, want)
		}
	}
	if a.Count() != whole.Count() || a.Min() != whole.Min() || a.Max() != whole.Max() {
		t.Errorf("merged count/min/max = %d/%v/%v, want %d/%v/%v", a.Count(), a.Min(), a.Max(), whole.Count(), whole.Min(), whole.Max())
	}
	if err := a.Merge(mustNew(t, 0.02).Snapshot()); err != nil {
		t.Errorf("merging an empty sketch: %v", err)
	}
	other := mustNew(t, 0.02)
	other.Add(1)
	if err := a.Merge(other.Snapshot()); err == nil {
		t.Error("merging a sketch of another accuracy: no error")
	}
}

// TestConcurrentDrain checks that nothing added while draining is lost or
// counted twice.
func TestConcurrentDrain(t *testing.T) {
	s := mustNew(t, 0.01)
	const writers, each = 4, 5000
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				s.Add(1)
			}
		}()
	}
	done := make(chan struct{})
	var total uint64
	go func() {
		defer close(done)
		for range 100 {
			total += s.Drain().Count()
			_ = s.Quantiles(nil, 0.5, 0.99)
		}
	}()
	wg.Wait()
	<-done
	total += s.Drain().Count()
	if total != writers*each {
		t.Errorf("drained %d values, want %d", total, writers*each)
	}
}

func FuzzSketch(f *testing.F) {
	f.Add(0.01, 1.0, -1.0, 0.0, 0.5)
	f.Add(0.5, math.NaN(), math.Inf(1), math.Inf(-1), 1.0)
	f.Add(1e-9, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, math.Copysign(0, -1))
	f.Fuzz(func(t *testing.T, acc, a, b, c, q float64) {
		s, err := sketch.New(acc)
		if err != nil {
			return
		}
		var finite uint64
		for _, v := range []float64{a, b, c, a, b, c} {
			s.Add(v)
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				finite++
			}
		}
		if s.Count() != finite {
			t.Fatalf("Count = %d, want %d", s.Count(), finite)
		}
		got := s.Quantile(q)
		if finite == 0 || math.IsNaN(q) {
			if !math.IsNaN(got) {
				t.Fatalf("Quantile(%v) = %v, want NaN", q, got)
			}
		} else if got < s.Min() || got > s.Max() {
			t.Fatalf("Quantile(%v) = %v outside [%v, %v]", q, got, s.Min(), s.Max())
		}
		_ = s.Quantiles(nil, q, 0, 1)
		_ = s.Sum()
		if err := s.Merge(s.Drain()); err != nil {
			t.Fatal(err)
		}
		if s.Count() != finite {
			t.Fatalf("Count after Drain and Merge = %d, want %d", s.Count(), finite)
		}
		s.Reset()
	})
}

// TestSmallIntegers: the quantiles of 1..5 on every platform. With the
// cubic mapping of sketches-go v1.4.8 every quantile below the maximum
// read 1 under GOARCH=386 (see the package doc); CI runs this test there.
func TestSmallIntegers(t *testing.T) {
	for _, acc := range []float64{0.01, 0.001} {
		s := mustNew(t, acc)
		var values []float64
		for v := 1; v <= 5; v++ {
			s.Add(float64(v))
			s.Add(-float64(v))
			values = append(values, float64(v), -float64(v))
		}
		slices.Sort(values)
		for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9} {
			exact := exactQuantile(values, q)
			if got := s.Quantile(q); math.Abs(got-exact) > acc*(1+1e-9)*math.Abs(exact) {
				t.Errorf("accuracy %v: Quantile(%v) = %v, want %v within %v", acc, q, got, exact, acc)
			}
		}
	}
}
