package circonus

import (
	"context"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

func TestMetricName(t *testing.T) {
	d := &metrics.Desc{Kind: metrics.KindCounter, Namespace: "addsvc", Name: "requests", Labels: []string{"method", "code"},
		ConstLabels: []metrics.Label{{Name: "host", Value: "web-1"}}}
	for _, c := range []struct {
		lv   []string
		want string
	}{
		{[]string{"GET", "200"}, "addsvc.requests|ST[code:200,host:web-1,method:GET]"},
		{[]string{"", "200"}, "addsvc.requests|ST[code:200,host:web-1,method:]"},
		{[]string{"a,b", "x y"}, `addsvc.requests|ST[code:b"eCB5",host:web-1,method:b"YSxi"]`},
		{[]string{"ü", "1:2]"}, `addsvc.requests|ST[code:b"MToyXQ==",host:web-1,method:b"w7w="]`},
	} {
		if got := metricName(d, c.lv); got != c.want {
			t.Errorf("%q: %s, want %s", c.lv, got, c.want)
		}
	}
	if got := metricName(&metrics.Desc{Name: "plain"}, nil); got != "plain" {
		t.Errorf("no labels: %s", got)
	}
}

func FuzzTagValue(f *testing.F) {
	for _, v := range backendtest.AwkwardLabelValues() {
		f.Add(v)
	}
	f.Add(`b"x"`)
	f.Add("]|ST[")
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return
		}
		d := &metrics.Desc{Kind: metrics.KindGauge, Name: "g", Labels: []string{"k", "z"}}
		name, tags, err := parseName(metricName(d, []string{v, "last"}))
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if name != "g" || len(tags) != 2 || tags["k"] != v || tags["z"] != "last" {
			t.Fatalf("%q: read back %s %q", v, name, tags)
		}
	})
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []Options{
		{},
		{URL: "ftp://x/y"},
		{URL: "http://x/y", FlushInterval: -1},
		{URL: "http://x/y", Timeout: -1},
	} {
		if _, err := New(o); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", o, err)
		}
	}
	b, err := New(Options{URL: "https://127.0.0.1:9/module/httptrap/x/y"})
	if err != nil {
		t.Fatal(err)
	}
	b.Close(context.Background())
}
