package backendtest_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// TestMetricstest runs the suite against the in-memory backend, which
// must pass it exactly: values intact, quantiles exact.
func TestMetricstest(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{
		New: func(*testing.T) metrics.Backend { return metricstest.New() },
		Collect: func(_ *testing.T, b metrics.Backend, _ []*metrics.Desc) backendtest.Reader {
			return memReader{b.(*metricstest.Backend)}
		},
		CheckQuantile: backendtest.RelativeError(0),
	})
}

type memReader struct{ b *metricstest.Backend }

func pairs(labels map[string]string) []string {
	var kv []string
	for k, v := range labels {
		kv = append(kv, k, v)
	}
	return kv
}

func (r memReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	s, ok := r.b.Lookup(d.FullName("."), pairs(labels)...)
	if !ok {
		return 0, fmt.Errorf("no series %v", labels)
	}
	return s.Value(), nil
}

func (r memReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	s, ok := r.b.Lookup(d.FullName("."), pairs(labels)...)
	if !ok {
		return backendtest.HistogramReading{}, fmt.Errorf("no series %v", labels)
	}
	h := s.Histogram()
	return backendtest.HistogramReading{Count: h.Count, Sum: h.Sum,
		Quantile: func(q float64) (float64, error) { return h.Quantile(q), nil }}, nil
}

func (r memReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	var out []map[string]string
	for _, s := range r.b.Series(d.FullName(".")) {
		m := map[string]string{}
		for _, l := range d.Labels {
			m[l], _ = s.Label(l)
		}
		out = append(out, m)
	}
	return out, nil
}

// TestZeroArguments: the package's constructors with zero and nil
// arguments return documented values, and Run with a zero Harness fails
// the test with a message instead of panicking. Run is checked in a
// child process, since a failing Run fails the test that calls it.
func TestZeroArguments(t *testing.T) {
	if os.Getenv("BACKENDTEST_ZERO_HARNESS") == "1" {
		backendtest.Run(t, backendtest.Harness{})
		return
	}
	if v := backendtest.HistogramValues(0); v != nil {
		t.Errorf("HistogramValues(0) = %v, want nil", v)
	}
	if v := backendtest.HistogramValues(-1); v != nil {
		t.Errorf("HistogramValues(-1) = %v, want nil", v)
	}
	if err := backendtest.RelativeError(0)(0.5, 1, 1); err != nil {
		t.Errorf("RelativeError(0) of an exact reading: %v", err)
	}
	if err := backendtest.WithinBucket(nil)(0.5, 1, 2); err != nil {
		t.Errorf("WithinBucket(nil): one bucket holds everything, got %v", err)
	}
	a := backendtest.AwkwardLabelValues()
	a[0] = "changed"
	if backendtest.AwkwardLabelValues()[0] == "changed" {
		t.Error("AwkwardLabelValues returned the suite's own slice")
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestZeroArguments$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BACKENDTEST_ZERO_HARNESS=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("Run with a zero Harness passed:\n%s", out)
	}
	if strings.Contains(string(out), "panic:") || !strings.Contains(string(out), "Harness.New and Harness.Collect are required") {
		t.Errorf("Run with a zero Harness:\n%s", out)
	}
}

func TestBucketQuantile(t *testing.T) {
	bounds, counts := []float64{1, 2, 4}, []uint64{0, 10, 10, 0}
	got, _ := backendtest.BucketQuantile(0.5, bounds, counts)
	if got != 2 {
		t.Errorf("median = %v, want 2", got)
	}
	got, _ = backendtest.BucketQuantile(0.75, bounds, counts)
	if math.Abs(got-3) > 1e-12 {
		t.Errorf("p75 = %v, want 3", got)
	}
	// A rank in the +Inf bucket reads the highest bound; an empty
	// histogram is an error.
	if got, _ := backendtest.BucketQuantile(0.99, bounds, []uint64{0, 10, 10, 5}); got != 4 {
		t.Errorf("p99 in +Inf = %v, want 4", got)
	}
	if _, err := backendtest.BucketQuantile(0.5, bounds, make([]uint64, 4)); err == nil {
		t.Error("empty histogram: no error")
	}
}
