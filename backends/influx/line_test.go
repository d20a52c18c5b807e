package influx

import (
	"bytes"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/influxdata/influxdb1-client/models"
	client "github.com/influxdata/influxdb1-client/v2"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

// libraryLine is the line the client library's v2 Point writes for the
// same series and fields.
func libraryLine(t testing.TB, d *metrics.Desc, lv []string, fields []field, now time.Time, precision string) string {
	t.Helper()
	tags := map[string]string{}
	for _, l := range d.ConstLabels {
		if l.Value != "" {
			tags[l.Name] = SanitizeTagValue(l.Value)
		}
	}
	for i, n := range d.Labels {
		if lv[i] != "" {
			tags[n] = SanitizeTagValue(lv[i])
		}
	}
	fm := map[string]any{}
	for _, f := range fields {
		fm[f.key] = f.v
	}
	p, err := client.NewPoint(d.FullName("."), tags, fm, now)
	if err != nil {
		t.Fatalf("client.NewPoint: %v", err)
	}
	return p.PrecisionString(precision)
}

func TestLineMatchesClientLibrary(t *testing.T) {
	now := time.Unix(1700000000, 123456789)
	d := &metrics.Desc{Kind: metrics.KindHistogram, Namespace: "addsvc", Name: "request.duration",
		Labels: []string{"method", "route"}, ConstLabels: []metrics.Label{{Name: "host", Value: "a b,c=d"}}}
	fields := []field{{"count", 3}, {"max", 2.5}, {"min", 1e-9}, {"p50", 1}, {"p90", 2}, {"p95", 2.25}, {"p99", 2.5}, {"sum", 123456789.125}}
	for _, lv := range append([][]string{{"GET", "/a"}, {"", "/b"}}, func() [][]string {
		var out [][]string
		for _, v := range backendtest.AwkwardLabelValues() {
			out = append(out, []string{v, `x\`})
		}
		return out
	}()...) {
		for _, prec := range []string{"ns", "u", "ms", "s", "m", "h"} {
			mult := models.GetPrecisionMultiplier(prec)
			got, ok := appendPoint(nil, seriesKey(d, lv), fields, now, mult)
			if !ok {
				t.Fatal("no fields")
			}
			if want := libraryLine(t, d, lv, fields, now, prec); string(got) != want {
				t.Errorf("labels %q precision %s:\n got %s\nwant %s", lv, prec, got, want)
			}
		}
	}
}

func TestLineParsesBackToOnePoint(t *testing.T) {
	d := &metrics.Desc{Kind: metrics.KindCounter, Name: "requests", Labels: []string{"value"}}
	for _, v := range append(backendtest.AwkwardLabelValues(), `end\`, `a\,b`, `a\ b`, `a\=b`, "tab\there", "\r\n", `\\`) {
		line, _ := appendPoint(nil, seriesKey(d, []string{v}), []field{{"count", 1}}, time.Unix(1, 0), 1)
		pts, err := models.ParsePointsString(string(line))
		if err != nil {
			t.Errorf("%q: %s does not parse: %v", v, line, err)
			continue
		}
		if len(pts) != 1 {
			t.Errorf("%q: %d points, want 1", v, len(pts))
			continue
		}
		tags := pts[0].Tags()
		if len(tags) != 1 || string(tags[0].Key) != "value" || string(tags[0].Value) != SanitizeTagValue(v) {
			t.Errorf("%q: tags %v, want value=%q", v, tags, SanitizeTagValue(v))
		}
	}
}

func TestNaNFieldsAreLeftOut(t *testing.T) {
	line, ok := appendPoint(nil, "m", []field{{"a", math.NaN()}, {"b", 1}, {"c", math.Inf(1)}}, time.Unix(0, 5), 1)
	if !ok || string(line) != "m b=1 5" {
		t.Fatalf("line %q, %v", line, ok)
	}
	if _, ok := appendPoint(nil, "m", []field{{"a", math.NaN()}}, time.Unix(0, 5), 1); ok {
		t.Fatal("a point with only NaN fields was written")
	}
}

func FuzzSanitizeTagValue(f *testing.F) {
	for _, v := range backendtest.AwkwardLabelValues() {
		f.Add(v)
	}
	f.Add(`x\`)
	f.Add(`\,\ \=`)
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return // the Registry passes only valid UTF-8
		}
		d := &metrics.Desc{Kind: metrics.KindGauge, Name: "g", Labels: []string{"k"}}
		line, _ := appendPoint(nil, seriesKey(d, []string{v}), []field{{"value", 1}}, time.Unix(1, 0), 1)
		if bytes.Count(line, []byte{'\n'}) != 0 {
			t.Fatalf("%q: line break in %q", v, line)
		}
		pts, err := models.ParsePointsString(string(line))
		if err != nil || len(pts) != 1 {
			t.Fatalf("%q: %q parses to %d points, %v", v, line, len(pts), err)
		}
		want := SanitizeTagValue(v)
		got := pts[0].Tags().GetString("k")
		if v == "" {
			want = ""
		}
		if got != want {
			t.Fatalf("%q: tag reads back %q, want %q", v, got, want)
		}
		if fv, err := pts[0].Fields(); err != nil || len(fv) != 1 || fv["value"] != 1.0 {
			t.Fatalf("%q: fields %v, %v", v, fv, err)
		}
	})
}
