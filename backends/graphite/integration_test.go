package graphite_test

import (
	"context"
	"fmt"
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
					r := renderReader(web, dotted)
					r.Wait(t, descs)
					return r
				},
				CheckQuantile:      backendtest.RelativeError(0.01),
				SanitizeLabelValue: sanitize,
			})
		})
	}
}

// renderReader reads the suite's series from graphite-web.
func renderReader(web string, dotted bool) *itest.GraphiteReader {
	sanitize := graphite.SanitizeTagValue
	if dotted {
		sanitize = graphite.SanitizePathNode
	}
	return &itest.GraphiteReader{
		Query: func(d *metrics.Desc, suffix string) ([]itest.GraphiteSeries, []map[string]string, error) {
			return renderQuery(web, dotted, d, suffix)
		},
		// The suite asks by the values it recorded; they arrive sanitised
		// (sanitising twice changes nothing).
		Sanitize:      sanitize,
		HistogramStat: ".p99",
		Quantiles:     true,
	}
}

// renderQuery returns every series of d (with a histogram's stat suffix)
// and the declared labels of each.
func renderQuery(web string, dotted bool, d *metrics.Desc, suffix string) ([]itest.GraphiteSeries, []map[string]string, error) {
	name := d.FullName(".")
	var target string
	if dotted {
		target = name
		for _, l := range d.Labels {
			target += "." + strings.ReplaceAll(l, ".", "_") + ".*"
		}
		target += suffix
	} else {
		target = fmt.Sprintf("seriesByTag('name=%s%s')", name, suffix)
	}
	ss, err := itest.GraphiteRender(web, target, "-15min")
	if err != nil {
		return nil, nil, err
	}
	var labels []map[string]string
	for _, s := range ss {
		if !dotted {
			labels = append(labels, s.TagLabels())
			continue
		}
		rest := strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(s.Target, name), suffix), ".")
		var nodes []string
		if rest != "" {
			nodes = strings.Split(rest, ".")
		}
		if len(nodes) != 2*len(d.Labels) {
			return nil, nil, fmt.Errorf("path %q: %d nodes after the name, want %d", s.Target, len(nodes), 2*len(d.Labels))
		}
		l := map[string]string{}
		for i, n := range d.Labels {
			l[n] = nodes[2*i+1]
		}
		labels = append(labels, l)
	}
	return ss, labels, nil
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
	itest.GraphiteEventually(t, web, fmt.Sprintf("seriesByTag('name=%s.requests')", ns), "-5min", func(ss []itest.GraphiteSeries) bool {
		return len(ss) == 1 && ss[0].Sum() == 42 && ss[0].Tags["code"] == "200"
	})
}
