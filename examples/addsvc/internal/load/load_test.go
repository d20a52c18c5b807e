package load

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRun: the mix alternates Sum and Concat, one call of each in five
// refused with 422; Run counts by method and outcome what the server
// answered, a 500 as failed, and sorts every latency.
func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
		switch {
		case r.URL.Path == "/sum" && body["a"] == 0.0 && body["b"] == 0.0:
			w.WriteHeader(http.StatusUnprocessableEntity)
		case r.URL.Path == "/concat" && len(body["a"].(string))+len(body["b"].(string)) > 10:
			w.WriteHeader(http.StatusUnprocessableEntity)
		case r.URL.Path == "/sum" && body["a"] == 6.0:
			w.WriteHeader(http.StatusInternalServerError) // the 4th Sum call
		}
	}))
	defer srv.Close()
	r := Run(context.Background(), Options{BaseURL: srv.URL, Requests: 100, Concurrency: 4})
	want := map[Key]int64{
		{"Sum", Success}: 39, {"Sum", BusinessError}: 10, {"Sum", Failed}: 1,
		{"Concat", Success}: 40, {"Concat", BusinessError}: 10,
	}
	for k, n := range want {
		if r.Counts[k] != n {
			t.Errorf("%v = %d, want %d (all: %v)", k, r.Counts[k], n, r.Counts)
		}
	}
	if r.Requests != 100 || r.Errors() != 21 || r.Failures() != 1 || r.FirstError == nil {
		t.Errorf("requests %d, errors %d, failures %d, first error %v; want 100, 21, 1 and the 500",
			r.Requests, r.Errors(), r.Failures(), r.FirstError)
	}
	if len(r.Latencies) != 100 || r.Quantile(0.5) > r.Quantile(0.99) || r.Quantile(1) != r.Latencies[99] {
		t.Errorf("latencies: %d, p50 %v, p99 %v", len(r.Latencies), r.Quantile(0.5), r.Quantile(0.99))
	}
	var out bytes.Buffer
	r.WriteTo(&out)
	if !strings.Contains(out.String(), "Sum     39 success, 10 business_error (422), 1 failed") {
		t.Errorf("summary:\n%s", out.String())
	}
}

// TestRunDuration: with no count, Run stops when the duration is over.
func TestRunDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	start := time.Now()
	r := Run(context.Background(), Options{BaseURL: srv.URL, Duration: 200 * time.Millisecond, Concurrency: 2})
	if el := time.Since(start); el > 5*time.Second || r.Requests == 0 || r.Failures() != 0 {
		t.Errorf("ran %v, %d requests, %d failures; want about 200ms, some requests, none failed", el, r.Requests, r.Failures())
	}
}
