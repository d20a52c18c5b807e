package itest

import (
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// JaegerSpan is the part of an OTLP/JSON span, as Jaeger's /api/v3
// returns it, that the tests read. IDs are hex.
type JaegerSpan struct {
	TraceID      string       `json:"traceId"`
	SpanID       string       `json:"spanId"`
	ParentSpanID string       `json:"parentSpanId"`
	Name         string       `json:"name"`
	Kind         any          `json:"kind"` // 2 or "SPAN_KIND_SERVER"
	Status       JaegerStatus `json:"status"`
}

// JaegerStatus is a span's status as Jaeger returns it.
type JaegerStatus struct {
	Code    any    `json:"code"` // 2 or "STATUS_CODE_ERROR"
	Message string `json:"message"`
}

// IsError reports whether the status is Error, in either encoding.
func (s JaegerStatus) IsError() bool {
	return s.Code == float64(2) || s.Code == "STATUS_CODE_ERROR"
}

// IsKind reports whether the span is of kind k, in either encoding.
func (s JaegerSpan) IsKind(k trace.SpanKind) bool {
	names := map[trace.SpanKind]string{
		trace.SpanKindInternal: "SPAN_KIND_INTERNAL",
		trace.SpanKindServer:   "SPAN_KIND_SERVER",
		trace.SpanKindClient:   "SPAN_KIND_CLIENT",
	}
	return s.Kind == float64(k) || s.Kind == names[k]
}

// SpanNames returns the spans' names, for messages.
func SpanNames(spans []JaegerSpan) []string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name
	}
	return names
}

// JaegerTrace reads a trace from the Jaeger query API at query until it
// holds want spans or timeout passes, when it fails the test. Jaeger
// stores spans shortly after receiving them, not at once.
func JaegerTrace(t testing.TB, query, traceID string, want int, timeout time.Duration) []JaegerSpan {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		spans, err := fetchTrace(client, query+"/api/v3/traces/"+traceID)
		if err == nil && len(spans) >= want {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s not complete in Jaeger after %v: %d of %d spans %v; last error: %v",
				traceID, timeout, len(spans), want, SpanNames(spans), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func fetchTrace(client *http.Client, url string) ([]JaegerSpan, error) {
	var tr struct {
		Result struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []JaegerSpan `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		} `json:"result"`
	}
	if err := GetJSON(client, url, &tr); err != nil {
		return nil, err
	}
	var spans []JaegerSpan
	for _, rs := range tr.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			spans = append(spans, ss.Spans...)
		}
	}
	return spans, nil
}

// CheckTree checks that spans hold exactly one trace, traceID, whose
// spans have the names and parents of wantParent (span name → parent
// name, "" for the root), and returns the spans by name.
func CheckTree(t testing.TB, spans []JaegerSpan, traceID string, wantParent map[string]string) map[string]JaegerSpan {
	t.Helper()
	if len(spans) != len(wantParent) {
		t.Errorf("trace has %d spans %v, want %d", len(spans), SpanNames(spans), len(wantParent))
	}
	byName := map[string]JaegerSpan{}
	byID := map[string]JaegerSpan{}
	for _, s := range spans {
		byName[s.Name] = s
		byID[s.SpanID] = s
	}
	for name, parent := range wantParent {
		s, ok := byName[name]
		if !ok {
			t.Errorf("span %q did not arrive in Jaeger (got %v)", name, SpanNames(spans))
			continue
		}
		if s.TraceID != traceID {
			t.Errorf("span %q has trace %s, want %s", name, s.TraceID, traceID)
		}
		switch got := byID[s.ParentSpanID].Name; {
		case parent == "" && s.ParentSpanID != "":
			t.Errorf("span %q has parent %s, want none", name, s.ParentSpanID)
		case parent != "" && got != parent:
			t.Errorf("span %q has parent %q (%s), want %q", name, got, s.ParentSpanID, parent)
		}
	}
	return byName
}
