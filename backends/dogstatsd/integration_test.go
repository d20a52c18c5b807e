package dogstatsd_test

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/backends/dogstatsd"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
)

// statsdHealth asks the daemon's management port for its health.
func statsdHealth(mgmt string) func(string) error {
	return func(string) error {
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
}

// servers returns the statsd daemon's UDP address and graphite-web's URL;
// the daemon flushes into carbon every 2 s (scripts/servers/statsd.sh).
func servers(t *testing.T) (addr, web string) {
	t.Helper()
	web = itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
	itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
	addr = itest.Addr(t, "statsd", "udp://127.0.0.1:18125", statsdHealth("127.0.0.1:18126"))
	return addr, web
}

// daemonKey is what the statsd daemon 0.9 makes of a tag's value: it
// turns the tag's first ':' into '=' and then keeps, in the whole key,
// only [A-Za-z0-9_.;=-], with runs of white space as '_' and '/' as '-'.
var (
	daemonSpace = regexp.MustCompile(`\s+`)
	daemonDrop  = regexp.MustCompile(`[^a-zA-Z_\-0-9\.;=]`)
)

func daemonTagValue(v string) string {
	v = strings.Replace(dogstatsd.SanitizeTagValue(v), ";", "_", 1)
	v = daemonSpace.ReplaceAllString(v, "_")
	v = strings.ReplaceAll(v, "/", "-")
	return daemonDrop.ReplaceAllString(v, "")
}

// TestDaemonConformance runs the suite through the real statsd daemon,
// which parses DogStatsD's "|#" tags into Graphite tags and flushes into
// carbon, read back from graphite-web: stats.counters.<name>.count,
// stats.gauges.<name> and stats.timers.<name>.count and .sum, tagged.
// statsd 0.9 counts "|d" and "|h" as counters and reads one value per
// line, so the histograms go as Timing ("|ms", one value per line, in
// milliseconds). The suite records 18 000 timer values at once; a paced
// backend flushes every 250 of them (about 11 KB), so that no burst
// overflows the daemon's UDP socket buffer (208 KiB) on a busy machine:
// statsd has no other transport that datadog-go speaks.
func TestDaemonConformance(t *testing.T) {
	addr, web := servers(t)
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) metrics.Backend {
			return &paced{Backend: newBackend(t, dogstatsd.Options{Addr: addr, HistogramAs: dogstatsd.Timing, MaxTimerValues: 20000, MaxPacketSize: 8192})}
		},
		Collect: func(t *testing.T, b metrics.Backend, descs []*metrics.Desc) backendtest.Reader {
			p := b.(*paced)
			if err := p.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s := p.Stats(); s.Dropped() != 0 || s.LastError != nil {
				t.Fatalf("stats %+v", s)
			}
			r := &daemonReader{web: web}
			r.wait(t, descs)
			return r
		},
		SanitizeLabelValue: daemonTagValue,
		CounterValue:       math.Floor,
	})
}

// paced is a Backend whose histograms flush it every 250 observations (about 11 KB)
// and let the daemon catch up, while the other recording goroutines wait.
type paced struct {
	*dogstatsd.Backend
	mu sync.Mutex
	n  int
}

func (p *paced) DeclareHistogram(d *metrics.Desc) (metrics.Family[metrics.HistogramHandle], error) {
	f, err := p.Backend.DeclareHistogram(d)
	if err != nil {
		return nil, err
	}
	return metrics.FamilyFunc[metrics.HistogramHandle](func(lv []string) metrics.HistogramHandle {
		return pacedHandle{f.Bind(lv), p}
	}), nil
}

type pacedHandle struct {
	h metrics.HistogramHandle
	p *paced
}

func (h pacedHandle) Observe(ctx context.Context, v float64) {
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	h.h.Observe(ctx, v)
	if h.p.n++; h.p.n%250 == 0 {
		h.p.Flush(ctx)
		time.Sleep(10 * time.Millisecond)
	}
}

type daemonReader struct{ web string }

// query returns every series of d's stat and the declared labels of each.
func (r *daemonReader) query(d *metrics.Desc, stat string) ([]itest.GraphiteSeries, []map[string]string, error) {
	var path string
	switch d.Kind {
	case metrics.KindCounter:
		path = "stats.counters." + d.FullName(".") + ".count"
	case metrics.KindGauge:
		path = "stats.gauges." + d.FullName(".")
	default:
		path = "stats.timers." + d.FullName(".") + stat
	}
	target := path
	if len(d.Labels) > 0 {
		target = fmt.Sprintf("seriesByTag('name=%s')", path)
	}
	ss, err := itest.GraphiteRender(r.web, target, "-15min")
	if err != nil {
		return nil, nil, err
	}
	var ls []map[string]string
	for _, s := range ss {
		l := map[string]string{}
		for k, v := range s.Tags {
			if k != "name" {
				l[k] = v
			}
		}
		if len(l) != len(d.Labels) {
			return nil, nil, fmt.Errorf("%q: tags %v, want %v", s.Target, s.Tags, d.Labels)
		}
		ls = append(ls, l)
	}
	return ss, ls, nil
}

func (r *daemonReader) find(d *metrics.Desc, stat string, labels map[string]string) (itest.GraphiteSeries, error) {
	ss, ls, err := r.query(d, stat)
	if err != nil {
		return itest.GraphiteSeries{}, err
	}
	for i, l := range ls {
		match := len(l) == len(labels)
		for k, v := range labels {
			if l[k] != daemonTagValue(v) {
				match = false
			}
		}
		if match {
			return ss[i], nil
		}
	}
	return itest.GraphiteSeries{}, fmt.Errorf("no series %s%s %v among %v", d.FullName("."), stat, labels, ls)
}

// wait polls until every instrument has points, then waits one more
// daemon flush, for a burst that straddled two.
func (r *daemonReader) wait(t *testing.T, descs []*metrics.Desc) {
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

func (r *daemonReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
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

func (r *daemonReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
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

func (r *daemonReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	_, ls, err := r.query(d, ".count")
	return ls, err
}

// TestDaemonDistribution: the statsd daemon counts a "|d" line as a
// counter of its value; a distribution of one value per flush arrives as
// that, tagged.
func TestDaemonDistribution(t *testing.T) {
	addr, web := servers(t)
	b := newBackend(t, dogstatsd.Options{Addr: addr})
	ns := fmt.Sprintf("dsd%d", time.Now().UnixNano())
	reg := metrics.New(b, metrics.WithNamespace(ns))
	h, _ := reg.NewHistogram(metrics.Opts{Name: "size", Unit: metrics.UnitBytes, Labels: []string{"route"}})
	h.With("route", "/a").Observe(512)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("seriesByTag('name=stats.counters.%s.size.count')", ns)
	deadline := time.Now().Add(graphiteWait)
	for {
		ss, err := itest.GraphiteRender(web, target, "-5min")
		if err == nil && len(ss) == 1 && ss[0].Sum() == 512 && ss[0].Tags["route"] == "-a" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("read back %+v, %v", ss, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// graphiteWait bounds how long a test waits for what it sent to be
// readable through graphite-web: carbon writes and graphite-web indexes
// tags asynchronously, and on a loaded 2-core machine (CI runs packages
// side by side) that has taken over 30 s.
const graphiteWait = 90 * time.Second
