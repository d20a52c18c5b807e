package metrics_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// FuzzWith feeds arbitrary name/value sequences to With: nothing panics,
// and every Add lands in exactly one series whose values are valid UTF-8
// and either given, unset or the overflow value.
func FuzzWith(f *testing.F) {
	f.Add("a\x00GET\x00b\x00200")
	f.Add("a\x00\xff\xfe\x00zzz\x001\x00c")
	f.Add("c\x00x\x00c\x00y\x00a")
	f.Add("")
	f.Fuzz(func(t *testing.T, input string) {
		b := metricstest.New()
		reg := metrics.New(b, metrics.WithCardinalityLimit(4))
		c, err := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"a", "b", "c"}})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		if input != "" {
			kv = strings.Split(input, "\x00")
		}
		given := map[string]bool{metrics.UnsetLabelValue: true, metrics.OverflowLabelValue: true}
		for _, v := range kv {
			given[strings.ToValidUTF8(v, "\uFFFD")] = true
		}
		adds := 0
		for range 3 {
			c.With(kv...).Add(1)
			c.With(kv...).With(kv...).Add(1)
			adds += 2
		}
		total := 0.0
		for _, s := range b.Series("c") {
			total += s.Value()
			for _, l := range s.Labels {
				if !utf8.ValidString(l.Value) {
					t.Errorf("label %s has invalid UTF-8 %q", l.Name, l.Value)
				}
				if !given[l.Value] {
					t.Errorf("label %s = %q was never given", l.Name, l.Value)
				}
			}
		}
		if total != float64(adds) {
			t.Errorf("recorded %v, want %d", total, adds)
		}
		if n := len(b.Series("c")); n > 5 {
			t.Errorf("%d series past a limit of 4 + overflow", n)
		}
	})
}

var (
	nameGrammar  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$`)
	labelGrammar = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
)

// FuzzValidName checks the name validator against the documented grammar
// and that a valid name always declares.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a", "http.server.request.duration", "a..b", ".a", "a.", "1a", "a-b", "ä", "a_1.B_2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := len(name) <= 255 && nameGrammar.MatchString(name)
		if got := metrics.ValidName(name); got != want {
			t.Fatalf("ValidName(%q) = %v, grammar says %v", name, got, want)
		}
		reg := metrics.New(metrics.Discard())
		_, err := reg.NewHistogram(metrics.Opts{Name: name, Labels: []string{"x"}})
		if (err == nil) != want {
			t.Fatalf("NewHistogram(%q) err = %v, valid = %v", name, err, want)
		}
		wantLabel := len(name) <= 255 && labelGrammar.MatchString(name) &&
			!strings.HasPrefix(name, "__") && name != "le" && name != "quantile"
		_, err = metrics.New(metrics.Discard()).NewCounter(metrics.Opts{Name: "n", Labels: []string{name}})
		if (err == nil) != wantLabel {
			t.Fatalf("label %q: err = %v, valid = %v", name, err, wantLabel)
		}
	})
}
