package backendtest_test

import (
	"fmt"
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
