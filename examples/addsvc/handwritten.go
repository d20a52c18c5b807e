package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/middleware"
)

// This file is the reference that the load run (cmd/loadrun) measures
// obskit against: the same service with the same telemetry per call as
// run's obskit wiring, written by hand on the libraries obskit wraps, as
// a team without obskit would, and without waste. Per HTTP call, as with
// obskit:
//
//   - a server span with the same attributes, renamed "METHOD ROUTE" at
//     the end, an endpoint span and a service span, all sampled and sent
//     over OTLP/gRPC by the SDK's batch span processor, which waits
//     instead of dropping when its queue is full (-spans.block);
//   - two JSON log lines (log/slog's JSON handler, with the trace and
//     span IDs), one for the endpoint call and one for the service call;
//   - client_golang metrics on /metrics: the active requests and the
//     request duration of the HTTP server, and a counter and a duration
//     histogram by operation and outcome for the endpoints and for the
//     service.
//
// Where it does less than obskit, it says so: the metrics go to
// Prometheus only (obskit's default also publishes them on expvar),
// and it counts the spans exported but not those dropped (none are with
// -spans.block).

// handwritten holds what newHandwritten wires.
type handwritten struct {
	handler  http.Handler
	shutdown func(context.Context) error
}

// newHandwritten serves svc's endpoints over HTTP, instrumented by hand.
// Spans go over OTLP/gRPC to otlpEndpoint; logs to logOut.
func newHandwritten(ctx context.Context, svc Service, otlpEndpoint, serviceName, namespace string, blockSpans bool, logOut io.Writer) (*handwritten, error) {
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(otlpEndpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	bo := []sdktrace.BatchSpanProcessorOption{sdktrace.WithMaxQueueSize(8192)}
	if blockSpans {
		bo = append(bo, sdktrace.WithBlocking())
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(serviceName)))
	if err != nil {
		return nil, err
	}
	counted := &countingExporter{SpanExporter: exp}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(counted, bo...), sdktrace.WithResource(res))
	tracer := tp.Tracer("addsvc")
	logger := slog.New(traceIDs{slog.NewJSONHandler(logOut, nil)})
	shutdown := func(ctx context.Context) error {
		err := tp.Shutdown(ctx)
		// The line loadrun reads, in the shape of obskit's.
		logger.Info("tracing shutdown", "exported", counted.n.Load(), "dropped", 0)
		return err
	}

	reg := prometheus.NewRegistry()
	label := func(l ...string) []string { return l }
	active := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "http_server_active_requests",
		Help: "Number of active HTTP server requests."}, label("http_request_method"))
	httpDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_server_request_duration_seconds",
		Help: "Duration of HTTP server requests.", Buckets: prometheus.DefBuckets},
		label("http_request_method", "http_response_status_code", "http_route", "error_type"))
	calls := func(layer string) (*prometheus.CounterVec, *prometheus.HistogramVec) {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: layer, Name: "requests_total",
			Help: "Calls by operation and outcome."}, label("operation", "outcome"))
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: layer, Name: "request_duration_seconds",
			Help: "Duration of the calls.", Buckets: prometheus.DefBuckets}, label("operation", "outcome"))
		reg.MustRegister(c, h)
		return c, h
	}
	reg.MustRegister(active, httpDur)
	epCalls, epDur := calls("endpoint")
	svcCalls, svcDur := calls("service")

	svc = handService{next: svc, tracer: tracer, logger: logger, calls: svcCalls, dur: svcDur}
	eps := MakeEndpoints(svc)
	eps.Sum = handEndpoint(eps.Sum, "Sum", tracer, logger, epCalls, epDur)
	eps.Concat = handEndpoint(eps.Concat, "Concat", tracer, logger, epCalls, epDur)
	mux := newMux(eps)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	h := &handServer{next: mux, tracer: tracer, prop: propagation.TraceContext{}, active: active, dur: httpDur}
	return &handwritten{handler: h, shutdown: shutdown}, nil
}

// handServer is the HTTP server middleware: a server span, the active
// requests and the request duration.
type handServer struct {
	next   http.Handler
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	active *prometheus.GaugeVec
	dur    *prometheus.HistogramVec
}

// statusWriter remembers the status code of the response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (h *handServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	begin := time.Now()
	active := h.active.WithLabelValues(r.Method)
	active.Inc()
	defer active.Dec()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("url.scheme", scheme),
		attribute.String("url.path", r.URL.Path),
		attribute.String("server.address", r.Host),
		attribute.String("user_agent.original", r.UserAgent()),
		attribute.String("network.protocol.version", strconv.Itoa(r.ProtoMajor)+"."+strconv.Itoa(r.ProtoMinor)),
	}
	ctx := h.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := h.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: w}
	h.next.ServeHTTP(sw, r)

	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	route := r.Pattern
	if i := strings.IndexByte(route, '/'); i > 0 {
		route = route[i:]
	}
	var errType string
	if status >= 500 {
		errType = strconv.Itoa(status)
		span.SetStatus(codes.Error, errType)
	}
	span.SetName(r.Method + " " + route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	span.End()
	h.dur.WithLabelValues(r.Method, strconv.Itoa(status), route, errType).Observe(time.Since(begin).Seconds())
}

// handEndpoint wraps an endpoint in a span, a counter and a duration by
// outcome, and a log line.
func handEndpoint[Req any, Resp middleware.Failer](next middleware.Endpoint[Req, Resp], op string, tracer trace.Tracer,
	logger *slog.Logger, calls *prometheus.CounterVec, dur *prometheus.HistogramVec) middleware.Endpoint[Req, Resp] {
	return func(ctx context.Context, req Req) (Resp, error) {
		begin := time.Now()
		ctx, span := tracer.Start(ctx, op)
		resp, err := next(ctx, req)
		outcome, level := "success", slog.LevelInfo
		failure := err
		if err != nil {
			outcome, level = "error", slog.LevelError
		} else if ferr := resp.Failed(); ferr != nil {
			outcome, level, failure = "business_error", slog.LevelWarn, ferr
			span.SetAttributes(attribute.Bool("business_error", true))
		}
		if failure != nil {
			span.RecordError(failure)
			span.SetStatus(codes.Error, failure.Error())
		}
		span.End()
		d := time.Since(begin).Seconds()
		calls.WithLabelValues(op, outcome).Inc()
		dur.WithLabelValues(op, outcome).Observe(d)
		logCall(ctx, logger, level, "endpoint call", op, d, failure)
		return resp, err
	}
}

// handService decorates a Service with a span, a counter and a duration
// by outcome, and a log line per call.
type handService struct {
	next   Service
	tracer trace.Tracer
	logger *slog.Logger
	calls  *prometheus.CounterVec
	dur    *prometheus.HistogramVec
}

func (s handService) Sum(ctx context.Context, a, b int) (int, error) {
	ctx, end := s.start(ctx, "Sum")
	v, err := s.next.Sum(ctx, a, b)
	end(err)
	return v, err
}

func (s handService) Concat(ctx context.Context, a, b string) (string, error) {
	ctx, end := s.start(ctx, "Concat")
	v, err := s.next.Concat(ctx, a, b)
	end(err)
	return v, err
}

func (s handService) start(ctx context.Context, op string) (context.Context, func(error)) {
	begin := time.Now()
	ctx, span := s.tracer.Start(ctx, op)
	return ctx, func(err error) {
		outcome, level := "success", slog.LevelInfo
		if err != nil {
			outcome, level = "error", slog.LevelError
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		d := time.Since(begin).Seconds()
		s.calls.WithLabelValues(op, outcome).Inc()
		s.dur.WithLabelValues(op, outcome).Observe(d)
		logCall(ctx, s.logger, level, "service call", op, d, err)
	}
}

// logCall logs one call. It builds the record itself rather than calling
// Logger.LogAttrs, which walks the stack for a source position that no
// handler here prints.
func logCall(ctx context.Context, logger *slog.Logger, level slog.Level, msg, op string, d float64, err error) {
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(slog.String("operation", op), slog.Float64("duration", d))
	if err != nil {
		r.AddAttrs(slog.String("error", err.Error()))
	}
	_ = logger.Handler().Handle(ctx, r)
}

// traceIDs adds the trace and span IDs of the context's span to every
// record.
type traceIDs struct{ slog.Handler }

func (h traceIDs) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceIDs) WithAttrs(as []slog.Attr) slog.Handler { return traceIDs{h.Handler.WithAttrs(as)} }
func (h traceIDs) WithGroup(g string) slog.Handler       { return traceIDs{h.Handler.WithGroup(g)} }

// countingExporter counts the spans exported without error.
type countingExporter struct {
	sdktrace.SpanExporter
	n atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		e.n.Add(int64(len(spans)))
	}
	return err
}
