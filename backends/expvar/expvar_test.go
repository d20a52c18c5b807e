package expvar_test

import (
	"encoding/json"
	"errors"
	stdexpvar "expvar"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

func newBackend(t *testing.T) *expvar.Backend {
	t.Helper()
	b, err := expvar.New(expvar.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uniqueNamespace keeps tests apart in expvar's process-global registry.
func uniqueNamespace(prefix string) string {
	return fmt.Sprintf("%s%08x", prefix, rand.Uint32())
}

// serve starts a real loopback HTTP server for b's handler.
func serve(t *testing.T, b *expvar.Backend) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(b.Handler())
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("server at %s, want loopback 127.0.0.1", srv.URL)
	}
	return srv
}

// scrape fetches /debug/vars and returns each variable's raw JSON.
func scrape(t *testing.T, srv *httptest.Server) map[string]json.RawMessage {
	t.Helper()
	resp, err := http.Get(srv.URL + "/debug/vars")
	if err != nil {
		t.Fatalf("GET /debug/vars: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /debug/vars: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /debug/vars: %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var vars map[string]json.RawMessage
	if err := json.Unmarshal(body, &vars); err != nil {
		t.Fatalf("/debug/vars is not a JSON object: %v", err)
	}
	return vars
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) metrics.Backend { return newBackend(t) },
		Collect: func(t *testing.T, b metrics.Backend, _ []*metrics.Desc) backendtest.Reader {
			return reader{scrape(t, serve(t, b.(*expvar.Backend)))}
		},
		CheckQuantile: func(q, exact, got float64) error {
			t.Logf("p%v over HTTP: exact %.6g, read %.6g, relative error %.3f%%", q*100, exact, got, 100*math.Abs(got-exact)/exact)
			return backendtest.RelativeError(0.01)(q, exact, got)
		},
	})
}

// reader reads the suite's instruments back from one scrape of
// /debug/vars, parsing series keys with ParseKey.
type reader struct{ vars map[string]json.RawMessage }

// series returns the raw JSON of each series of d by its declared labels,
// after checking that each key carries d's const labels first.
func (r reader) series(d *metrics.Desc) (map[string]json.RawMessage, map[string]map[string]string, error) {
	raw, ok := r.vars[d.FullName(".")]
	if !ok {
		return nil, nil, fmt.Errorf("%q not published", d.FullName("."))
	}
	var byKey map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byKey); err != nil {
		return nil, nil, fmt.Errorf("%q: %v", d.FullName("."), err)
	}
	values := map[string]json.RawMessage{}
	labels := map[string]map[string]string{}
	for key, v := range byKey {
		ls, err := expvar.ParseKey(key)
		if err != nil {
			return nil, nil, err
		}
		if len(ls) != len(d.ConstLabels)+len(d.Labels) {
			return nil, nil, fmt.Errorf("key %q has %d labels, want %d", key, len(ls), len(d.ConstLabels)+len(d.Labels))
		}
		m := map[string]string{}
		for i, l := range ls {
			if i < len(d.ConstLabels) {
				if l != d.ConstLabels[i] {
					return nil, nil, fmt.Errorf("key %q: label %d is %v, want const label %v", key, i, l, d.ConstLabels[i])
				}
				continue
			}
			if want := d.Labels[i-len(d.ConstLabels)]; l.Name != want {
				return nil, nil, fmt.Errorf("key %q: label %d is %q, want %q", key, i, l.Name, want)
			}
			m[l.Name] = l.Value
		}
		id := canonical(m)
		values[id], labels[id] = v, m
	}
	return values, labels, nil
}

func canonical(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func (r reader) lookup(d *metrics.Desc, labels map[string]string) (json.RawMessage, error) {
	values, _, err := r.series(d)
	if err != nil {
		return nil, err
	}
	v, ok := values[canonical(labels)]
	if !ok {
		return nil, fmt.Errorf("no series %v of %q", labels, d.FullName("."))
	}
	return v, nil
}

func (r reader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	raw, err := r.lookup(d, labels)
	if err != nil {
		return 0, err
	}
	var v *float64
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return 0, fmt.Errorf("value %s is not a number: %v", raw, err)
	}
	return *v, nil
}

type histogramJSON struct {
	Count              *uint64
	Sum, Min, Max      *float64
	P50, P90, P95, P99 *float64
}

func (r reader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	raw, err := r.lookup(d, labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	var h histogramJSON
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return backendtest.HistogramReading{}, fmt.Errorf("histogram %s: %v", raw, err)
	}
	if h.Count == nil || h.Sum == nil {
		return backendtest.HistogramReading{}, fmt.Errorf("histogram %s lacks count or sum", raw)
	}
	qs := map[float64]*float64{0.5: h.P50, 0.9: h.P90, 0.95: h.P95, 0.99: h.P99}
	return backendtest.HistogramReading{Count: *h.Count, Sum: *h.Sum, Quantile: func(q float64) (float64, error) {
		v, ok := qs[q]
		if !ok || v == nil {
			return 0, fmt.Errorf("no quantile %v in %s", q, raw)
		}
		return *v, nil
	}}, nil
}

func (r reader) Series(d *metrics.Desc) ([]map[string]string, error) {
	_, labels, err := r.series(d)
	if err != nil {
		return nil, err
	}
	return slices.Collect(maps.Values(labels)), nil
}

// TestJSON pins the documented JSON form byte for byte.
func TestJSON(t *testing.T) {
	ns := uniqueNamespace("json")
	b := newBackend(t)
	reg := metrics.New(b, metrics.WithNamespace(ns), metrics.WithConstLabels(map[string]string{"zone": `eu,1`, "env": "prod"}))
	bare := metrics.New(b, metrics.WithNamespace(ns+".bare"))

	c, err := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method", "path"}})
	if err != nil {
		t.Fatal(err)
	}
	c.With("method", "GET", "path", `/a=b,c\d`).Add(3)
	c.With("method", "POST", "path", "new\nline \"q\"").Add(0.5)
	g, err := bare.NewGauge(metrics.Opts{Name: "level"})
	if err != nil {
		t.Fatal(err)
	}
	g.Set(-1e-7)
	big, err := bare.NewGauge(metrics.Opts{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	big.Set(1e308)
	big.Add(1e308)
	h, err := bare.NewHistogram(metrics.Opts{Name: "latency", Labels: []string{"route"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{1, 2, 3, 4} {
		h.With("route", "/x").Observe(v)
	}
	// The registry binds a series on its first record, so an empty one
	// is made on the backend directly.
	fam, err := b.DeclareHistogram(&metrics.Desc{Kind: metrics.KindHistogram, Namespace: ns, Name: "empty", Labels: []string{"route"}})
	if err != nil {
		t.Fatal(err)
	}
	fam.Bind([]string{"/empty"})

	vars := scrape(t, serve(t, b))
	tests := []struct{ name, want string }{
		{ns + ".requests", `{"env=prod,zone=eu\\,1,method=GET,path=/a\\=b\\,c\\\\d":3,"env=prod,zone=eu\\,1,method=POST,path=new\nline \"q\"":0.5}`},
		{ns + ".bare.level", `{"":-1e-07}`},
		{ns + ".bare.big", `{"":null}`},
		{ns + ".bare.latency", `{"route=/x":{"count":4,"sum":10,"min":1,"max":4,"p50":1.994,"p90":4,"p95":4,"p99":4}}`},
		{ns + ".empty", `{"route=/empty":{"count":0,"sum":0,"min":null,"max":null,"p50":null,"p90":null,"p95":null,"p99":null}}`},
	}
	for _, tt := range tests {
		got, ok := vars[tt.name]
		if !ok {
			t.Errorf("%s not served", tt.name)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s =\n %s\nwant\n %s", tt.name, got, tt.want)
		}
	}
}

func TestDuplicatePublish(t *testing.T) {
	ns := uniqueNamespace("dup")
	stdexpvar.NewInt(ns + ".taken")
	b := newBackend(t)
	tests := []struct {
		name    string
		declare func() error
	}{
		{"name published by other code", func() error {
			_, err := metrics.New(b, metrics.WithNamespace(ns)).NewCounter(metrics.Opts{Name: "taken"})
			return err
		}},
		{"expvar's own memstats", func() error {
			_, err := metrics.New(b).NewGauge(metrics.Opts{Name: "memstats"})
			return err
		}},
		{"same name from a second registry", func() error {
			if _, err := metrics.New(b, metrics.WithNamespace(ns)).NewHistogram(metrics.Opts{Name: "twice"}); err != nil {
				return fmt.Errorf("first declaration failed: %w", err)
			}
			_, err := metrics.New(newBackend(t), metrics.WithNamespace(ns)).NewHistogram(metrics.Opts{Name: "twice"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.declare()
			if !errors.Is(err, expvar.ErrAlreadyPublished) {
				t.Fatalf("error = %v, want ErrAlreadyPublished", err)
			}
			if !errors.Is(err, metrics.ErrConflict) {
				t.Fatalf("error = %v, want one wrapping metrics.ErrConflict", err)
			}
		})
	}
	// The same registry returns its earlier declaration, never a
	// duplicate publish.
	reg := metrics.New(b, metrics.WithNamespace(ns))
	for range 2 {
		if _, err := reg.NewCounter(metrics.Opts{Name: "once"}); err != nil {
			t.Fatalf("identical declaration through one registry: %v", err)
		}
	}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		acc float64
		ok  bool
	}{{0, true}, {0.001, true}, {0.5, true}, {-0.01, false}, {1, false}, {2, false}}
	for _, tt := range tests {
		_, err := expvar.New(expvar.Options{RelativeAccuracy: tt.acc})
		if (err == nil) != tt.ok {
			t.Errorf("New(RelativeAccuracy %v) error = %v, want ok %v", tt.acc, err, tt.ok)
		}
		if err != nil && !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("New(RelativeAccuracy %v) error = %v, want ErrInvalidOption", tt.acc, err)
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		consts []metrics.Label
		labels []string
		values []string
		key    string
	}{
		{"none", nil, nil, nil, ""},
		{"one", nil, []string{"a"}, []string{"x"}, "a=x"},
		{"empty value", nil, []string{"a", "b"}, []string{"", ""}, "a=,b="},
		{"const first", []metrics.Label{{Name: "env", Value: "p"}}, []string{"a"}, []string{"x"}, "env=p,a=x"},
		{"escapes", nil, []string{"a", "b"}, []string{`,=\`, `x\,y`}, `a=\,\=\\,b=x\\\,y`},
		{"trailing backslash", nil, []string{"a"}, []string{`x\`}, `a=x\\`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := expvar.FormatKey(tt.consts, tt.labels, tt.values)
			if key != tt.key {
				t.Errorf("FormatKey = %q, want %q", key, tt.key)
			}
			got, err := expvar.ParseKey(key)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tt.consts)
			for i, l := range tt.labels {
				want = append(want, metrics.Label{Name: l, Value: tt.values[i]})
			}
			if !slices.Equal(got, want) {
				t.Errorf("ParseKey = %v, want %v", got, want)
			}
		})
	}
	for _, v := range backendtest.AwkwardLabelValues() {
		key := expvar.FormatKey(nil, []string{"v", "w"}, []string{v, v})
		got, err := expvar.ParseKey(key)
		if err != nil || len(got) != 2 || got[0].Value != v || got[1].Value != v {
			t.Errorf("ParseKey(FormatKey(%q)) = %v, %v", v, got, err)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	for _, key := range []string{"x", "=x", "a=x,", `a=x\`, `a=\q`, "a=b=c", `a\b=c`, "a=x,,b=y"} {
		if got, err := expvar.ParseKey(key); !errors.Is(err, expvar.ErrBadKey) {
			t.Errorf("ParseKey(%q) = %v, %v, want ErrBadKey", key, got, err)
		}
	}
}

func FuzzKey(f *testing.F) {
	for _, v := range backendtest.AwkwardLabelValues() {
		f.Add(v, `\`+v)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		key := expvar.FormatKey([]metrics.Label{{Name: "c", Value: b}}, []string{"a", "b"}, []string{a, b})
		got, err := expvar.ParseKey(key)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", key, err)
		}
		if len(got) != 3 || got[0].Value != b || got[1].Value != a || got[2].Value != b {
			t.Fatalf("ParseKey(%q) = %q", key, got)
		}
		_, _ = expvar.ParseKey(a) // never panics
	})
}

// TestZeroAndNil: the zero Backend works as New(Options{}) does; a nil
// Backend and a nil Desc give errors, never a panic.
func TestZeroAndNil(t *testing.T) {
	ns := uniqueNamespace("zero")
	var zero expvar.Backend
	h, err := metrics.New(&zero, metrics.WithNamespace(ns)).NewHistogram(metrics.Opts{Name: "h"})
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 5; v++ {
		h.Observe(float64(v))
	}
	if got := readHistogram(t, ns+".h", "")["count"]; got != 5.0 {
		t.Errorf("count = %v, want 5", got)
	}
	var nilBackend *expvar.Backend
	rec := httptest.NewRecorder()
	nilBackend.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/vars", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Backend's Handler answered %d, want 404", rec.Code)
	}
	reg := metrics.New(nilBackend, metrics.WithNamespace(ns))
	_, ec := reg.NewCounter(metrics.Opts{Name: "c"})
	_, eg := reg.NewGauge(metrics.Opts{Name: "g"})
	_, eh := reg.NewHistogram(metrics.Opts{Name: "h2"})
	for i, err := range []error{ec, eg, eh} {
		if !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("nil Backend: constructor %d: err = %v, want ErrInvalidOption", i, err)
		}
	}
	for i, err := range []error{
		func() error { _, err := zero.DeclareCounter(nil); return err }(),
		func() error { _, err := zero.DeclareGauge(nil); return err }(),
		func() error { _, err := zero.DeclareHistogram(nil); return err }(),
	} {
		if !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("nil Desc: declaration %d: err = %v, want ErrInvalidOption", i, err)
		}
	}
}

// TestTeeWithExpvarRefusing: expvar refuses "cmdline", which it
// publishes itself; the other backend of the Tee must not keep the
// declaration, whatever order the backends were given in.
func TestTeeWithExpvarRefusing(t *testing.T) {
	for _, order := range []string{"expvar last", "expvar first"} {
		t.Run(order, func(t *testing.T) {
			mem := metricstest.New()
			tee := metrics.Tee(mem, newBackend(t))
			if order == "expvar first" {
				tee = metrics.Tee(newBackend(t), mem)
			}
			_, err := metrics.New(tee).NewGauge(metrics.Opts{Name: "cmdline"})
			if !errors.Is(err, metrics.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict from expvar", err)
			}
			if d := mem.Desc("cmdline"); d != nil {
				t.Fatalf("the in-memory backend kept %+v", d)
			}
			if _, err := metrics.New(mem).NewCounter(metrics.Opts{Name: "cmdline"}); err != nil {
				t.Errorf("a later declaration conflicts with the half-made one: %v", err)
			}
		})
	}
}

// readHistogram returns the JSON members of one histogram series, read
// from the published variable.
func readHistogram(t *testing.T, name, key string) map[string]any {
	t.Helper()
	v := stdexpvar.Get(name)
	if v == nil {
		t.Fatalf("%s not published", name)
	}
	var series map[string]map[string]any
	if err := json.Unmarshal([]byte(v.String()), &series); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return series[key]
}
