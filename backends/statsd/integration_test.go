package statsd_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
)

// servers returns the statsd daemon's UDP address and graphite-web's URL;
// the daemon flushes into carbon every 2 s (scripts/servers/statsd.sh).
func servers(t *testing.T) (addr, web string) {
	t.Helper()
	web = itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
	itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
	addr = itest.Addr(t, "statsd", "udp://127.0.0.1:18125", itest.StatsdHealth)
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
			r := statsdReader(web)
			r.Wait(t, descs)
			return r
		},
		SanitizeLabelValue: func(v string) string { return statsd.Sanitize(v, false) },
	})
}

// statsdReader reads what the daemon flushed into carbon:
// stats.counters.<key>.count, stats.gauges.<key>, stats.timers.<key><stat>,
// the label values as path nodes.
func statsdReader(web string) *itest.GraphiteReader {
	return &itest.GraphiteReader{
		Query: func(d *metrics.Desc, stat string) ([]itest.GraphiteSeries, []map[string]string, error) {
			return statsdQuery(web, d, stat)
		},
		Sanitize:      func(v string) string { return statsd.Sanitize(v, false) },
		HistogramStat: ".count",
		Settle:        2500 * time.Millisecond,
		SumScale:      1000, // ms to s
	}
}

func statsdTarget(d *metrics.Desc, labelPart, stat string) string {
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

// statsdQuery returns every series of d and the declared labels of each,
// read from the path by position.
func statsdQuery(web string, d *metrics.Desc, stat string) ([]itest.GraphiteSeries, []map[string]string, error) {
	target := statsdTarget(d, strings.Repeat(".*", len(d.Labels)), stat)
	ss, err := itest.GraphiteRender(web, target, "-15min")
	if err != nil {
		return nil, nil, err
	}
	head, tail, _ := strings.Cut(statsdTarget(d, "\x00", stat), "\x00")
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
	for target, w := range want {
		itest.GraphiteEventually(t, web, target, "-5min", func(ss []itest.GraphiteSeries) bool {
			if len(ss) != 1 {
				return false
			}
			if strings.Contains(target, ".count") {
				return ss[0].Sum() == w
			}
			got, _ := ss[0].Last()
			return got == w
		})
	}
	if s := b.Stats(); s.DroppedSampled != 150 || s.Sent != 1+2+50 {
		t.Fatalf("stats %+v", s)
	}
}
