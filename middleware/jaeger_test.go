package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/tracing"
)

// TestJaeger sends one request through NewTransport, NewHTTPHandler and an
// endpoint chain (tracing, instrumenting) over OTLP/HTTP to a real Jaeger,
// and reads the whole trace back from Jaeger's query API. Start Jaeger
// with `scripts/backend up jaeger`; OBSKIT_JAEGER_URL and
// OBSKIT_JAEGER_OTLP override the query API and the OTLP/HTTP endpoint.
func TestJaeger(t *testing.T) {
	query := itest.URL(t, "jaeger", "http://127.0.0.1:16686", "/api/services")
	endpoint := os.Getenv("OBSKIT_JAEGER_OTLP")
	if endpoint == "" {
		endpoint = "127.0.0.1:4318"
	}
	ctx := context.Background()
	tp, shutdown, err := tracing.NewProvider(ctx, tracing.Options{
		ServiceName: "obskit-middleware-test",
		Exporter:    tracing.ExporterOTLPHTTP,
		Endpoint:    endpoint,
		Insecure:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := tp.Tracer("obskit/middleware_test")
	backend := metricstest.New()
	reg := metrics.New(backend)
	ins, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Server: ServeMux → endpoint chain (a traced, instrumented Sum).
	sum := middleware.Chain(
		tracing.EndpointMiddleware[[2]int, int](tr, "Sum", tracing.EndpointOptions{}),
		middleware.Instrument[[2]int, int](ins, "Sum"),
	)(func(ctx context.Context, req [2]int) (int, error) {
		_, span := tr.Start(ctx, "add")
		defer span.End()
		return req[0] + req[1], nil
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sum/{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		a, _ := strconv.Atoi(r.PathValue("a"))
		b, _ := strconv.Atoi(r.PathValue("b"))
		v, err := sum(r.Context(), [2]int{a, b})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, v)
	})
	opts := middleware.HTTPOptions{Registry: reg, Tracer: tr}
	h, err := middleware.NewHTTPHandler(mux, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	rt, err := middleware.NewTransport(srv.Client().Transport, opts)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: rt}

	rctx, root := tr.Start(ctx, "request")
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, srv.URL+"/sum/1/2", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	root.End()
	if resp.StatusCode != 200 || string(body) != "3" {
		t.Fatalf("response %d %q, want 200 \"3\"", resp.StatusCode, body)
	}
	traceID := root.SpanContext().TraceID().String()

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// name → parent name, kind.
	want := map[string]struct {
		parent string
		kind   trace.SpanKind
	}{
		"request":          {"", trace.SpanKindInternal},
		"GET":              {"request", trace.SpanKindClient},
		"GET /sum/{a}/{b}": {"GET", trace.SpanKindServer},
		"Sum":              {"GET /sum/{a}/{b}", trace.SpanKindInternal},
		"add":              {"Sum", trace.SpanKindInternal},
	}
	spans := itest.JaegerTrace(t, query, traceID, len(want), 20*time.Second)
	wantParent := map[string]string{}
	for name, w := range want {
		wantParent[name] = w.parent
	}
	byName := itest.CheckTree(t, spans, traceID, wantParent)
	for name, w := range want {
		if s, ok := byName[name]; ok && !s.IsKind(w.kind) {
			t.Errorf("span %q has kind %v, want %v", name, s.Kind, w.kind)
		}
	}
	if got := backend.Counter("endpoint.requests", "operation", "Sum", "outcome", "success"); got != 1 {
		t.Errorf("endpoint.requests = %v, want 1", got)
	}
}
