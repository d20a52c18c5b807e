package graphite_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/metrics"
)

// FuzzLine records one counter with a fuzzed label value, tagged and
// dotted: the flush is exactly one line, the strict parser accepts it,
// and the value reads back in its documented sanitised form.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "GET", "a.b", "new\nline", "x;y=z", "~tilde", "sp ace", "ünï", "\x00\xff", "a=b=c"} {
		f.Add(s, 2.5)
	}
	f.Fuzz(func(t *testing.T, value string, delta float64) {
		if delta <= 0 || delta > 1e300 || delta != delta {
			return
		}
		for _, dotted := range []bool{false, true} {
			b, err := graphite.New(graphite.Options{FlushInterval: time.Hour, DottedPaths: dotted})
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
				t.Fatalf("value %q: %q is not one line", value, out)
			}
			p, err := parseLine(strings.TrimSuffix(out, "\n"))
			if err != nil {
				t.Fatalf("value %q: %v", value, err)
			}
			if p.value != delta {
				t.Fatalf("value %q: %v, want %v", value, p.value, delta)
			}
			if !utf8.ValidString(value) {
				continue // recorded under the registry's fallback
			}
			switch {
			case dotted:
				if want := "fz.v." + graphite.SanitizePathNode(value); p.path != want || len(p.tags) != 0 {
					t.Fatalf("value %q: %+v, want path %q", value, p, want)
				}
			case value == "":
				if p.path != "fz" || len(p.tags) != 0 {
					t.Fatalf("empty value: %+v, want no tag", p)
				}
			default:
				if want := graphite.SanitizeTagValue(value); p.path != "fz" || len(p.tags) != 1 || p.tags["v"] != want {
					t.Fatalf("value %q: %+v, want tag v=%q", value, p, want)
				}
			}
		}
	})
}
