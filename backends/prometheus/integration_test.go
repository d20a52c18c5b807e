package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
)

// scrapeTarget is where the integration test serves Handler; the server
// that scripts/servers/prometheus.sh starts scrapes it every second as
// job "obskit".
const scrapeTarget = itest.ScrapeTarget

// scrapeWait bounds how long a test waits for Prometheus to scrape what
// it recorded: a scrape a second, the first ~5 s after the server starts.
const scrapeWait = 30 * time.Second

// TestIntegration records the conformance workload, serves it to a real
// Prometheus and reads it back through the HTTP query API.
func TestIntegration(t *testing.T) {
	base := itest.URL(t, "prometheus", "http://127.0.0.1:19090", "/-/ready")
	b := newBackend(t, Options{})
	serveTarget(t, b)
	api := &promAPI{base: base, client: &http.Client{Timeout: 5 * time.Second}}

	t.Run("conformance", func(t *testing.T) {
		backendtest.Run(t, backendtest.Harness{
			New: func(*testing.T) metrics.Backend { return b },
			Collect: func(t *testing.T, _ metrics.Backend, descs []*metrics.Desc) backendtest.Reader {
				api.awaitScrape(t, b, descs[0].Namespace)
				return api
			},
			CheckQuantile: backendtest.WithinBucket(metrics.DefaultBuckets()),
			Collisions:    [][2]string{{"a.b", "a_b"}},
		})
	})

	t.Run("exemplar", func(t *testing.T) {
		ns := fmt.Sprintf("ex%08x", rand.Uint32())
		h, err := metrics.New(b, metrics.WithNamespace(ns)).NewHistogram(metrics.Opts{
			Name: "rpc.duration", Help: "RPC latency.", Unit: metrics.UnitSeconds, Labels: []string{"rpc.method"}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(-time.Minute)
		ctx, tid := sampled(t)
		h.With("rpc.method", "Sum").(metrics.ContextObserver).ObserveContext(ctx, 0.3)
		api.awaitScrape(t, b, ns)
		name := metricName(h.Desc()) + "_bucket"
		var got string
		deadline := time.Now().Add(scrapeWait)
		for time.Now().Before(deadline) {
			got, err = api.exemplarTraceID(name, start)
			if err != nil {
				t.Fatal(err)
			}
			if got != "" {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if got != tid {
			t.Errorf("exemplar trace_id of %s = %q, want %q (is exemplar storage on? scripts/servers/prometheus.sh enables it)", name, got, tid)
		}
	})
}

// TestIntegrationPromtool lints a text exposition holding every kind,
// units from the naming table, dotted and awkward labels with promtool, which ships with
// Debian's prometheus package. Parse errors and lint problems both fail.
func TestIntegrationPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool not found; install it with `scripts/backend up prometheus` (Debian's prometheus package)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b := newBackend(t, Options{NativeHistograms: true})
	reg := metrics.New(b, metrics.WithNamespace("addsvc"),
		metrics.WithConstLabels(map[string]string{"service.name": "addsvc"}))
	ctx, _ := sampled(t)
	for _, o := range []metrics.Opts{
		{Name: "requests", Help: "Requests.", Unit: "{request}", Labels: []string{"http.request.method", "value"}},
		{Name: "sent", Help: "Bytes sent.", Unit: metrics.UnitBytes},
		{Name: "errors", Help: "Errors.", Unit: metrics.UnitRatio},
	} {
		c, err := reg.NewCounter(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range backendtest.AwkwardLabelValues() {
			c.With("http.request.method", "GET", "value", v).Add(1)
		}
	}
	for _, o := range []metrics.Opts{
		{Name: "cpu.usage", Help: "CPU in use.", Unit: metrics.UnitRatio},
		{Name: "heap", Help: "Heap in use.", Unit: metrics.UnitBytes},
		{Name: "queue.depth", Help: "Queued jobs."},
	} {
		g, err := reg.NewGauge(o)
		if err != nil {
			t.Fatal(err)
		}
		g.Set(-0.5)
	}
	for _, o := range []metrics.Opts{
		{Name: "http.server.request.duration", Help: "Latency.", Unit: metrics.UnitSeconds, Labels: []string{"http.route"}},
		{Name: "body.size", Help: "Body sizes.", Unit: metrics.UnitBytes, Buckets: []float64{100, 1000, 10000}},
	} {
		h, err := reg.NewHistogram(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range backendtest.HistogramValues(100) {
			h.ObserveContext(ctx, v)
		}
	}
	body := scrape(t, b.Handler(), "")

	tctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(tctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\non:\n%s", err, out, body)
	}
}

func serveTarget(t *testing.T, b *Backend) {
	t.Helper()
	itest.ServeScrapeTarget(t, b.Handler(), 2*time.Minute)
}

// promAPI reads back through Prometheus' HTTP API. It is a
// backendtest.Reader.
type promAPI struct {
	base   string
	client *http.Client
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() (float64, error) {
	v, ok := s.Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("value %v is not a string", s.Value[1])
	}
	return strconv.ParseFloat(v, 64)
}

func (a *promAPI) get(path string, q url.Values, data any) error {
	resp, err := a.client.Get(a.base + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s %v: %s", path, q, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// query returns the samples of an instant PromQL query.
func (a *promAPI) query(promql string) ([]sample, error) {
	var data struct {
		ResultType string   `json:"resultType"`
		Result     []sample `json:"result"`
	}
	if err := a.get("/api/v1/query", url.Values{"query": {promql}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", promql, data.ResultType)
	}
	return data.Result, nil
}

// awaitScrape sets a marker gauge in namespace ns to a new value and
// waits until Prometheus holds it: one scrape gathers everything, so
// everything recorded before is then readable.
func (a *promAPI) awaitScrape(t *testing.T, b *Backend, ns string) {
	t.Helper()
	g, err := metrics.New(b, metrics.WithNamespace(ns)).NewGauge(metrics.Opts{Name: "collect.marker", Help: "Set by the integration test before it reads back."})
	if err != nil {
		t.Fatal(err)
	}
	want := float64(rand.IntN(1 << 30))
	g.Set(want)
	q := metricName(g.Desc()) + `{job="obskit"}`
	deadline := time.Now().Add(scrapeWait)
	var last string
	for time.Now().Before(deadline) {
		s, err := a.query(q)
		switch {
		case err != nil:
			last = err.Error()
		case len(s) == 1:
			if v, err := s[0].float(); err == nil && v == want {
				return
			}
			last = fmt.Sprintf("%v", s[0].Value)
		default:
			last = fmt.Sprintf("%d series", len(s))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Prometheus did not scrape %s within %v (last: %s); is it scraping %s? see %s/targets", q, scrapeWait, last, scrapeTarget, a.base)
}

// seriesOf returns the samples of promql whose declared labels are labels.
func (a *promAPI) seriesOf(d *metrics.Desc, promql string, labels map[string]string) (sample, error) {
	s, err := a.query(promql)
	if err != nil {
		return sample{}, err
	}
	for _, x := range s {
		if maps(a.declared(d, x.Metric), labels) {
			return x, nil
		}
	}
	return sample{}, fmt.Errorf("%s: no series with %q among %d", promql, labels, len(s))
}

func (a *promAPI) declared(d *metrics.Desc, m map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range d.Labels {
		if v, ok := m[labelName(l)]; ok {
			out[l] = v
		}
	}
	return out
}

func selector(name string) string { return name + `{job="obskit"}` }

func (a *promAPI) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	s, err := a.seriesOf(d, selector(metricName(d)), labels)
	if err != nil {
		return 0, err
	}
	return s.float()
}

func (a *promAPI) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	name := metricName(d)
	cs, err := a.seriesOf(d, selector(name+"_count"), labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	count, err := cs.float()
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	ss, err := a.seriesOf(d, selector(name+"_sum"), labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	sum, err := ss.float()
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	return backendtest.HistogramReading{Count: uint64(count), Sum: sum, Quantile: func(q float64) (float64, error) {
		s, err := a.seriesOf(d, fmt.Sprintf("histogram_quantile(%g, %s)", q, selector(name+"_bucket")), labels)
		if err != nil {
			return 0, err
		}
		return s.float()
	}}, nil
}

func (a *promAPI) Series(d *metrics.Desc) ([]map[string]string, error) {
	s, err := a.query(selector(metricName(d)))
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, x := range s {
		out = append(out, a.declared(d, x.Metric))
	}
	return out, nil
}

// exemplarTraceID returns the trace_id of the newest exemplar stored for
// the series named name since start, or "" when there is none yet.
func (a *promAPI) exemplarTraceID(name string, start time.Time) (string, error) {
	var data []struct {
		Exemplars []struct {
			Labels    map[string]string `json:"labels"`
			Timestamp float64           `json:"timestamp"`
		} `json:"exemplars"`
	}
	q := url.Values{
		"query": {selector(name)},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)},
	}
	if err := a.get("/api/v1/query_exemplars", q, &data); err != nil {
		return "", err
	}
	var id string
	var newest float64
	for _, s := range data {
		for _, e := range s.Exemplars {
			if e.Timestamp >= newest {
				id, newest = e.Labels["trace_id"], e.Timestamp
			}
		}
	}
	return id, nil
}
