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
