package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/obskit/obskit/tracing"
)

// stdoutSpan is the part of stdouttrace's JSON that the tests read.
type stdoutSpan struct {
	Name        string
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ SpanID string }
	Resource    []struct {
		Key   string
		Value struct{ Value any }
	}
}

func decodeSpans(t *testing.T, r io.Reader) []stdoutSpan {
	t.Helper()
	var spans []stdoutSpan
	dec := json.NewDecoder(r)
	for {
		var s stdoutSpan
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			return spans
		}
		if err != nil {
			t.Fatalf("decoding stdout exporter output: %v", err)
		}
		spans = append(spans, s)
	}
}

func TestNewProviderShutdownFlushesEverySpan(t *testing.T) {
	for _, sync := range []bool{false, true} {
		name := "batch"
		if sync {
			name = "sync"
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
				ServiceName:        "flush-test",
				ResourceAttributes: []attribute.KeyValue{attribute.String("service.version", "1.2.3")},
				Writer:             &buf,
				Sync:               sync,
			})
			if err != nil {
				t.Fatal(err)
			}
			// More than the batch processor's default batch (512), so that
			// shutdown must drain a queue, not just one export.
			const n = 1500
			tr := tp.Tracer("test")
			for i := range n {
				_, span := tr.Start(context.Background(), "span")
				span.SetAttributes(attribute.Int("i", i))
				span.End()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			spans := decodeSpans(t, &buf)
			if len(spans) != n {
				t.Fatalf("writer holds %d spans after shutdown, want %d", len(spans), n)
			}
			res := map[string]any{}
			for _, kv := range spans[0].Resource {
				res[kv.Key] = kv.Value.Value
			}
			if res["service.name"] != "flush-test" || res["service.version"] != "1.2.3" {
				t.Errorf("resource = %v, want service.name flush-test and service.version 1.2.3", res)
			}
			if res["telemetry.sdk.language"] != "go" {
				t.Errorf("resource = %v, want the SDK's telemetry.sdk.* attributes", res)
			}
		})
	}
}

func TestNewProviderSampler(t *testing.T) {
	var buf bytes.Buffer
	tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
		Writer:  &buf,
		Sampler: sdktrace.NeverSample(),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "dropped")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("NeverSample exported %q", buf.String())
	}
}

func TestNewProviderDefaultSamplerFollowsParent(t *testing.T) {
	var buf bytes.Buffer
	tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{Writer: &buf, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	// An incoming request whose caller did not sample: the child is not
	// sampled either.
	carrier := propagation.MapCarrier{"traceparent": "00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-00"}
	ctx := tracing.Propagator().Extract(context.Background(), carrier)
	_, span := tp.Tracer("test").Start(ctx, "child-of-unsampled")
	if span.SpanContext().IsSampled() {
		t.Error("child of an unsampled remote parent is sampled; want parent-based sampling")
	}
	span.End()
	_, root := tp.Tracer("test").Start(context.Background(), "root")
	if !root.SpanContext().IsSampled() {
		t.Error("root span is not sampled; want always-on for roots")
	}
	root.End()
}

func TestNewProviderOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts tracing.Options
		want string // substring of the error
	}{
		{"unknown exporter", tracing.Options{Exporter: "zipkin"}, `unknown exporter "zipkin"`},
		{"grpc without endpoint", tracing.Options{Exporter: tracing.ExporterOTLPGRPC}, "needs an Endpoint"},
		{"http without endpoint", tracing.Options{Exporter: tracing.ExporterOTLPHTTP}, "needs an Endpoint"},
		{"endpoint with stdout", tracing.Options{Endpoint: "127.0.0.1:4318"}, "Endpoint \"127.0.0.1:4318\" is set"},
		{"insecure with stdout", tracing.Options{Insecure: true}, "Insecure applies to the OTLP exporters"},
		{"writer with otlp", tracing.Options{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "127.0.0.1:4318", Writer: io.Discard}, "Writer is set"},
		{"no port", tracing.Options{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "127.0.0.1"}, "neither host:port nor a URL"},
		{"bad scheme", tracing.Options{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "ftp://127.0.0.1:4318"}, `scheme "ftp"`},
		{"no host", tracing.Options{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "http:///v1/traces"}, "has no host"},
		{"https and insecure", tracing.Options{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "https://collector:4318", Insecure: true}, "asks for TLS"},
		{"grpc with path", tracing.Options{Exporter: tracing.ExporterOTLPGRPC, Endpoint: "http://127.0.0.1:4317/v1/traces"}, "takes no URL path"},
		{"compression with stdout", tracing.Options{Compression: tracing.CompressionGzip}, "Compression applies to the OTLP exporters"},
		{"unknown compression", tracing.Options{Exporter: tracing.ExporterOTLPGRPC, Endpoint: "127.0.0.1:4317", Compression: "zstd"}, `unknown Compression "zstd"`},
		{"unparsable URL", tracing.Options{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "http://[::1:4318"}, "not a valid URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, shutdown, err := tracing.NewProvider(context.Background(), tc.opts)
			if err == nil {
				shutdown(context.Background())
				t.Fatalf("NewProvider(%+v) succeeded, want an error containing %q", tc.opts, tc.want)
			}
			if tp != nil || shutdown != nil {
				t.Error("NewProvider returned a provider or shutdown with its error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "tracing: ") {
				t.Errorf("error = %q, want it to start with \"tracing: \" and contain %q", err, tc.want)
			}
		})
	}
}

func TestNewProviderOTLPDoesNotDial(t *testing.T) {
	// Nothing listens on these ports: construction must still succeed.
	for _, opts := range []tracing.Options{
		{Exporter: tracing.ExporterOTLPGRPC, Endpoint: "127.0.0.1:1", Insecure: true},
		{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "127.0.0.1:1", Insecure: true},
		{Exporter: tracing.ExporterOTLPHTTP, Endpoint: "http://127.0.0.1:1/custom/path"},
		{Exporter: tracing.ExporterOTLPGRPC, Endpoint: "http://127.0.0.1:1"},
	} {
		_, shutdown, err := tracing.NewProvider(context.Background(), opts)
		if err != nil {
			t.Errorf("NewProvider(%+v): %v", opts, err)
			continue
		}
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("shutdown with nothing exported: %v", err)
		}
	}
}

func TestNewProviderOTLPHTTPPostsSpans(t *testing.T) {
	var posts atomic.Int32
	var path atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.Path)
		if r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
		}
		posts.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()

	for _, tc := range []struct{ endpoint, wantPath string }{
		{srv.URL, "/v1/traces"},
		{strings.TrimPrefix(srv.URL, "http://"), "/v1/traces"},
		{srv.URL + "/custom/traces", "/custom/traces"},
	} {
		posts.Store(0)
		tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
			Exporter: tracing.ExporterOTLPHTTP,
			Endpoint: tc.endpoint,
			Insecure: !strings.HasPrefix(tc.endpoint, "http://"),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, span := tp.Tracer("test").Start(context.Background(), "posted")
		span.End()
		if err := shutdown(context.Background()); err != nil {
			t.Fatalf("endpoint %s: shutdown: %v", tc.endpoint, err)
		}
		if posts.Load() != 1 || path.Load() != tc.wantPath {
			t.Errorf("endpoint %s: %d posts to %v, want 1 to %s", tc.endpoint, posts.Load(), path.Load(), tc.wantPath)
		}
	}
}

// Compression is off unless asked for, and gzip when asked for.
func TestNewProviderOTLPCompression(t *testing.T) {
	var encoding atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encoding.Store(r.Header.Get("Content-Encoding"))
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	for _, tc := range []struct {
		c    tracing.Compression
		want string
	}{{"", ""}, {tracing.CompressionNone, ""}, {tracing.CompressionGzip, "gzip"}} {
		encoding.Store("unset")
		tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
			Exporter: tracing.ExporterOTLPHTTP, Endpoint: srv.URL, Compression: tc.c,
		})
		if err != nil {
			t.Fatal(err)
		}
		_, span := tp.Tracer("test").Start(context.Background(), "posted")
		span.End()
		if err := shutdown(context.Background()); err != nil {
			t.Fatalf("Compression %q: shutdown: %v", tc.c, err)
		}
		if got := encoding.Load(); got != tc.want {
			t.Errorf("Compression %q: Content-Encoding %q, want %q", tc.c, got, tc.want)
		}
	}
	// OTLP/gRPC accepts both; what it sends is checked against Jaeger by
	// examples/addsvc's load run.
	for _, c := range []tracing.Compression{tracing.CompressionNone, tracing.CompressionGzip} {
		_, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
			Exporter: tracing.ExporterOTLPGRPC, Endpoint: "127.0.0.1:1", Insecure: true, Compression: c,
		})
		if err != nil {
			t.Fatalf("OTLP/gRPC, Compression %q: %v", c, err)
		}
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("OTLP/gRPC, Compression %q: shutdown: %v", c, err)
		}
	}
}

func TestPropagator(t *testing.T) {
	fields := tracing.Propagator().Fields()
	want := map[string]bool{"traceparent": true, "tracestate": true, "baggage": true}
	if len(fields) != len(want) {
		t.Fatalf("Fields() = %v, want %v", fields, want)
	}
	for _, f := range fields {
		if !want[f] {
			t.Errorf("unexpected field %q", f)
		}
	}
}

func TestShutdownReportsLostSpans(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad request", http.StatusBadRequest) // not retried
	}))
	defer srv.Close()
	tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
		Exporter: tracing.ExporterOTLPHTTP,
		Endpoint: srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, span := tp.Tracer("test").Start(context.Background(), "lost")
		span.End()
	}
	err = shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "3 spans were not exported") {
		t.Errorf("shutdown error = %v, want it to report 3 spans not exported", err)
	}
}
