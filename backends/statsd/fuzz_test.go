package statsd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/metrics"
)

// FuzzLine records one counter with a fuzzed label value in each label
// style: the flush is exactly one line, the strict parser accepts it, and
// the value reads back in its documented sanitised form.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "GET", "a.b", "new\nline", "x:1|c", "k=v,k2=v2", "@0.5", "#tag", "ünï", " ", "\x00\xff"} {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, value string, delta float64) {
		if delta <= 0 || delta > 1e300 || delta != delta {
			return
		}
		for _, style := range []statsd.LabelStyle{statsd.LabelsInName, statsd.TelegrafTags} {
			b, err := statsd.New(statsd.Options{FlushInterval: time.Hour, Labels: style})
			if err != nil {
				t.Fatal(err)
			}
			reg := metrics.New(b, metrics.WithErrorHandler(func(error) {}))
			c, _ := reg.NewCounter(metrics.Opts{Name: "fz", Labels: []string{"v"}})
			c.With("v", value).Add(delta)
			var sb strings.Builder
			if _, err := b.WriteTo(&sb); err != nil {
				t.Fatal(err)
			}
			b.Close(context.Background())
			out := sb.String()
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("value %q: %d lines: %q", value, strings.Count(out, "\n"), out)
			}
			m, err := parseLine(strings.TrimSuffix(out, "\n"))
			if err != nil {
				t.Fatalf("value %q: %v", value, err)
			}
			if m.typ != "c" || m.value != delta {
				t.Fatalf("value %q: %+v, want delta %v", value, m, delta)
			}
			// An invalid UTF-8 value is recorded under the registry's
			// fallback, whatever that is; only valid ones must read back.
			if !utf8Valid(value) {
				continue
			}
			switch style {
			case statsd.LabelsInName:
				if want := "fz." + statsd.Sanitize(value, false); m.name != want || len(m.tags) != 0 {
					t.Fatalf("value %q: name %q, want %q", value, m.name, want)
				}
			case statsd.TelegrafTags:
				if want := statsd.Sanitize(value, true); m.name != "fz" || len(m.tags) != 1 || m.tags[0] != [2]string{"v", want} {
					t.Fatalf("value %q: %+v, want tag v=%q", value, m, want)
				}
			}
		}
	})
}
