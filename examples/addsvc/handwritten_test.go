package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obskit/obskit/internal/itest"
)

// TestHandwrittenDoesObskitsWork runs addsvc instrumented by obskit and
// by hand (-handwritten, cmd/loadrun's reference) against the real
// Jaeger, sends both the same calls, and checks that they did the same
// work: the same metric values on /metrics, the same log lines, and per
// call the same spans (name, kind, parent, error status) read back from
// Jaeger. The load run's comparison is only fair if this holds.
func TestHandwrittenDoesObskitsWork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	query := itest.URL(t, "jaeger", "http://127.0.0.1:16686", "/api/services")
	otlp := itest.Addr(t, "jaeger-otlp", "tcp://127.0.0.1:4317", itest.DialTCP)

	calls := []struct{ path, body string }{
		{"/sum", `{"a":2,"b":3}`},
		{"/sum", `{"a":0,"b":0}`},                  // business error
		{"/concat", `{"a":"ab","b":"cd"}`},         // success
		{"/concat", `{"a":"abcdefgh","b":"ijkl"}`}, // business error
	}
	type did struct {
		metrics map[string]float64 // family{labels} → value
		logs    []string           // msg operation level, in order
		spans   [][]string         // per call: name kind parent-name error, sorted
	}
	run := func(variant ...string) did {
		t.Helper()
		args := append([]string{"-otlp.endpoint", otlp, "-service", fmt.Sprintf("addsvc-twin-%d", time.Now().UnixNano())}, variant...)
		cmd, base, logs := start(t, args...)
		client := &http.Client{Timeout: 5 * time.Second}
		for _, c := range calls {
			resp, err := client.Post(base+c.path, "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		var d did
		d.metrics = map[string]float64{}
		for name, f := range scrape(t, client, base+"/metrics") {
			if !strings.HasPrefix(name, "addsvc_endpoint_") && !strings.HasPrefix(name, "addsvc_service_") &&
				name != "addsvc_http_server_request_duration_seconds" {
				continue
			}
			for _, m := range f.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				v := m.GetCounter().GetValue()
				if m.GetHistogram() != nil {
					v = float64(m.GetHistogram().GetSampleCount())
				}
				if v != 0 { // obskit declares every outcome up front, client_golang only those seen
					d.metrics[name+"{"+strings.Join(labels, ",")+"}"] = v
				}
			}
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		var traceIDs []string
		for rec := range logs {
			msg, _ := rec["msg"].(string)
			if msg != "endpoint call" && msg != "service call" {
				continue
			}
			d.logs = append(d.logs, fmt.Sprintf("%s %v %v", msg, rec["operation"], rec["level"]))
			if msg == "endpoint call" {
				traceIDs = append(traceIDs, rec["trace_id"].(string))
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("addsvc %v: %v", variant, err)
		}
		for _, id := range traceIDs {
			spans := itest.JaegerTrace(t, query, id, 3, 20*time.Second)
			names := map[string]string{}
			for _, s := range spans {
				names[s.SpanID] = s.Name
			}
			var shape []string
			for _, s := range spans {
				shape = append(shape, fmt.Sprintf("%s kind=%v parent=%q error=%v", s.Name, s.Kind, names[s.ParentSpanID], s.Status.IsError()))
			}
			slices.Sort(shape)
			d.spans = append(d.spans, shape)
		}
		return d
	}

	obskit, hand := run(), run("-handwritten")
	if len(obskit.spans) != len(calls) || len(obskit.logs) != 2*len(calls) {
		t.Fatalf("obskit: %d traces and %d log lines for %d calls", len(obskit.spans), len(obskit.logs), len(calls))
	}
	for k, v := range obskit.metrics {
		if hand.metrics[k] != v {
			t.Errorf("metric %s: obskit %v, handwritten %v", k, v, hand.metrics[k])
		}
	}
	for k, v := range hand.metrics {
		if _, ok := obskit.metrics[k]; !ok {
			t.Errorf("metric %s = %v only in handwritten", k, v)
		}
	}
	if !slices.Equal(obskit.logs, hand.logs) {
		t.Errorf("log lines differ:\nobskit      %q\nhandwritten %q", obskit.logs, hand.logs)
	}
	for i := range obskit.spans {
		if i >= len(hand.spans) || !slices.Equal(obskit.spans[i], hand.spans[i]) {
			t.Errorf("call %d (%s %s): spans differ:\nobskit      %q\nhandwritten %q", i, calls[i].path, calls[i].body, obskit.spans[i], hand.spans[min(i, len(hand.spans)-1)])
		}
	}
}
