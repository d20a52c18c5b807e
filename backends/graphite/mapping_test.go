package graphite_test

import (
	"slices"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/metrics"
)

// Rows of the package doc's mapping table, checked against what a flush
// writes.
func TestMappingTableRows(t *testing.T) {
	for _, c := range []struct {
		dotted bool
		want   []string
	}{
		{false, []string{"addsvc.requests;method=GET;code=200 2", "addsvc.latency.count;route=/a 1", "addsvc.latency.p99;route=/a 0.5"}},
		{true, []string{"addsvc.requests.method.GET.code.200 2", "addsvc.latency.route._a.count 1", "addsvc.latency.route._a.p99 0.5"}},
	} {
		b := newBackend(t, graphite.Options{FlushInterval: time.Hour, DottedPaths: c.dotted})
		reg := metrics.New(b, metrics.WithNamespace("addsvc"))
		req, _ := reg.NewCounter(metrics.Opts{Name: "requests", Help: "R.", Labels: []string{"method", "code"}})
		h, _ := reg.NewHistogram(metrics.Opts{Name: "latency", Help: "L.", Unit: metrics.UnitSeconds, Labels: []string{"route"}})
		req.With("method", "GET", "code", "200").Add(2)
		h.With("route", "/a").Observe(0.5)
		got := flushLines(t, b)
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("dotted %v: no line %q in %q", c.dotted, w, got)
			}
		}
	}
}

// Two label values that sanitise alike are one Graphite series: one line
// with the sum, not two lines of which carbon keeps the last.
func TestValuesThatSanitiseAlikeAreOneSeries(t *testing.T) {
	b := newBackend(t, graphite.Options{FlushInterval: time.Hour})
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c", Help: "C.", Labels: []string{"k"}})
	g, _ := metrics.New(b).NewGauge(metrics.Opts{Name: "g", Help: "G.", Labels: []string{"k"}})
	c.With("k", "a\nb").Add(1)
	c.With("k", "a\x00b").Add(2)
	g.With("k", "a\nb").Set(1)
	g.With("k", "a\x00b").Set(5)
	got := flushLines(t, b)
	if want := []string{"c;k=a_b 3", "g;k=a_b 5"}; !slices.Equal(got, want) {
		t.Fatalf("flush %q, want %q", got, want)
	}
}
