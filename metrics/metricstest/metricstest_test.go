package metricstest_test

import (
	"errors"
	"testing"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// TestZeroAndNil: the zero Backend is usable; nil Descs give errors, and
// nothing panics.
func TestZeroAndNil(t *testing.T) {
	var b metricstest.Backend
	if got := b.Counter("none"); got != 0 {
		t.Errorf("Counter on an empty Backend = %v", got)
	}
	if s := b.Series("none"); s != nil {
		t.Errorf("Series on an empty Backend = %v", s)
	}
	c, err := metrics.New(&b).NewCounter(metrics.Opts{Name: "c"})
	if err != nil {
		t.Fatalf("declare on the zero Backend: %v", err)
	}
	c.Add(2)
	if got := b.Counter("c"); got != 2 {
		t.Errorf("c = %v, want 2", got)
	}
	if got := b.Histogram("none"); got.Count != 0 {
		t.Errorf("Histogram on an undeclared name = %+v", got)
	}
	for i, err := range []error{
		func() error { _, err := b.DeclareCounter(nil); return err }(),
		func() error { _, err := b.DeclareGauge(nil); return err }(),
		func() error { _, err := b.DeclareHistogram(nil); return err }(),
	} {
		if !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("declaration %d of a nil Desc: err = %v, want ErrInvalidOption", i, err)
		}
	}
	b.Undeclare(nil)
	if _, err := metrics.New(&b).NewCounter(metrics.Opts{Name: "c"}); !errors.Is(err, metrics.ErrConflict) {
		t.Errorf("the same name through a second Registry: err = %v, want ErrConflict", err)
	}
	if q := (metricstest.HistogramSnapshot{}).Quantile(0.5); q == q {
		t.Errorf("quantile of no observations = %v, want NaN", q)
	}
}
