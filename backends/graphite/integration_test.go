package graphite_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
)

func servers(t *testing.T) (carbon, web string) {
	t.Helper()
	web = itest.URL(t, "graphite-web", "http://127.0.0.1:18080", "/metrics/find?query=*")
	carbon = itest.Addr(t, "carbon", "tcp://127.0.0.1:12003", itest.DialTCP)
	return carbon, web
}

// TestConformance runs the suite through carbon, read back from
// graphite-web's /render?format=json: tagged series with seriesByTag,
// dotted paths with path wildcards.
func TestConformance(t *testing.T) {
	carbon, web := servers(t)
	for _, dotted := range []bool{false, true} {
		t.Run(fmt.Sprintf("dotted=%v", dotted), func(t *testing.T) {
			sanitize := graphite.SanitizeTagValue
			if dotted {
				sanitize = graphite.SanitizePathNode
			}
			backendtest.Run(t, backendtest.Harness{
				New: func(t *testing.T) metrics.Backend {
					return newBackend(t, graphite.Options{Addr: carbon, DottedPaths: dotted})
				},
				Collect: func(t *testing.T, b metrics.Backend, descs []*metrics.Desc) backendtest.Reader {
					if err := b.(*graphite.Backend).Flush(context.Background()); err != nil {
						t.Fatal(err)
					}
					r := &renderReader{web: web, dotted: dotted}
					r.wait(t, descs)
					return r
				},
				CheckQuantile:      backendtest.RelativeError(0.01),
				SanitizeLabelValue: sanitize,
			})
		})
	}
}

// renderReader reads the suite's series from graphite-web.
type renderReader struct {
	web    string
	dotted bool
}

// query returns every series of d (with a histogram's stat suffix) and
// the declared labels of each.
func (r *renderReader) query(d *metrics.Desc, suffix string) ([]itest.GraphiteSeries, []map[string]string, error) {
	name := d.FullName(".")
	var target string
	if r.dotted {
		target = name
		for _, l := range d.Labels {
			target += "." + strings.ReplaceAll(l, ".", "_") + ".*"
		}
		target += suffix
	} else {
		target = fmt.Sprintf("seriesByTag('name=%s%s')", name, suffix)
	}
	ss, err := itest.GraphiteRender(r.web, target, "-15min")
	if err != nil {
		return nil, nil, err
	}
	var labels []map[string]string
	for _, s := range ss {
		l := map[string]string{}
		if r.dotted {
			rest := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(s.Target, name), suffix), ".")
			var nodes []string
			if rest != "" {
				nodes = strings.Split(rest, ".")
			}
			if len(nodes) != 2*len(d.Labels) {
				return nil, nil, fmt.Errorf("path %q: %d nodes after the name, want %d", s.Target, len(nodes), 2*len(d.Labels))
			}
			for i, n := range d.Labels {
				l[n] = nodes[2*i+1]
			}
		} else {
			for k, v := range s.Tags {
				if k != "name" {
					l[k] = v
				}
			}
		}
		labels = append(labels, l)
	}
	return ss, labels, nil
}

func (r *renderReader) find(d *metrics.Desc, suffix string, labels map[string]string) (itest.GraphiteSeries, error) {
	ss, ls, err := r.query(d, suffix)
	if err != nil {
		return itest.GraphiteSeries{}, err
	}
	// The suite asks by the values it recorded; they arrive sanitised
	// (sanitising twice changes nothing).
	want := map[string]string{}
	for k, v := range labels {
		if r.dotted {
			want[k] = graphite.SanitizePathNode(v)
		} else {
			want[k] = graphite.SanitizeTagValue(v)
		}
	}
	for i, l := range ls {
		if equal(l, want) {
			return ss[i], nil
		}
	}
	return itest.GraphiteSeries{}, fmt.Errorf("no series %s%s %v among %v", d.FullName("."), suffix, labels, ls)
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// wait polls until every instrument has as many points as it was sent
// (one per series and flush), since carbon writes and registers tags
// asynchronously.
func (r *renderReader) wait(t *testing.T, descs []*metrics.Desc) {
	t.Helper()
	deadline := time.Now().Add(graphiteWait)
	for {
		var missing []string
		for _, d := range descs {
			suffix := ""
			if d.Kind == metrics.KindHistogram {
				suffix = ".p99"
			}
			ss, _, err := r.query(d, suffix)
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
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not in graphite-web after %v: %v", graphiteWait, missing)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (r *renderReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
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

func (r *renderReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
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
	return h, nil
}

func (r *renderReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	_, ls, err := r.query(d, "")
	return ls, err
}

// TestCarbonRoundTrip: a value recorded before Close arrives in the real
// carbon exactly once.
func TestCarbonRoundTrip(t *testing.T) {
	carbon, web := servers(t)
	b := newBackend(t, graphite.Options{Addr: carbon})
	ns := fmt.Sprintf("rt%d", time.Now().UnixNano())
	reg := metrics.New(b, metrics.WithNamespace(ns))
	c, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"code"}})
	c.With("code", "200").Add(42)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(graphiteWait)
	for {
		ss, err := itest.GraphiteRender(web, fmt.Sprintf("seriesByTag('name=%s.requests')", ns), "-5min")
		if err == nil && len(ss) == 1 && ss[0].Sum() == 42 && ss[0].Tags["code"] == "200" {
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
