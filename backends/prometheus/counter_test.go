package prometheus

import (
	"strconv"
	"strings"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/obskit/obskit/metrics"
)

// TestCountersSharedRegisterer: two Backends on one Registerer declaring
// the same counter share its series, which is scraped once.
func TestCountersSharedRegisterer(t *testing.T) {
	r := prom.NewRegistry()
	var cs []*metrics.CounterMetric
	for range 2 {
		b := newBackend(t, Options{Registerer: r})
		c, err := metrics.New(b).NewCounter(metrics.Opts{Name: "jobs", Help: "Jobs.", Labels: []string{"queue"}})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	cs[0].With("queue", "a").Add(2)
	cs[1].With("queue", "a").Add(3)
	cs[1].With("queue", "b").Add(1)
	mfs, err := r.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var got []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got = append(got, m.GetLabel()[0].GetValue()+"="+strconv.FormatFloat(m.GetCounter().GetValue(), 'g', -1, 64))
		}
	}
	if strings.Join(got, " ") != "a=5 b=1" {
		t.Errorf("series = %v, want a=5 b=1", got)
	}
}
