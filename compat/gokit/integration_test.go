package gokit_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
)

// scrapeTarget is where the real Prometheus that scripts/servers/
// prometheus.sh starts scrapes job "obskit", every second.
const scrapeTarget = "127.0.0.1:19101"

// scrapeWait bounds the waits for the scrape target to be free and for
// Prometheus to scrape it.
const scrapeWait = 30 * time.Second

// TestIntegrationPrometheus: the Go kit addsvc-style service, given a
// Provider over obskit's Prometheus backend, is scraped by a real
// Prometheus, and its values read back through PromQL are the values
// recorded.
func TestIntegrationPrometheus(t *testing.T) {
	base := itest.URL(t, "prometheus", "http://127.0.0.1:19090", "/-/ready")
	b, err := prometheus.New(prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	serveScrapeTarget(t, b.Handler())
	ns := fmt.Sprintf("gokit%08x", rand.Uint32())
	reg := metrics.New(b, metrics.WithNamespace(ns))
	p, err := gokit.NewProvider(reg, gokit.ProviderOptions{Instruments: addsvcInstruments()})
	if err != nil {
		t.Fatal(err)
	}
	ints, chars, calls := exerciseAddsvc(t, newAddsvc(p))
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}

	api := promAPI{base: base, client: &http.Client{Timeout: 5 * time.Second}}
	// One scrape gathers everything: once the marker that was set last
	// is in Prometheus, so is everything recorded before it.
	marker := p.NewGauge("collect.marker")
	want := float64(rand.IntN(1 << 30))
	marker.Set(want)
	api.await(t, ns+`_collect_marker{job="obskit"}`, want)

	for q, want := range map[string]float64{
		ns + `_integers_summed_total{job="obskit"}`:         ints,
		ns + `_characters_concatenated_total{job="obskit"}`: chars,
	} {
		if got, err := api.value(q); err != nil || got != want {
			t.Errorf("%s = %v (%v), want %v", q, got, err, want)
		}
	}
	for k, want := range calls {
		q := fmt.Sprintf(`%s_request_duration_seconds_count{job="obskit",method=%q,success=%q}`, ns, k[0], k[1])
		if got, err := api.value(q); err != nil || got != float64(want) {
			t.Errorf("%s = %v (%v), want %d", q, got, err, want)
		}
	}
}

// serveScrapeTarget serves h at scrapeTarget until the test ends. Other
// packages' integration tests serve there too; it waits for the address
// to be free.
func serveScrapeTarget(t *testing.T, h http.Handler) {
	t.Helper()
	var (
		ln  net.Listener
		err error
	)
	for deadline := time.Now().Add(scrapeWait); ; time.Sleep(200 * time.Millisecond) {
		if ln, err = net.Listen("tcp", scrapeTarget); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve the scrape target %s: %v (another integration test kept it for %v)", scrapeTarget, err, scrapeWait)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// promAPI reads back through Prometheus' HTTP query API.
type promAPI struct {
	base   string
	client *http.Client
}

// value returns the value of the one series an instant query selects.
func (a promAPI) value(promql string) (float64, error) {
	resp, err := a.client.Get(a.base + "/api/v1/query?" + url.Values{"query": {promql}}.Encode())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, fmt.Errorf("%s: %w", resp.Status, err)
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("query %s: %s", promql, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: %d series, want 1", promql, len(r.Data.Result))
	}
	s, ok := r.Data.Result[0].Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("query %s: value %v", promql, r.Data.Result[0].Value)
	}
	return strconv.ParseFloat(s, 64)
}

// await waits until promql has the value want.
func (a promAPI) await(t *testing.T, promql string, want float64) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(scrapeWait); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err := a.value(promql)
		if err == nil && got == want {
			return
		}
		last = err
		if err == nil {
			last = fmt.Errorf("value %v", got)
		}
	}
	t.Fatalf("Prometheus did not scrape %s = %v within %v (last: %v); is it scraping %s? see %s/targets", promql, want, scrapeWait, last, scrapeTarget, a.base)
}
