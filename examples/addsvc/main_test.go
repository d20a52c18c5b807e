package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	spans := filepath.Join(t.TempDir(), "spans.json")
	cmd, base, logs := start(t, "-spans", spans)

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
		{"/sum", `{"a":1,"b":2,"c":3}`, 400, `{"error":"decode request: json: unknown field \"c\""}`},
		{"/sum", `{"a":1,"b":2} garbage`, 400, `{"error":"decode request: data after the JSON object"}`},
		{"/sum", `{"a":1,"b":2}{"a":3,"b":4}`, 400, `{"error":"decode request: data after the JSON object"}`},
		{"/sum", "{\"a\":1,\"b\":2}\n", 200, `{"v":3}`},
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
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Sum", "outcome": "success"}, 3},
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Sum", "outcome": "business_error"}, 1},
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Concat", "outcome": "success"}, 1},
		{"addsvc_endpoint_requests_total", map[string]string{"operation": "Concat", "outcome": "business_error"}, 1},
		{"addsvc_service_requests_total", map[string]string{"operation": "Sum", "outcome": "error"}, 1},
		{"addsvc_http_server_request_duration_seconds", map[string]string{"http_route": "/sum", "http_response_status_code": "200", "http_request_method": "POST"}, 3},
		{"addsvc_http_server_request_duration_seconds", map[string]string{"http_route": "/sum", "http_response_status_code": "400", "http_request_method": "POST"}, 4},
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
	if got := endpointRequests["operation=Sum,outcome=success"]; got != 3 {
		t.Errorf("/debug/vars Sum success = %v, want 3", got)
	}
	for _, name := range []string{"cmdline", "memstats"} {
		if _, ok := vars[name]; ok {
			t.Errorf("/debug/vars serves the process's %q", name)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var traceIDs []string
	var shutdown, exit map[string]any
	for rec := range logs {
		switch rec["msg"] {
		case "endpoint call":
			id, _ := rec["trace_id"].(string)
			if len(id) != 32 {
				t.Errorf("endpoint log without a trace_id: %v", rec)
			}
			traceIDs = append(traceIDs, id)
		case "tracing shutdown":
			shutdown = rec
		case "exit":
			exit = rec
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("addsvc exited with %v after SIGTERM", err)
	}
	if len(traceIDs) != 6 {
		t.Errorf("%d endpoint log lines, want 6 (the bad bodies never reach an endpoint)", len(traceIDs))
	}
	if shutdown == nil || shutdown["dropped"] != 0.0 || shutdown["exported"].(float64) < 3*6 {
		t.Errorf("tracing shutdown line = %v, want nothing dropped and at least 3 spans per call exported", shutdown)
	}
	if exit == nil || exit["status"] != 0.0 || exit["level"] != "INFO" {
		t.Errorf("exit line = %v, want status 0", exit)
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

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// start builds addsvc once, runs it on a loopback port with args, and
// returns the command, its base URL and its JSON log records.
func start(t *testing.T, args ...string) (*exec.Cmd, string, <-chan map[string]any) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "addsvc-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "addsvc")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	cmd := exec.Command(binPath, append([]string{"-addr", "127.0.0.1:0", "-grpc.addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	logs := make(chan map[string]any, 1000)
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
	select {
	case rec := <-logs:
		if rec["msg"] != "listening" {
			t.Fatalf("first log line = %v, want listening", rec)
		}
		return cmd, "http://" + rec["addr"].(string), logs
	case <-time.After(30 * time.Second):
		t.Fatal("addsvc did not log its address within 30s")
	}
	return nil, "", nil
}

// TestHelp: -h prints the usage and exits 0.
func TestHelp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	start(t) // builds the binary
	out, err := exec.Command(binPath, "-h").CombinedOutput()
	if err != nil {
		t.Errorf("addsvc -h: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-grace") {
		t.Errorf("addsvc -h printed %q, want the usage", out)
	}
}

// TestSIGTERMCutsSlowRequestShort: a SIGTERM while a client trickles a
// request body. After the grace period the request is cut short; its
// span is ended and flushed all the same, and the service logs what it
// cut short and exits 1.
func TestSIGTERMCutsSlowRequestShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	spans := filepath.Join(t.TempDir(), "spans.json")
	cmd, base, logs := start(t, "-spans", spans, "-grace", "300ms")

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /sum HTTP/1.1\r\nHost: addsvc\r\nContent-Type: application/json\r\n"+
		"Traceparent: 00-%s-00f067aa0ba902b7-01\r\nContent-Length: 20\r\n\r\n{\"a\":1,", traceID)
	time.Sleep(200 * time.Millisecond) // the request is in its handler, reading the body

	began := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var cut, exit map[string]any
	for rec := range logs {
		switch rec["msg"] {
		case "grace period over: cutting requests short":
			cut = rec
		case "exit":
			exit = rec
		}
	}
	err = cmd.Wait()
	if elapsed := time.Since(began); elapsed > 5*time.Second {
		t.Errorf("exit took %v after SIGTERM with a 300ms grace period", elapsed)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1 after cutting a request short", err)
	}
	if cut == nil || cut["cut_short"] != 1.0 {
		t.Errorf("cut-short line = %v, want cut_short 1", cut)
	}
	if exit == nil || exit["status"] != 1.0 || !strings.Contains(fmt.Sprint(exit["error"]), "1 requests cut short") {
		t.Errorf("exit line = %v, want status 1 naming the request cut short", exit)
	}
	exported, err := os.ReadFile(spans)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(exported), traceID) {
		t.Errorf("the span of the request cut short (trace %s) was not flushed", traceID)
	}
}

func scrape(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := metricFamilies(client, url)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// metricFamilies reads the Prometheus text format served at url.
func metricFamilies(client *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	return families, nil
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

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestLoadSummary: -load N sends N requests of both methods, shuts down
// by itself, exits 0 and prints the one-screen summary on stderr: the
// requests by method and outcome (one in five a business error), the
// latency quantiles, and where to read the counts, with the counts the
// pull backends served before shutdown.
func TestLoadSummary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	start(t) // builds the binary
	cmd := exec.Command(binPath, "-addr", "127.0.0.1:0", "-grpc.addr", "127.0.0.1:0",
		"-load", "200", "-c", "4", "-namespace", "loadtest", "-spans", os.DevNull)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("addsvc -load 200: %v\n%s", err, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{
		"--- addsvc -load summary",
		"requests  200 in ",
		"Sum     80 success, 20 business_error (422), 0 failed",
		"Concat  80 success, 20 business_error (422), 0 failed",
		"errors    40 (40 business errors by design, 0 failed)",
		"latency   p50 ",
		`loadtest_endpoint_requests_total{operation="Sum",outcome="success"} 80`,
		`loadtest_endpoint_requests_total{operation="Concat",outcome="business_error"} 20`,
		`"operation=Sum,outcome=success":80`,
		`"operation=Concat,outcome=business_error":20`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
