package statsd_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
)

// statsdHealth asks the daemon's management port, the one after its
// metrics port as in scripts/servers/statsd.sh, for its health.
func statsdHealth(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return err
	}
	mgmt := net.JoinHostPort(host, strconv.Itoa(p+1))
	c, err := net.DialTimeout("tcp", mgmt, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("health\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.Contains(line, "up") {
		return fmt.Errorf("health: %q", line)
	}
	return nil
}

// servers returns the statsd daemon's UDP address and graphite-web's URL;
// the daemon flushes into carbon every 2 s (scripts/servers/statsd.sh).
func servers(t *testing.T) (addr, web string) {
	t.Helper()
	web = itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
	itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
	addr = itest.Addr(t, "statsd", "udp://127.0.0.1:18125", statsdHealth)
	return addr, web
}

// TestConformance runs the suite through the real statsd daemon (over
// TCP), which
// aggregates and flushes into carbon, read back from graphite-web:
// stats.counters.<key>.count (summed over statsd's flushes),
// stats.gauges.<key> (the last value) and stats.timers.<key>.count and
// .sum (in ms). statsd computes percentiles per flush of its own, so a
// workload that straddles two of its flushes has no single quantile to
// check; quantiles are not checked here (see TestTimerPercentile).
func TestConformance(t *testing.T) {
	addr, web := servers(t)
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) metrics.Backend {
			// The suite sends 18 000 timer values in one flush: over UDP
			// most would overflow the daemon's socket buffer, so the
			// suite runs over statsd's TCP server (TestUDP covers UDP),
			// with every value unsampled so that the daemon's sums are
			// exact.
			return newBackend(t, statsd.Options{Addr: addr, Network: "tcp", MaxTimerValues: 20000})
		},
		Collect: func(t *testing.T, b metrics.Backend, descs []*metrics.Desc) backendtest.Reader {
			if err := b.(*statsd.Backend).Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			r := &statsdReader{web: web}
			r.wait(t, descs)
			return r
		},
		SanitizeLabelValue: func(v string) string { return statsd.Sanitize(v, false) },
	})
}

type statsdReader struct{ web string }

func (r *statsdReader) target(d *metrics.Desc, labelPart, stat string) string {
	var prefix string
	switch d.Kind {
	case metrics.KindCounter:
		prefix, stat = "stats.counters.", ".count"
	case metrics.KindGauge:
		prefix, stat = "stats.gauges.", ""
	default:
		prefix = "stats.timers."
	}
	return prefix + d.FullName(".") + labelPart + stat
}

// query returns every series of d and the declared labels of each, read
// from the path by position.
func (r *statsdReader) query(d *metrics.Desc, stat string) ([]itest.GraphiteSeries, []map[string]string, error) {
	target := r.target(d, strings.Repeat(".*", len(d.Labels)), stat)
	ss, err := itest.GraphiteRender(r.web, target, "-15min")
	if err != nil {
		return nil, nil, err
	}
	head, tail, _ := strings.Cut(r.target(d, "\x00", stat), "\x00")
	var ls []map[string]string
	for _, s := range ss {
		rest := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(s.Target, head), tail), ".")
		var nodes []string
		if rest != "" {
			nodes = strings.Split(rest, ".")
		}
		if len(nodes) != len(d.Labels) {
			return nil, nil, fmt.Errorf("%q: %d label nodes, want %d", s.Target, len(nodes), len(d.Labels))
		}
		l := map[string]string{}
		for i, n := range d.Labels {
			l[n] = nodes[i]
		}
		ls = append(ls, l)
	}
	return ss, ls, nil
}

func (r *statsdReader) find(d *metrics.Desc, stat string, labels map[string]string) (itest.GraphiteSeries, error) {
	ss, ls, err := r.query(d, stat)
	if err != nil {
		return itest.GraphiteSeries{}, err
	}
	for i, l := range ls {
		match := len(l) == len(labels)
		for k, v := range labels {
			if l[k] != statsd.Sanitize(v, false) {
				match = false
			}
		}
		if match {
			return ss[i], nil
		}
	}
	return itest.GraphiteSeries{}, fmt.Errorf("no series %s %v among %v", r.target(d, "", stat), labels, ls)
}

// wait polls until every instrument has points, then waits one more
// statsd flush, for a burst that straddled two.
func (r *statsdReader) wait(t *testing.T, descs []*metrics.Desc) {
	t.Helper()
	deadline := time.Now().Add(graphiteWait)
	for {
		var missing []string
		for _, d := range descs {
			ss, _, err := r.query(d, ".count")
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
			time.Sleep(2500 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in graphite-web after %v: %v", graphiteWait, missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (r *statsdReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	s, err := r.find(d, "", labels)
	if err != nil {
		return 0, err
	}
	if d.Kind == metrics.KindCounter {
		return s.Sum(), nil
	}
	v, ok := s.Last()
	if !ok {
		return 0, fmt.Errorf("%s: no points", s.Target)
	}
	return v, nil
}

func (r *statsdReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
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
	h.Count, h.Sum = uint64(c), sum.Sum()/1000 // ms to s
	return h, nil
}

func (r *statsdReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	_, ls, err := r.query(d, ".count")
	return ls, err
}

// TestUDP sends a small flush over UDP to the real daemon: a counter, a
// negative gauge and a sampled timer arrive as statsd reports them.
func TestUDP(t *testing.T) {
	addr, web := servers(t)
	b := newBackend(t, statsd.Options{Addr: addr, MaxTimerValues: 50})
	ns := fmt.Sprintf("udp%d", time.Now().UnixNano())
	reg := metrics.New(b, metrics.WithNamespace(ns))
	c, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"code"}})
	g, _ := reg.NewGauge(metrics.Opts{Name: "level"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "latency", Unit: metrics.UnitSeconds})
	c.With("code", "200").Add(3)
	g.Set(-4.5)
	for range 200 {
		h.Observe(0.002) // 200 values, 50 sent at @0.25
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"stats.counters." + ns + ".requests.200.count": 3,
		"stats.gauges." + ns + ".level":                -4.5,
		"stats.timers." + ns + ".latency.count":        200,
		"stats.timers." + ns + ".latency.upper":        2,
	}
	deadline := time.Now().Add(graphiteWait)
	for target, w := range want {
		for {
			ss, err := itest.GraphiteRender(web, target, "-5min")
			var got float64
			if err == nil && len(ss) == 1 {
				if strings.Contains(target, ".count") {
					got = ss[0].Sum()
				} else {
					got, _ = ss[0].Last()
				}
				if got == w {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %v (%v), want %v", target, got, err, w)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	if s := b.Stats(); s.DroppedSampled != 150 || s.Sent != 1+2+50 {
		t.Fatalf("stats %+v", s)
	}
}

// graphiteWait bounds how long a test waits for what it sent to be
// readable through graphite-web: carbon writes and graphite-web indexes
// tags asynchronously, and on a loaded 2-core machine (CI runs packages
// side by side) that has taken over 30 s.
const graphiteWait = 90 * time.Second
