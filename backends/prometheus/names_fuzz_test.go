package prometheus

import (
	"regexp"
	"testing"

	"github.com/obskit/obskit/metrics"
)

var (
	promMetricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promLabelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// FuzzNames maps any declaration the registry accepts and checks that
// the Prometheus names are valid, whatever the name, unit and label.
func FuzzNames(f *testing.F) {
	f.Add("http.server.request.duration", "s", "http.request.method", uint8(2))
	f.Add("requests.total", "1", "code", uint8(0))
	f.Add("a", "By/s", "_x", uint8(1))
	f.Add("q", "{req}", "a.b.c", uint8(0))
	f.Fuzz(func(t *testing.T, name, unit, label string, kind uint8) {
		k := metrics.Kind(kind%3 + 1)
		reg := metrics.New(metrics.Discard())
		o := metrics.Opts{Name: name, Unit: metrics.Unit(unit), Labels: []string{label}}
		var err error
		switch k {
		case metrics.KindCounter:
			_, err = reg.NewCounter(o)
		case metrics.KindGauge:
			_, err = reg.NewGauge(o)
		default:
			_, err = reg.NewHistogram(o)
		}
		if err != nil {
			return // the registry refuses it before any backend sees it
		}
		d := &metrics.Desc{Kind: k, Name: name, Unit: metrics.Unit(unit), Labels: []string{label}}
		if got := metricName(d); !promMetricName.MatchString(got) {
			t.Fatalf("metricName(%q, unit %q) = %q, not a Prometheus name", name, unit, got)
		}
		if got := labelName(label); !promLabelName.MatchString(got) {
			t.Fatalf("labelName(%q) = %q, not a Prometheus label name", label, got)
		}
	})
}
