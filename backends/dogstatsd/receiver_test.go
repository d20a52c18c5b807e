package dogstatsd_test

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/backends/dogstatsd"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// receiver is a DogStatsD server for the tests: it reads datagrams on a
// loopback UDP port, parses each strictly (parseDatagram) and keeps the
// lines; a datagram it cannot parse is kept as an error, which fails the
// test at cleanup.
type receiver struct {
	conn *net.UDPConn
	done chan struct{}

	mu    sync.Mutex
	lines []datagramLine
	pkts  []string
	errs  []error
}

func listen(t *testing.T) *receiver {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	r := &receiver{conn: c, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		buf := make([]byte, 1<<16)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			p := string(buf[:n])
			ls, err := parseDatagram(p)
			r.mu.Lock()
			r.pkts = append(r.pkts, p)
			if err != nil {
				r.errs = append(r.errs, err)
			}
			r.lines = append(r.lines, ls...)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-r.done
		for _, err := range r.errs {
			t.Errorf("receiver rejected a datagram: %v", err)
		}
	})
	return r
}

func (r *receiver) addr() string { return r.conn.LocalAddr().String() }

func (r *receiver) packets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pkts)
}

// metricLines returns the lines received so far, without datadog-go's
// own telemetry.
func (r *receiver) metricLines() []datagramLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []datagramLine
	for _, l := range r.lines {
		if !strings.HasPrefix(l.name, "datadog.dogstatsd.client.") {
			out = append(out, l)
		}
	}
	return out
}

// waitValues waits until the lines received hold at least n values.
func (r *receiver) waitValues(t *testing.T, n uint64) []datagramLine {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls := r.metricLines()
		var got uint64
		for _, l := range ls {
			got += uint64(len(l.values))
		}
		if got >= n {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d values, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// datagramReader reads the suite's instruments back from received lines:
// counters summed (each value over its rate), gauges' last value,
// histograms' values with their weights 1/rate.
type datagramReader struct {
	lines []datagramLine
}

// match reports whether l is a line of d with the given declared labels
// (compared in their sanitised form).
func match(l datagramLine, d *metrics.Desc, labels map[string]string) bool {
	if l.name != d.FullName(".") || len(l.tags) != len(labels) {
		return false
	}
	for _, t := range l.tags {
		v, ok := labels[t[0]]
		if !ok || dogstatsd.SanitizeTagValue(v) != t[1] {
			return false
		}
	}
	return true
}

func (r *datagramReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	var v float64
	var seen bool
	for _, l := range r.lines {
		if !match(l, d, labels) {
			continue
		}
		switch {
		case d.Kind == metrics.KindCounter && l.typ == "c":
			v += l.values[0] / l.rate
		case d.Kind == metrics.KindGauge && l.typ == "g":
			v = l.values[0]
		default:
			return 0, fmt.Errorf("%s: line of type %q", d.FullName("."), l.typ)
		}
		seen = true
	}
	if !seen {
		return 0, fmt.Errorf("no line for %s %v", d.FullName("."), labels)
	}
	return v, nil
}

// weighted returns a histogram's values and their total weight.
func (r *datagramReader) weighted(d *metrics.Desc, labels map[string]string, typ string) (vals []float64, count, sum float64, err error) {
	for _, l := range r.lines {
		if !match(l, d, labels) {
			continue
		}
		if l.typ != typ {
			return nil, 0, 0, fmt.Errorf("%s: line of type %q, want %q", d.FullName("."), l.typ, typ)
		}
		for _, v := range l.values {
			vals = append(vals, v)
			count += 1 / l.rate
			sum += v / l.rate
		}
	}
	if vals == nil {
		return nil, 0, 0, fmt.Errorf("no line for %s %v", d.FullName("."), labels)
	}
	return vals, count, sum, nil
}

func (r *datagramReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	var h backendtest.HistogramReading
	vals, count, sum, err := r.weighted(d, labels, "d")
	if err != nil {
		return h, err
	}
	if count != math.Round(count) {
		return h, fmt.Errorf("count %v", count)
	}
	slices.Sort(vals)
	h.Count, h.Sum = uint64(count), sum
	h.Quantile = func(q float64) (float64, error) {
		// Nearest rank over every value, as the suite computes the
		// exact quantile.
		return metricstest.HistogramSnapshot{Values: vals}.Quantile(q), nil
	}
	return h, nil
}

func (r *datagramReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	seen := map[string]bool{}
	var out []map[string]string
	for _, l := range r.lines {
		if l.name != d.FullName(".") {
			continue
		}
		m := map[string]string{}
		for _, t := range l.tags {
			m[t[0]] = t[1]
		}
		k := fmt.Sprint(l.tags)
		if !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out, nil
}
