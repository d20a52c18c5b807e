package dogstatsd_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/obskit/obskit/backends/dogstatsd"
	"github.com/obskit/obskit/metrics"
)

// FuzzTag checks the tag sanitiser on its own: one value gives one tag
// that the strict parser reads back as the documented form, and
// sanitising is idempotent and keeps the length in characters.
func FuzzTag(f *testing.F) {
	for _, s := range tagSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		tag := dogstatsd.Tag("k", value)
		m, err := parseMetricLine("m:1|c|#" + tag)
		if err != nil {
			t.Fatalf("value %q: %v", value, err)
		}
		want := dogstatsd.SanitizeTagValue(value)
		if len(m.tags) != 1 || m.tags[0] != [2]string{"k", want} {
			t.Fatalf("value %q: tags %q, want k:%q", value, m.tags, want)
		}
		if again := dogstatsd.SanitizeTagValue(want); again != want {
			t.Fatalf("value %q: not idempotent: %q then %q", value, want, again)
		}
		if utf8.ValidString(value) && utf8.RuneCountInString(want) != utf8.RuneCountInString(value) {
			t.Fatalf("value %q: %q has another length", value, want)
		}
	})
}

var tagSeeds = []string{"", "GET", "a.b", "new\nline", "x:1|c", "k=v,k2=v2", "@0.5", "#tag", "ünï", " ", "\x00\xff", "a|#b:c,d", "\u0085", "\r\n"}

// FuzzLine records a counter and a distribution with a fuzzed label value
// and writes the flush through datadog-go: exactly two lines, each parsed
// by the strict parser with one tag in its documented form (none for an
// empty value).
func FuzzLine(f *testing.F) {
	for _, s := range tagSeeds {
		f.Add(s, uint16(3), 0.25)
	}
	f.Fuzz(func(t *testing.T, value string, delta uint16, obs float64) {
		if delta == 0 || obs != obs || obs > 1e15 || obs < -1e15 {
			return
		}
		b, err := dogstatsd.New(dogstatsd.Options{FlushInterval: time.Hour, ClientOptions: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close(t.Context())
		reg := metrics.New(b, metrics.WithErrorHandler(func(error) {}))
		c, _ := reg.NewCounter(metrics.Opts{Name: "fz", Labels: []string{"v"}})
		h, _ := reg.NewHistogram(metrics.Opts{Name: "fz.h", Labels: []string{"v"}})
		c.With("v", value).Add(float64(delta))
		h.With("v", value).Observe(obs)
		var sb strings.Builder
		if _, err := b.WriteTo(&sb); err != nil {
			t.Fatal(err)
		}
		ls, err := parseDatagram(sb.String())
		if err != nil {
			t.Fatalf("value %q: %v", value, err)
		}
		if len(ls) != 2 {
			t.Fatalf("value %q: %d lines: %q", value, len(ls), sb.String())
		}
		for _, m := range ls {
			switch {
			case m.name == "fz" && m.typ == "c" && m.values[0] == float64(delta):
			case m.name == "fz.h" && m.typ == "d" && len(m.values) == 1 && m.values[0] == obs:
			default:
				t.Fatalf("value %q: line %+v", value, m)
			}
			if value == "" {
				// An empty value sends no tag.
				if len(m.tags) != 0 {
					t.Fatalf("value %q: tags %q, want none", value, m.tags)
				}
				continue
			}
			if len(m.tags) != 1 || m.tags[0][0] != "v" {
				t.Fatalf("value %q: tags %q", value, m.tags)
			}
			// An invalid UTF-8 value is recorded under the registry's
			// fallback; only valid ones must read back.
			if want := dogstatsd.SanitizeTagValue(value); utf8.ValidString(value) && m.tags[0][1] != want {
				t.Fatalf("value %q: tag value %q, want %q", value, m.tags[0][1], want)
			}
		}
	})
}
