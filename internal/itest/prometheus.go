package itest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/metrics"
)

// ScrapeTarget is the address that the Prometheus started by
// scripts/servers/prometheus.sh scrapes every second, as job "obskit".
const ScrapeTarget = "127.0.0.1:19101"

// ServeScrapeTarget serves h as /metrics on ScrapeTarget until the test
// ends. Every package's integration tests share the address, and
// `go test ./...` runs packages at once, in separate processes: the port
// itself is the lock. While another test holds it, ServeScrapeTarget
// waits, up to wait, then fails the test.
func ServeScrapeTarget(t testing.TB, h http.Handler, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	var ln net.Listener
	for {
		var err error
		ln, err = net.Listen("tcp", ScrapeTarget)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve the scrape target %s: %v (waited %v for other integration tests to release it)", ScrapeTarget, err, wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// PromSample is one series of an instant query's result.
type PromSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// Float returns the sample's value.
func (s PromSample) Float() (float64, error) {
	v, ok := s.Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("value %v is not a string", s.Value[1])
	}
	return strconv.ParseFloat(v, 64)
}

// PromGet calls the Prometheus HTTP API at base (path such as
// "/api/v1/query_exemplars", with the query parameters q) and decodes the
// "data" of a successful answer into data.
func PromGet(base, path string, q url.Values, data any) error {
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := GetJSON(&http.Client{Timeout: 5 * time.Second}, base+path+"?"+q.Encode(), &r); err != nil {
		return err
	}
	if r.Status != "success" {
		return fmt.Errorf("%s %v: %s", path, q, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// PromQuery runs an instant PromQL query against the Prometheus HTTP API
// at base and returns its vector.
func PromQuery(base, promql string) ([]PromSample, error) {
	var data struct {
		ResultType string       `json:"resultType"`
		Result     []PromSample `json:"result"`
	}
	if err := PromGet(base, "/api/v1/query", url.Values{"query": {promql}}, &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", promql, err)
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", promql, data.ResultType)
	}
	return data.Result, nil
}

// PromReader is a backendtest.Reader over the Prometheus HTTP API at
// Base: it reads back, with instant queries, the series that Prometheus
// scraped as job Job.
type PromReader struct {
	Base string
	Job  string
	// Name returns the name under which Prometheus holds d's series (a
	// histogram's without the _bucket, _count and _sum suffixes).
	Name func(d *metrics.Desc) string
	// Label returns the name under which Prometheus holds a declared
	// label.
	Label func(name string) string
}

var _ backendtest.Reader = PromReader{}

// Selector returns the PromQL selector of the series name of r's job.
func (r PromReader) Selector(name string) string { return name + `{job="` + r.Job + `"}` }

// Await queries promql until it returns one sample whose value is want,
// for up to wait, and otherwise returns an error saying what it last saw.
func (r PromReader) Await(promql string, want float64, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var last string
	for time.Now().Before(deadline) {
		s, err := PromQuery(r.Base, promql)
		switch {
		case err != nil:
			last = err.Error()
		case len(s) == 1:
			if v, err := s[0].Float(); err == nil && v == want {
				return nil
			}
			last = fmt.Sprintf("%v", s[0].Value)
		default:
			last = fmt.Sprintf("%d series", len(s))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not read %v within %v (last: %s); see %s/targets", promql, want, wait, last, r.Base)
}

// AwaitMarker sets a marker gauge in namespace ns of b to a new value,
// calls export (nil for a backend that Prometheus scrapes), and waits up
// to wait until Prometheus holds the marker, failing the test otherwise.
// Everything recorded into b before is then readable, when the marker
// arrives with it: in one scrape, or last in one export.
func (r PromReader) AwaitMarker(t testing.TB, b metrics.Backend, ns string, export func() error, wait time.Duration) {
	t.Helper()
	g, err := metrics.New(b, metrics.WithNamespace(ns)).NewGauge(metrics.Opts{Name: "collect.marker", Help: "Set by the integration test before it reads back."})
	if err != nil {
		t.Fatal(err)
	}
	want := float64(rand.IntN(1 << 30))
	g.Set(want)
	if export != nil {
		if err := export(); err != nil {
			t.Fatalf("export the marker: %v", err)
		}
	}
	if err := r.Await(r.Selector(r.Name(g.Desc())), want, wait); err != nil {
		t.Fatalf("Prometheus did not get the marker of job %q: %v", r.Job, err)
	}
}

// declared returns the declared labels of d among a series' labels m.
func (r PromReader) declared(d *metrics.Desc, m map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range d.Labels {
		if v, ok := m[r.Label(l)]; ok {
			out[l] = v
		}
	}
	return out
}

// seriesOf returns the sample of promql whose declared labels are labels.
func (r PromReader) seriesOf(d *metrics.Desc, promql string, labels map[string]string) (PromSample, error) {
	s, err := PromQuery(r.Base, promql)
	if err != nil {
		return PromSample{}, err
	}
	for _, x := range s {
		if maps.Equal(r.declared(d, x.Metric), labels) {
			return x, nil
		}
	}
	return PromSample{}, fmt.Errorf("%s: no series with %q among %d", promql, labels, len(s))
}

// read returns the value of the sample of promql whose declared labels
// are labels.
func (r PromReader) read(d *metrics.Desc, promql string, labels map[string]string) (float64, error) {
	s, err := r.seriesOf(d, promql, labels)
	if err != nil {
		return 0, err
	}
	return s.Float()
}

// Value implements backendtest.Reader.
func (r PromReader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	return r.read(d, r.Selector(r.Name(d)), labels)
}

// Histogram implements backendtest.Reader: count and sum from the
// _count and _sum series, quantiles by histogram_quantile over _bucket.
func (r PromReader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	name := r.Name(d)
	count, err := r.read(d, r.Selector(name+"_count"), labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	sum, err := r.read(d, r.Selector(name+"_sum"), labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	return backendtest.HistogramReading{Count: uint64(count), Sum: sum, Quantile: func(q float64) (float64, error) {
		return r.read(d, fmt.Sprintf("histogram_quantile(%g, %s)", q, r.Selector(name+"_bucket")), labels)
	}}, nil
}

// Series implements backendtest.Reader.
func (r PromReader) Series(d *metrics.Desc) ([]map[string]string, error) {
	s, err := PromQuery(r.Base, r.Selector(r.Name(d)))
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, x := range s {
		out = append(out, r.declared(d, x.Metric))
	}
	return out, nil
}
