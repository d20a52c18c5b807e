package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestBinary builds addsvc, runs it on a loopback port, sends requests
// (some failing), then checks /metrics, /debug/vars, the JSON logs and,
// after SIGTERM, the flushed spans: what a newcomer running the README's
// first command sees.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "addsvc")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	spans := filepath.Join(dir, "spans.json")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-grpc.addr", "127.0.0.1:0", "-spans", spans)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	logs := make(chan map[string]any, 100)
	go func() {
		defer close(logs)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			logs <- rec
		}
	}()
	var base string
	select {
	case rec := <-logs:
		if rec["msg"] != "listening" {
			t.Fatalf("first log line = %v, want listening", rec)
		}
		base = "http://" + rec["addr"].(string)
	case <-time.After(30 * time.Second):
		t.Fatal("addsvc did not log its address within 30s")
	}

	calls := []struct {
		path, body string
		status     int
		want       string
	}{
		{"/sum", `{"a":2,"b":3}`, 200, `{"v":5}`},
		{"/sum", `{"a":40,"b":2}`, 200, `{"v":42}`},
		{"/sum", `{"a":0,"b":0}`, 422, `{"error":"can't sum two zeroes"}`},
		{"/concat", `{"a":"ab","b":"cd"}`, 200, `{"v":"abcd"}`},
		{"/concat", `{"a":"abcdefgh","b":"ijk"}`, 422, `{"error":"result exceeds maximum size"}`},
		{"/sum", `not json`, 400, ""},
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, c := range calls {
		resp, err := client.Post(base+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("POST %s %s: status %d, want %d", c.path, c.body, resp.StatusCode, c.status)
		}
		if c.want != "" && strings.TrimSpace(string(body)) != c.want {
			t.Errorf("POST %s %s: body %s, want %s", c.path, c.body, body, c.want)
		}
	}

	families := scrape(t, client, base+"/metrics")
	checks := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Sum", "outcome": "success"}, 2},
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Sum", "outcome": "business_error"}, 1},
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Concat", "outcome": "success"}, 1},
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Concat", "outcome": "business_error"}, 1},
		{"addsvc_service_requests_total", map[string]string{"operation": "Sum", "outcome": "error"}, 1},
		{"addsvc_http_server_request_duration_seconds", map[string]string{"http_route": "/sum", "http_response_status_code": "200", "http_request_method": "POST"}, 2},
		{"addsvc_http_server_request_duration_seconds", map[string]string{"http_route": "/sum", "http_response_status_code": "400", "http_request_method": "POST"}, 1},
		{"addsvc_http_server_request_duration_seconds", map[string]string{"http_route": "/concat", "http_response_status_code": "422", "http_request_method": "POST"}, 1},
	}
	for _, c := range checks {
		if got := value(families, c.family, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, got, c.want)
		}
	}

	resp, err := client.Get(base + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatalf("/debug/vars: %v", err)
	}
	resp.Body.Close()
	var endpointRequests map[string]float64
	if err := json.Unmarshal(vars["addsvc.endpoint.requests"], &endpointRequests); err != nil {
		t.Fatalf("/debug/vars addsvc.endpoint.requests: %v (%s)", err, vars["addsvc.endpoint.requests"])
	}
	if got := endpointRequests["operation=Sum,outcome=success"]; got != 2 {
		t.Errorf("/debug/vars Sum success = %v, want 2", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var traceIDs []string
	for rec := range logs {
		if rec["msg"] == "endpoint call" {
			id, _ := rec["trace_id"].(string)
			if len(id) != 32 {
				t.Errorf("endpoint log without a trace_id: %v", rec)
			}
			traceIDs = append(traceIDs, id)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("addsvc exited with %v after SIGTERM", err)
	}
	if len(traceIDs) != 5 {
		t.Errorf("%d endpoint log lines, want 5 (the bad body never reaches an endpoint)", len(traceIDs))
	}
	exported, err := os.ReadFile(spans)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range traceIDs {
		if !strings.Contains(string(exported), id) {
			t.Errorf("trace %s logged but not in the flushed spans", id)
		}
	}
}

func scrape(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value returns a counter's value or a histogram's count for the series
// of family that has labels.
func value(families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	f, ok := families[family]
	if !ok {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}
