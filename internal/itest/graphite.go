package itest

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

// GraphiteSeries is one series of graphite-web's /render?format=json.
type GraphiteSeries struct {
	Target     string            `json:"target"`
	Tags       map[string]string `json:"tags"`
	Datapoints [][2]*float64     `json:"datapoints"`
}

// Points returns the series' non-null values, oldest first.
func (s GraphiteSeries) Points() []float64 {
	var out []float64
	for _, p := range s.Datapoints {
		if p[0] != nil {
			out = append(out, *p[0])
		}
	}
	return out
}

// Sum returns the sum of the series' non-null values.
func (s GraphiteSeries) Sum() float64 {
	var sum float64
	for _, v := range s.Points() {
		sum += v
	}
	return sum
}

// Last returns the series' last non-null value and whether there is one.
func (s GraphiteSeries) Last() (float64, bool) {
	p := s.Points()
	if len(p) == 0 {
		return 0, false
	}
	return p[len(p)-1], true
}

// GraphiteRender asks graphite-web at base for target over the last
// `from` (a Graphite time such as "-10min") as JSON.
func GraphiteRender(base, target, from string) ([]GraphiteSeries, error) {
	q := url.Values{"target": {target}, "from": {from}, "format": {"json"}}
	var out []GraphiteSeries
	if err := GetJSON(&http.Client{Timeout: 10 * time.Second}, base+"/render?"+q.Encode(), &out); err != nil {
		return nil, fmt.Errorf("render %q: %w", target, err)
	}
	return out, nil
}

// GraphiteWait bounds how long a test waits for what it sent to be
// readable through graphite-web: carbon writes and graphite-web indexes
// tags asynchronously, and on a loaded 2-core machine (CI runs packages
// side by side) that has taken over 30 s.
const GraphiteWait = 90 * time.Second

// GraphiteEventually asks graphite-web at base for target over the last
// `from` until ok accepts the series it returns, for up to GraphiteWait,
// and fails t with the last answer otherwise.
func GraphiteEventually(t testing.TB, base, target, from string, ok func([]GraphiteSeries) bool) {
	t.Helper()
	deadline := time.Now().Add(GraphiteWait)
	for {
		ss, err := GraphiteRender(base, target, from)
		if err == nil && ok(ss) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: read back %+v, %v", target, ss, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// GraphiteReader is the conformance suite's backendtest.Reader for a
// backend whose series end in carbon and are read back from graphite-web
// (graphite itself, and the statsd daemons that flush into carbon). A
// backend supplies how its series are found (Query); the rest is common:
// a counter is the sum of its points, a gauge its last point, a
// histogram its ".count" and ".sum" series.
type GraphiteReader struct {
	// Query returns every series of d with stat (a histogram's ".count",
	// ".sum", ".p99"…; "" for a counter or gauge) and the declared labels
	// of each.
	Query func(d *metrics.Desc, stat string) ([]GraphiteSeries, []map[string]string, error)
	// Sanitize returns a label value as it arrives in graphite-web.
	Sanitize func(string) string
	// HistogramStat is the stat by which Wait and Series read a
	// histogram.
	HistogramStat string
	// Settle is how long Wait waits once every series has points: one
	// flush of a statsd daemon, for a burst that straddled two.
	Settle time.Duration
	// SumScale divides a histogram's sum (1000 for a statsd timer in
	// milliseconds); 0 means 1.
	SumScale float64
	// Quantiles reads quantile q from the stat ".p<100q>", which must
	// hold the one point of one flush.
	Quantiles bool
}

func (r *GraphiteReader) stat(d *metrics.Desc) string {
	if d.Kind == metrics.KindHistogram {
		return r.HistogramStat
	}
	return ""
}

// Wait polls until every series of descs has points, for up to
// GraphiteWait, then waits Settle.
func (r *GraphiteReader) Wait(t testing.TB, descs []*metrics.Desc) {
	t.Helper()
	deadline := time.Now().Add(GraphiteWait)
	for {
		var missing []string
		for _, d := range descs {
			ss, _, err := r.Query(d, r.stat(d))
			if err != nil || len(ss) == 0 {
				missing = append(missing, d.FullName("."))
				continue
			}
			for _, s := range ss {
				if len(s.Points()) == 0 {
					missing = append(missing, s.Target)
				}
			}
		}
		if len(missing) == 0 {
			time.Sleep(r.Settle)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in graphite-web after %v: %v", GraphiteWait, missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// find returns the series of d with stat whose labels are labels as they
// arrive (sanitised).
func (r *GraphiteReader) find(d *metrics.Desc, stat string, labels map[string]string) (GraphiteSeries, error) {
	ss, ls, err := r.Query(d, stat)
	if err != nil {
		return GraphiteSeries{}, err
	}
	want := make(map[string]string, len(labels))
	for k, v := range labels {
		want[k] = r.Sanitize(v)
	}
	for i, l := range ls {
		if maps.Equal(l, want) {
			return ss[i], nil
		}
	}
	return GraphiteSeries{}, fmt.Errorf("no series %s%s %v among %v", d.FullName("."), stat, labels, ls)
}

// Value implements backendtest.Reader.
func (r *GraphiteReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	s, err := r.find(d, "", labels)
	if err != nil {
		return 0, err
	}
	if d.Kind == metrics.KindCounter {
		return s.Sum(), nil // per-interval deltas
	}
	v, ok := s.Last()
	if !ok {
		return 0, fmt.Errorf("%s: no points", s.Target)
	}
	return v, nil
}

// Histogram implements backendtest.Reader.
func (r *GraphiteReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	var h backendtest.HistogramReading
	count, err := r.find(d, ".count", labels)
	if err != nil {
		return h, err
	}
	sum, err := r.find(d, ".sum", labels)
	if err != nil {
		return h, err
	}
	c := count.Sum()
	if c != math.Trunc(c) || c < 0 {
		return h, fmt.Errorf("count %v", c)
	}
	h.Count, h.Sum = uint64(c), sum.Sum()
	if r.SumScale != 0 {
		h.Sum /= r.SumScale
	}
	if r.Quantiles {
		h.Quantile = func(q float64) (float64, error) {
			s, err := r.find(d, fmt.Sprintf(".p%v", q*100), labels)
			if err != nil {
				return 0, err
			}
			if p := s.Points(); len(p) != 1 {
				return 0, fmt.Errorf("%s: %d points, want the one of one flush", s.Target, len(p))
			}
			v, _ := s.Last()
			return v, nil
		}
	}
	return h, nil
}

// Series implements backendtest.Reader.
func (r *GraphiteReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	_, ls, err := r.Query(d, r.stat(d))
	return ls, err
}

// TagLabels returns the labels of a series read by seriesByTag: its
// tags but "name".
func (s GraphiteSeries) TagLabels() map[string]string {
	l := make(map[string]string, len(s.Tags))
	for k, v := range s.Tags {
		if k != "name" {
			l[k] = v
		}
	}
	return l
}
