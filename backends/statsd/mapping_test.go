package statsd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/metrics"
)

// Rows of the package doc's mapping table, checked against what a flush
// writes.
func TestMappingTableRows(t *testing.T) {
	for _, c := range []struct {
		style statsd.LabelStyle
		want  string
	}{
		{statsd.LabelsInName, "addsvc.requests.GET.200:2.5|c"},
		{statsd.TelegrafTags, "addsvc.requests,method=GET,code=200:2.5|c"},
	} {
		b, err := statsd.New(statsd.Options{Addr: "127.0.0.1:9", FlushInterval: time.Hour, Labels: c.style})
		if err != nil {
			t.Fatal(err)
		}
		reg := metrics.New(b, metrics.WithNamespace("addsvc"))
		req, err := reg.NewCounter(metrics.Opts{Name: "requests", Help: "R.", Labels: []string{"method", "code"}})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := reg.NewGauge(metrics.Opts{Name: "temp", Help: "T."})
		h, _ := reg.NewHistogram(metrics.Opts{Name: "latency", Help: "L.", Unit: metrics.UnitSeconds})
		req.With("method", "GET", "code", "200").Add(2)
		req.With("method", "GET", "code", "200").Add(0.5)
		g.Set(-8)
		h.Observe(0.0125)
		var out strings.Builder
		if _, err := b.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		want := c.want + "\naddsvc.temp:0|g\naddsvc.temp:-8|g\naddsvc.latency:12.5|ms\n"
		if out.String() != want {
			t.Errorf("style %d: flush\n%s\nwant\n%s", c.style, out.String(), want)
		}
		b.Close(t.Context())
	}
}
