package tracing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/tracing"
)

// response is an endpoint response carrying a business error, as a Go kit
// service's responses do.
type response struct {
	V   int
	Err error
}

func (r response) Failed() error { return r.Err }

func newRecorder(t *testing.T) (*tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return rec, tp.Tracer("obskit/tracing_test")
}

func TestEndpointMiddleware(t *testing.T) {
	errTransport := errors.New("connection refused")
	errBusiness := errors.New("insufficient funds")
	for _, tc := range []struct {
		name       string
		opts       tracing.EndpointOptions
		resp       response
		err        error
		wantStatus codes.Code
		wantDesc   string
		wantEvent  error // the error RecordError recorded, if any
		wantBiz    bool
		wantKind   trace.SpanKind
		wantAttrs  []attribute.KeyValue
	}{
		{name: "success", wantStatus: codes.Unset, wantKind: trace.SpanKindInternal},
		{name: "returned error", err: errTransport, wantStatus: codes.Error, wantDesc: errTransport.Error(), wantEvent: errTransport, wantKind: trace.SpanKindInternal},
		{name: "business error", resp: response{Err: errBusiness}, wantStatus: codes.Error, wantDesc: errBusiness.Error(), wantEvent: errBusiness, wantBiz: true, wantKind: trace.SpanKindInternal},
		{name: "business error ignored", opts: tracing.EndpointOptions{IgnoreBusinessErrors: true}, resp: response{Err: errBusiness}, wantStatus: codes.Unset, wantKind: trace.SpanKindInternal},
		{name: "returned error despite ignore", opts: tracing.EndpointOptions{IgnoreBusinessErrors: true}, err: errTransport, wantStatus: codes.Error, wantDesc: errTransport.Error(), wantEvent: errTransport, wantKind: trace.SpanKindInternal},
		{name: "returned error wins over business", resp: response{Err: errBusiness}, err: errTransport, wantStatus: codes.Error, wantDesc: errTransport.Error(), wantEvent: errTransport, wantKind: trace.SpanKindInternal},
		{
			name:      "kind and attributes",
			opts:      tracing.EndpointOptions{SpanKind: trace.SpanKindServer, Attributes: []attribute.KeyValue{attribute.String("rpc.service", "addsvc")}},
			wantKind:  trace.SpanKindServer,
			wantAttrs: []attribute.KeyValue{attribute.String("rpc.service", "addsvc")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, tr := newRecorder(t)
			ep := tracing.EndpointMiddleware[int, response](tr, "Sum", tc.opts)(
				func(ctx context.Context, req int) (response, error) {
					r := tc.resp
					r.V = req * 2
					return r, tc.err
				})
			resp, err := ep(context.Background(), 21)
			if resp.V != 42 || err != tc.err {
				t.Fatalf("endpoint returned (%v, %v), want the inner endpoint's (42, %v)", resp, err, tc.err)
			}
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans ended, want 1", len(spans))
			}
			s := spans[0]
			if s.Name() != "Sum" {
				t.Errorf("name = %q, want Sum", s.Name())
			}
			if s.SpanKind() != tc.wantKind {
				t.Errorf("kind = %v, want %v", s.SpanKind(), tc.wantKind)
			}
			if s.Status().Code != tc.wantStatus || s.Status().Description != tc.wantDesc {
				t.Errorf("status = %+v, want {%v %q}", s.Status(), tc.wantStatus, tc.wantDesc)
			}
			var events []string
			for _, e := range s.Events() {
				for _, a := range e.Attributes {
					if a.Key == "exception.message" {
						events = append(events, a.Value.AsString())
					}
				}
			}
			switch {
			case tc.wantEvent == nil && len(events) != 0:
				t.Errorf("recorded errors %q, want none", events)
			case tc.wantEvent != nil && (len(events) != 1 || events[0] != tc.wantEvent.Error()):
				t.Errorf("recorded errors %q, want [%q]", events, tc.wantEvent)
			}
			attrs := map[attribute.Key]attribute.Value{}
			for _, a := range s.Attributes() {
				attrs[a.Key] = a.Value
			}
			if got := attrs[tracing.BusinessErrorKey].AsBool(); got != tc.wantBiz {
				t.Errorf("%s = %v, want %v", tracing.BusinessErrorKey, got, tc.wantBiz)
			}
			for _, a := range tc.wantAttrs {
				if attrs[a.Key] != a.Value {
					t.Errorf("attribute %s = %v, want %v", a.Key, attrs[a.Key].String(), a.Value.String())
				}
			}
		})
	}
}

func TestEndpointMiddlewareChainParents(t *testing.T) {
	rec, tr := newRecorder(t)
	var inner trace.SpanContext
	ep := middleware.Chain(
		tracing.EndpointMiddleware[string, string](tr, "outer", tracing.EndpointOptions{}),
		tracing.EndpointMiddleware[string, string](tr, "inner", tracing.EndpointOptions{}),
	)(func(ctx context.Context, req string) (string, error) {
		inner = trace.SpanContextFromContext(ctx)
		return req, nil
	})
	ctx, root := tr.Start(context.Background(), "root")
	if _, err := ep(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	root.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	if len(byName) != 3 {
		t.Fatalf("ended spans %v, want root, outer, inner", byName)
	}
	for child, parent := range map[string]string{"outer": "root", "inner": "outer"} {
		c, p := byName[child], byName[parent]
		if c.Parent().SpanID() != p.SpanContext().SpanID() || c.SpanContext().TraceID() != p.SpanContext().TraceID() {
			t.Errorf("%s's parent is %s, want %s (%s)", child, c.Parent().SpanID(), parent, p.SpanContext().SpanID())
		}
	}
	if inner.SpanID() != byName["inner"].SpanContext().SpanID() {
		t.Error("the endpoint's context does not carry the innermost span")
	}
}

// TestEndpointMiddlewareHTTPHop traces a call across a process boundary:
// the client endpoint injects its span into the request headers with
// Propagator, the server extracts it and its endpoint span becomes a child.
func TestEndpointMiddlewareHTTPHop(t *testing.T) {
	rec, tr := newRecorder(t)
	prop := tracing.Propagator()

	server := tracing.EndpointMiddleware[string, string](tr, "server.Echo", tracing.EndpointOptions{SpanKind: trace.SpanKindServer})(
		func(_ context.Context, req string) (string, error) { return req, nil })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		resp, err := server(ctx, r.URL.Query().Get("q"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte(resp))
	}))
	defer srv.Close()

	client := tracing.EndpointMiddleware[string, string](tr, "client.Echo", tracing.EndpointOptions{SpanKind: trace.SpanKindClient})(
		func(ctx context.Context, q string) (string, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?q="+q, nil)
			if err != nil {
				return "", err
			}
			prop.Inject(ctx, propagation.HeaderCarrier(req.Header))
			resp, err := srv.Client().Do(req)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return "", errors.New(resp.Status)
			}
			return "ok", nil
		})

	ctx, root := tr.Start(context.Background(), "root")
	if _, err := client(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	root.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	srvSpan, cliSpan, rootSpan := byName["server.Echo"], byName["client.Echo"], byName["root"]
	if srvSpan == nil || cliSpan == nil || rootSpan == nil {
		t.Fatalf("ended spans %v, want root, client.Echo, server.Echo", byName)
	}
	if !srvSpan.Parent().IsRemote() {
		t.Error("server span's parent is not remote; want it extracted from the headers")
	}
	if srvSpan.Parent().SpanID() != cliSpan.SpanContext().SpanID() {
		t.Errorf("server span's parent = %s, want the client span %s", srvSpan.Parent().SpanID(), cliSpan.SpanContext().SpanID())
	}
	if cliSpan.Parent().SpanID() != rootSpan.SpanContext().SpanID() {
		t.Errorf("client span's parent = %s, want root %s", cliSpan.Parent().SpanID(), rootSpan.SpanContext().SpanID())
	}
	tid := rootSpan.SpanContext().TraceID()
	if srvSpan.SpanContext().TraceID() != tid || cliSpan.SpanContext().TraceID() != tid {
		t.Error("spans across the hop do not share the root's trace ID")
	}
	if srvSpan.SpanKind() != trace.SpanKindServer || cliSpan.SpanKind() != trace.SpanKindClient {
		t.Errorf("kinds = server %v, client %v", srvSpan.SpanKind(), cliSpan.SpanKind())
	}
}

func TestEndpointMiddlewareNilTracer(t *testing.T) {
	ep := tracing.EndpointMiddleware[int, int](nil, "op", tracing.EndpointOptions{})(func(_ context.Context, n int) (int, error) { return n + 1, nil })
	if got, err := ep(context.Background(), 1); got != 2 || err != nil {
		t.Fatalf("got (%d, %v), want (2, nil)", got, err)
	}
}

// TestEndpointMiddlewareAllocs checks that the middleware costs no
// allocation beyond what the tracer itself allocates for a span.
func TestEndpointMiddlewareAllocs(t *testing.T) {
	_, sdkTracer := newRecorder(t)
	for _, tr := range []struct {
		name   string
		tracer trace.Tracer
	}{
		{"noop", noop.NewTracerProvider().Tracer("")},
		{"sdk", sdkTracer},
	} {
		bareSpan := func(opts ...trace.SpanStartOption) float64 {
			return testing.AllocsPerRun(200, func() {
				_, span := tr.tracer.Start(context.Background(), "op", opts...)
				span.End()
			})
		}
		check := func(name string, got, bare float64) {
			t.Helper()
			if got > bare {
				t.Errorf("%s tracer, %s: %v allocs per call, want at most the bare span's %v", tr.name, name, got, bare)
			}
		}
		kind := trace.WithSpanKind(trace.SpanKindInternal)
		ep := tracing.EndpointMiddleware[int, int](tr.tracer, "op", tracing.EndpointOptions{})(func(_ context.Context, n int) (int, error) { return n, nil })
		check("plain response", testing.AllocsPerRun(200, func() { ep(context.Background(), 1) }), bareSpan(kind))

		ok := &response{}
		pep := tracing.EndpointMiddleware[int, *response](tr.tracer, "op", tracing.EndpointOptions{})(
			func(_ context.Context, n int) (*response, error) { return ok, nil })
		check("Failer response", testing.AllocsPerRun(200, func() { pep(context.Background(), 1) }), bareSpan(kind))

		attr := attribute.Int("a", 1)
		aep := tracing.EndpointMiddleware[int, int](tr.tracer, "op", tracing.EndpointOptions{Attributes: []attribute.KeyValue{attr}})(
			func(_ context.Context, n int) (int, error) { return n, nil })
		check("attributes", testing.AllocsPerRun(200, func() { aep(context.Background(), 1) }), bareSpan(kind, trace.WithAttributes(attr)))
	}
}

func BenchmarkEndpointMiddleware(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer tp.Shutdown(context.Background())
	ep := tracing.EndpointMiddleware[int, response](tp.Tracer("bench"), "op", tracing.EndpointOptions{})(func(_ context.Context, n int) (response, error) {
		return response{V: n}, nil
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ep(ctx, 1)
		}
	})
}
