package dogstatsd_test

import (
	"context"
	"fmt"
	"math"
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

// servers returns the statsd daemon's UDP address and graphite-web's URL;
// the daemon flushes into carbon every 2 s (scripts/servers/statsd.sh).
func servers(t *testing.T) (addr, web string) {
	t.Helper()
	web = itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
	itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
	addr = itest.Addr(t, "statsd", "udp://127.0.0.1:18125", itest.StatsdHealth)
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
			r := daemonReader(web)
			r.Wait(t, descs)
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

// daemonReader reads what the statsd daemon flushed into carbon, the
// labels as tags.
func daemonReader(web string) *itest.GraphiteReader {
	return &itest.GraphiteReader{
		Query: func(d *metrics.Desc, stat string) ([]itest.GraphiteSeries, []map[string]string, error) {
			return daemonQuery(web, d, stat)
		},
		Sanitize:      daemonTagValue,
		HistogramStat: ".count",
		Settle:        2500 * time.Millisecond,
		SumScale:      1000, // ms to s
	}
}

// daemonQuery returns every series of d's stat and the declared labels of
// each.
func daemonQuery(web string, d *metrics.Desc, stat string) ([]itest.GraphiteSeries, []map[string]string, error) {
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
	ss, err := itest.GraphiteRender(web, target, "-15min")
	if err != nil {
		return nil, nil, err
	}
	var ls []map[string]string
	for _, s := range ss {
		l := s.TagLabels()
		if len(l) != len(d.Labels) {
			return nil, nil, fmt.Errorf("%q: tags %v, want %v", s.Target, s.Tags, d.Labels)
		}
		ls = append(ls, l)
	}
	return ss, ls, nil
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
	itest.GraphiteEventually(t, web, target, "-5min", func(ss []itest.GraphiteSeries) bool {
		return len(ss) == 1 && ss[0].Sum() == 512 && ss[0].Tags["route"] == "-a"
	})
}
