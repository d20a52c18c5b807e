package circonus

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

// reader reads the conformance workload back from the receiver.
type reader struct{ r *receiver }

func (rd reader) find(d *metrics.Desc, labels map[string]string) (string, error) {
	for _, n := range rd.r.names() {
		name, tags, err := parseName(n)
		if err != nil || name != d.FullName(".") {
			continue
		}
		match := len(tags) == len(labels)
		for k, v := range labels {
			if tags[k] != v {
				match = false
			}
		}
		if match {
			return n, nil
		}
	}
	return "", fmt.Errorf("no metric %s with %v", d.FullName("."), labels)
}

func (rd reader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	n, err := rd.find(d, labels)
	if err != nil {
		return 0, err
	}
	rd.r.mu.Lock()
	defer rd.r.mu.Unlock()
	if d.Kind == metrics.KindCounter {
		v, ok := rd.r.counters[n]
		if !ok {
			return 0, fmt.Errorf("%s arrived, but not as a counter", n)
		}
		return float64(v), nil
	}
	v, ok := rd.r.gauges[n]
	if !ok {
		return 0, fmt.Errorf("%s arrived, but not as a gauge", n)
	}
	return v, nil
}

func (rd reader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	n, err := rd.find(d, labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	h, ok := rd.r.histogram(n)
	if !ok {
		return backendtest.HistogramReading{}, fmt.Errorf("%s arrived, but not as a histogram", n)
	}
	var count uint64
	for _, s := range h.DecStrings() {
		var v float64
		var c uint64
		if _, err := fmt.Sscanf(s, "H[%g]=%d", &v, &c); err != nil {
			return backendtest.HistogramReading{}, fmt.Errorf("bin %q: %v", s, err)
		}
		count += c
	}
	return backendtest.HistogramReading{Count: count, Sum: h.ApproxSum(), Quantile: func(q float64) (float64, error) {
		return h.ValueAtQuantile(q), nil
	}}, nil
}

func (rd reader) Series(d *metrics.Desc) ([]map[string]string, error) {
	var out []map[string]string
	for _, n := range rd.r.names() {
		name, tags, err := parseName(n)
		if err != nil || name != d.FullName(".") {
			continue
		}
		if tags == nil {
			tags = map[string]string{}
		}
		out = append(out, tags)
	}
	return out, nil
}

// Circonus' bins hold two significant digits: a bin is 1% to 10% of its
// value wide. circonusllhist reports a bin's midpoint for its sum (up to
// 5% off for one value) and interpolates quantiles within a bin; the
// values arrive re-binned from the 1% sketch. On the suite's fixed
// workload the errors measured are 0.08% on the log-uniform sum, 2.0% on
// the concurrent one (0.25 counts as its bin's midpoint 0.255) and at
// most 0.43% on p50, p90 and p99; the tolerances leave a little room.
const (
	sumTolerance      = 0.025
	quantileTolerance = 0.02
)

func TestConformance(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[tls], func(t *testing.T) {
			rcv := newReceiver(t, tls)
			rcv.noContent = !tls
			backendtest.Run(t, backendtest.Harness{
				New: func(t *testing.T) metrics.Backend {
					o := Options{URL: rcv.url(), FlushInterval: time.Hour,
						ErrorHandler: func(err error) { t.Errorf("delivery: %v", err) }}
					if tls {
						o.TLSConfig = rcv.srv.Client().Transport.(*http.Transport).TLSClientConfig
					}
					b, err := New(o)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { b.Close(context.Background()) })
					return b
				},
				Collect: func(t *testing.T, mb metrics.Backend, _ []*metrics.Desc) backendtest.Reader {
					b := mb.(*Backend)
					if err := b.Flush(context.Background()); err != nil {
						t.Fatal(err)
					}
					if st := b.Stats(); st.Dropped() != 0 || st.Sent == 0 {
						t.Fatalf("stats after flush: %+v", st)
					}
					return reader{rcv}
				},
				CheckQuantile: backendtest.RelativeError(quantileTolerance),
				SumTolerance:  sumTolerance,
				CounterValue:  math.Floor,
			})
		})
	}
}
