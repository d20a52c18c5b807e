package tracing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/internal/itest"
	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/tracing"
)

// TestJaeger sends a trace that crosses an HTTP hop to a real Jaeger over
// OTLP, once per OTLP transport, and reads it back from Jaeger's query API.
// Start Jaeger with `scripts/backend up jaeger`. OBSKIT_JAEGER_URL
// overrides the query API's URL, OBSKIT_JAEGER_OTLP and
// OBSKIT_JAEGER_OTLP_GRPC the OTLP/HTTP and OTLP/gRPC endpoints.
func TestJaeger(t *testing.T) {
	query := itest.URL(t, "jaeger", "http://127.0.0.1:16686", "/api/services")
	for _, tc := range []struct {
		exporter tracing.Exporter
		env, def string
	}{
		{tracing.ExporterOTLPHTTP, "OBSKIT_JAEGER_OTLP", "127.0.0.1:4318"},
		{tracing.ExporterOTLPGRPC, "OBSKIT_JAEGER_OTLP_GRPC", "127.0.0.1:4317"},
	} {
		t.Run(string(tc.exporter), func(t *testing.T) {
			endpoint := os.Getenv(tc.env)
			if endpoint == "" {
				endpoint = tc.def
			}
			testJaeger(t, query, tracing.Options{
				ServiceName: "obskit-tracing-test",
				Exporter:    tc.exporter,
				Endpoint:    endpoint,
				Insecure:    true,
			})
		})
	}
}

func testJaeger(t *testing.T, query string, opts tracing.Options) {
	ctx := context.Background()
	tp, shutdown, err := tracing.NewProvider(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr := tp.Tracer("obskit/tracing_test")
	prop := tracing.Propagator()

	// The server side of the hop: extract the caller's span, run a traced
	// endpoint whose response carries a business error.
	server := tracing.EndpointMiddleware[string, response](tr, "server.Sum", tracing.EndpointOptions{SpanKind: trace.SpanKindServer})(
		func(context.Context, string) (response, error) {
			return response{Err: errors.New("insufficient funds")}, nil
		})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		resp, err := server(ctx, r.URL.Query().Get("q"))
		if err == nil {
			err = resp.Failed()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		}
	}))
	defer srv.Close()

	// The client side: a chain of two traced middlewares around an
	// endpoint that calls the server with the span in its headers.
	client := middleware.Chain(
		tracing.EndpointMiddleware[string, int](tr, "client.outer", tracing.EndpointOptions{}),
		tracing.EndpointMiddleware[string, int](tr, "client.inner", tracing.EndpointOptions{SpanKind: trace.SpanKindClient}),
	)(func(ctx context.Context, q string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?q="+q, nil)
		if err != nil {
			return 0, err
		}
		prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
		resp, err := srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	})

	rctx, root := tr.Start(ctx, "request")
	code, err := client(rctx, "1+2")
	root.End()
	if err != nil || code != http.StatusUnprocessableEntity {
		t.Fatalf("client call = (%d, %v), want (422, nil)", code, err)
	}
	traceID := root.SpanContext().TraceID().String()

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// name → parent name; "" for the root.
	wantParent := map[string]string{
		"request":      "",
		"client.outer": "request",
		"client.inner": "client.outer",
		"server.Sum":   "client.inner",
	}
	spans := itest.JaegerTrace(t, query, traceID, len(wantParent), 20*time.Second)
	byName := itest.CheckTree(t, spans, traceID, wantParent)
	if s := byName["server.Sum"]; s.Status.Message != "insufficient funds" || !s.Status.IsError() {
		t.Errorf("server.Sum status = %+v, want error \"insufficient funds\"", s.Status)
	}
	if s := byName["client.outer"]; s.Status.IsError() {
		t.Errorf("client.outer status = %+v, want unset", s.Status)
	}
}
