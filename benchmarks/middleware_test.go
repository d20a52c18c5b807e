package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
)

type sumRequest struct{ A, B int }

type sumResponse struct {
	V   int
	Err error
}

func (r sumResponse) Failed() error { return r.Err }

func sumEndpoint(_ context.Context, req sumRequest) (sumResponse, error) {
	return sumResponse{V: req.A + req.B}, nil
}

// obskitSum is the no-op endpoint wrapped in obskit's instrumenting
// middleware over obskit's Prometheus backend.
func obskitSum(b *testing.B) middleware.Endpoint[sumRequest, sumResponse] {
	ins, err := middleware.NewInstrumenting(newPromRegistry(b), middleware.InstrumentingOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return middleware.Instrument[sumRequest, sumResponse](ins, "Sum")(sumEndpoint)
}

// goKitSum is Go kit's addsvc instrumenting pattern over the same no-op
// endpoint: a histogram With method and success labels per call.
func goKitSum(b *testing.B) endpoint.Endpoint {
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "request_duration_seconds", Help: "h", Buckets: metrics.DefaultBuckets(),
	}, []string{"method", "success"})
	if err := prometheus.NewRegistry().Register(vec); err != nil {
		b.Fatal(err)
	}
	duration := kitprometheus.NewHistogram(vec)
	next := func(ctx context.Context, request any) (any, error) {
		return sumEndpoint(ctx, request.(sumRequest))
	}
	return func(ctx context.Context, request any) (response any, err error) {
		defer func(begin time.Time) {
			duration.With("method", "Sum", "success", fmt.Sprint(err == nil)).Observe(time.Since(begin).Seconds())
		}(time.Now())
		return next(ctx, request)
	}
}

// handWrittenSum is the least code that does the instrumenting
// middleware's work with client_golang directly: two clock reads, a
// pre-bound counter and a pre-bound histogram, for the same labels. It is
// the floor against which the middleware's cost is read: on a machine
// where two clock reads cost about 100 ns, no middleware that measures
// latency can take less.
func handWrittenSum(b *testing.B) middleware.Endpoint[sumRequest, sumResponse] {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "h"}, []string{"operation", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "request_duration_seconds", Help: "h", Buckets: metrics.DefaultBuckets(),
	}, []string{"operation", "outcome"})
	reg.MustRegister(requests, duration)
	okCount, okDuration := requests.WithLabelValues("Sum", "success"), duration.WithLabelValues("Sum", "success")
	errCount, errDuration := requests.WithLabelValues("Sum", "error"), duration.WithLabelValues("Sum", "error")
	return func(ctx context.Context, req sumRequest) (sumResponse, error) {
		begin := time.Now()
		resp, err := sumEndpoint(ctx, req)
		if err != nil || resp.Err != nil {
			errCount.Inc()
			errDuration.Observe(time.Since(begin).Seconds())
		} else {
			okCount.Inc()
			okDuration.Observe(time.Since(begin).Seconds())
		}
		return resp, err
	}
}

// BenchmarkInstrumentingMiddleware: one call of a no-op endpoint through
// an instrumenting middleware that records its latency (and, for obskit,
// a request count) into Prometheus (client_golang).
func BenchmarkInstrumentingMiddleware(b *testing.B) {
	ctx := context.Background()
	req := sumRequest{1, 2}
	b.Run("obskit", func(b *testing.B) {
		e := obskitSum(b)
		b.ReportAllocs()
		for b.Loop() {
			e(ctx, req)
		}
	})
	b.Run("clock-only", func(b *testing.B) {
		// The two clock reads alone, for reading the others' figures.
		var d time.Duration
		for b.Loop() {
			begin := time.Now()
			d += time.Since(begin)
		}
		_ = d
	})
	b.Run("hand-written", func(b *testing.B) {
		e := handWrittenSum(b)
		b.ReportAllocs()
		for b.Loop() {
			e(ctx, req)
		}
	})
	b.Run("go-kit", func(b *testing.B) {
		e := goKitSum(b)
		b.ReportAllocs()
		for b.Loop() {
			e(ctx, req)
		}
	})
}

func BenchmarkInstrumentingMiddlewareParallel(b *testing.B) {
	ctx := context.Background()
	req := sumRequest{1, 2}
	b.Run("obskit", func(b *testing.B) {
		e := obskitSum(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e(ctx, req)
			}
		})
	})
	b.Run("hand-written", func(b *testing.B) {
		e := handWrittenSum(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e(ctx, req)
			}
		})
	})
	b.Run("go-kit", func(b *testing.B) {
		e := goKitSum(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e(ctx, req)
			}
		})
	})
}

// discardExporter drops every span: the benchmark measures making spans,
// not exporting them.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

func newTracerProvider() *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSyncer(discardExporter{}),
	)
}

func itemsMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// obskitHandler is the route behind NewHTTPHandler with spans and metrics
// (obskit's Prometheus backend).
func obskitHandler(b *testing.B) http.Handler {
	h, err := middleware.NewHTTPHandler(itemsMux(), middleware.HTTPOptions{
		Registry: newPromRegistry(b),
		Tracer:   newTracerProvider().Tracer("bench"),
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// otelhttpHandler is the same route behind otelhttp.NewHandler with
// spans and metrics (the OpenTelemetry metric SDK).
func otelhttpHandler() http.Handler {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	return otelhttp.NewHandler(itemsMux(), "items",
		otelhttp.WithTracerProvider(newTracerProvider()),
		otelhttp.WithMeterProvider(mp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
	)
}

// nopWriter is the cheapest ResponseWriter: the benchmark measures the
// middleware, not the recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}
func (w *nopWriter) Flush()                      {}

// rawRequest is the request the HTTP benchmarks serve, as it arrives on
// the wire: a GET of a routed path with a sampled W3C parent.
const rawRequest = "GET /items/42 HTTP/1.1\r\n" +
	"Host: 127.0.0.1:8080\r\n" +
	"User-Agent: Go-http-client/1.1\r\n" +
	"Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n" +
	"\r\n"

// requestReader parses a fresh *http.Request from rawRequest on every
// call, as net/http's server does for every request: its Method, URL,
// Header and their strings are new each time, at new addresses. Reusing
// one request would let a cache keyed on r.Method's address hit in the
// benchmark and never in a server.
type requestReader struct {
	src *bytes.Reader
	br  *bufio.Reader
}

func newRequestReader() *requestReader {
	src := bytes.NewReader([]byte(rawRequest))
	return &requestReader{src: src, br: bufio.NewReader(src)}
}

func (rr *requestReader) next(b *testing.B) *http.Request {
	rr.src.Reset([]byte(rawRequest))
	rr.br.Reset(rr.src)
	r, err := http.ReadRequest(rr.br)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func serve(b *testing.B, h http.Handler) func() {
	rr := newRequestReader()
	w := &nopWriter{h: make(http.Header)}
	return func() {
		clear(w.h)
		h.ServeHTTP(w, rr.next(b))
	}
}

// httpLibs are the HTTP server middlewares compared. They do not do the
// same work, and the figures must be read with the difference: per
// request, obskit records one histogram (http.server.request.duration)
// and moves one gauge (http.server.active_requests) up and down;
// otelhttp records three histograms (request duration, request body
// size, response body size) and wraps the request body to count its
// bytes. Both start and end one server span from the W3C parent.
var httpLibs = []struct {
	name string
	h    func(*testing.B) http.Handler
}{
	{"obskit", obskitHandler},
	{"otelhttp", func(*testing.B) http.Handler { return otelhttpHandler() }},
}

// BenchmarkHTTPServer: one request, freshly parsed, through the HTTP
// server middleware with a sampled span (W3C parent in the headers) and
// its metrics. The request-only case is the parsing alone, included in
// the other two: subtract it to read a middleware's own cost.
func BenchmarkHTTPServer(b *testing.B) {
	b.Run("request-only", func(b *testing.B) {
		rr := newRequestReader()
		b.ReportAllocs()
		for b.Loop() {
			rr.next(b)
		}
	})
	for _, lib := range httpLibs {
		b.Run(lib.name, func(b *testing.B) {
			call := serve(b, lib.h(b))
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
}

func BenchmarkHTTPServerParallel(b *testing.B) {
	for _, lib := range httpLibs {
		b.Run(lib.name, func(b *testing.B) {
			h := lib.h(b)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				call := serve(b, h)
				for pb.Next() {
					call()
				}
			})
		})
	}
}

func tracingLike(next middleware.Endpoint[any, any]) middleware.Endpoint[any, any] {
	return func(ctx context.Context, req any) (any, error) { return next(ctx, req) }
}

// TestGoKitEndpoint: Endpoint[any, any] converts to Go kit's
// endpoint.Endpoint and back, so Go kit's middlewares and obskit's
// compose around one endpoint. It lives here so that Go kit never enters the kit's go.mod.
func TestGoKitEndpoint(t *testing.T) {
	var e middleware.Endpoint[any, any] = func(_ context.Context, req any) (any, error) {
		if req == "fail" {
			return nil, errors.New("failed")
		}
		return req.(string) + "!", nil
	}
	var kit endpoint.Endpoint = endpoint.Endpoint(e)
	kit = endpoint.Chain(func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, req any) (any, error) { return next(ctx, "<"+req.(string)+">") }
	})(kit)
	back := middleware.Endpoint[any, any](kit)
	back = middleware.Chain(tracingLike, tracingLike)(back)
	if got, err := back(context.Background(), "hi"); got != "<hi>!" || err != nil {
		t.Errorf("round trip = (%v, %v), want (<hi>!, nil)", got, err)
	}
	// Go kit's Failer is obskit's Failer.
	var _ middleware.Failer = endpoint.Failer(nil)
	var _ endpoint.Failer = middleware.Failer(nil)
}
