package prometheus

import (
	"context"
	"fmt"
	"math/rand/v2"
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

// scrapeWait bounds how long a test waits for Prometheus to scrape what
// it recorded: a scrape a second, the first ~5 s after the server starts.
const scrapeWait = 30 * time.Second

// TestIntegration records the conformance workload, serves it to a real
// Prometheus and reads it back through the HTTP query API.
func TestIntegration(t *testing.T) {
	base := itest.URL(t, "prometheus", "http://127.0.0.1:19090", "/-/ready")
	b := newBackend(t, Options{})
	serveTarget(t, b)
	api := itest.PromReader{Base: base, Job: "obskit", Name: metricName, Label: labelName}

	t.Run("conformance", func(t *testing.T) {
		backendtest.Run(t, backendtest.Harness{
			New: func(*testing.T) metrics.Backend { return b },
			Collect: func(t *testing.T, _ metrics.Backend, descs []*metrics.Desc) backendtest.Reader {
				api.AwaitMarker(t, b, descs[0].Namespace, nil, scrapeWait)
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
		api.AwaitMarker(t, b, ns, nil, scrapeWait)
		name := metricName(h.Desc()) + "_bucket"
		var got string
		deadline := time.Now().Add(scrapeWait)
		for time.Now().Before(deadline) {
			got, err = exemplarTraceID(api, name, start)
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

// exemplarTraceID returns the trace_id of the newest exemplar stored for
// the series named name since start, or "" when there is none yet.
func exemplarTraceID(api itest.PromReader, name string, start time.Time) (string, error) {
	var data []struct {
		Exemplars []struct {
			Labels    map[string]string `json:"labels"`
			Timestamp float64           `json:"timestamp"`
		} `json:"exemplars"`
	}
	q := url.Values{
		"query": {api.Selector(name)},
		"start": {strconv.FormatInt(start.Unix(), 10)},
		"end":   {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)},
	}
	if err := itest.PromGet(api.Base, "/api/v1/query_exemplars", q, &data); err != nil {
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
