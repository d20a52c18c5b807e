package itest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
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

// PromQuery runs an instant PromQL query against the Prometheus HTTP API
// at base and returns its vector.
func PromQuery(base, promql string) ([]PromSample, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(base + "/api/v1/query?" + url.Values{"query": {promql}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string       `json:"resultType"`
			Result     []PromSample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("query %s: %s: %w", promql, resp.Status, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", promql, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %s, want vector", promql, r.Data.ResultType)
	}
	return r.Data.Result, nil
}
