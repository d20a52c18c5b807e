package middleware

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/felixge/httpsnoop"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/internal/sanitize"
	"github.com/obskit/obskit/metrics"
)

// Attribute and label names of OpenTelemetry's HTTP semantic conventions
// that the HTTP middlewares record.
const (
	MethodKey      = "http.request.method"
	StatusCodeKey  = "http.response.status_code"
	RouteKey       = "http.route"
	ErrorTypeKey   = "error.type"
	ServerAddrKey  = "server.address"
	OtherMethod    = "_OTHER" // the http.request.method of a method not in RFC 9110 or PATCH
	methodOrigKey  = "http.request.method_original"
	urlPathKey     = "url.path"
	urlSchemeKey   = "url.scheme"
	urlFullKey     = "url.full"
	serverPortKey  = "server.port"
	protoVerKey    = "network.protocol.version"
	userAgentKey   = "user_agent.original"
	panicMessage   = "http handler panic"
	abortErrorType = "http.ErrAbortHandler"
)

// HTTPOptions configures NewHTTPHandler and NewTransport. Every field is
// optional: a nil Registry records no metrics, a nil Tracer starts no
// spans.
type HTTPOptions struct {
	// Registry receives the metrics of OpenTelemetry's HTTP semantic
	// conventions (see NewHTTPHandler and NewTransport).
	Registry *metrics.Registry
	// Tracer starts one span per request: of server kind in the handler,
	// of client kind in the transport.
	Tracer trace.Tracer
	// Propagator extracts the caller's trace context from the headers of
	// an incoming request and injects it into those of an outgoing one.
	// Nil means W3C Trace Context and Baggage, as tracing.Propagator.
	Propagator propagation.TextMapPropagator
	// Logger logs the panics that NewHTTPHandler recovers, with their
	// stack, at slog.LevelError. Nil means slog.Default().
	Logger *slog.Logger
}

func (o *HTTPOptions) propagator() propagation.TextMapPropagator {
	if o.Propagator != nil {
		return o.Propagator
	}
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// httpHandler is the http.Handler that NewHTTPHandler returns.
type httpHandler struct {
	next     http.Handler
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	logger   *slog.Logger
	duration *metrics.HistogramMetric
	active   *metrics.GaugeMetric
	panics   *metrics.CounterMetric
}

// NewHTTPHandler returns a handler that serves each request with next and
// observes it as OpenTelemetry's HTTP server semantic conventions say:
//
//   - "http.server.request.duration", a histogram in seconds with
//     metrics.DefaultBuckets, labelled MethodKey, StatusCodeKey, RouteKey
//     and ErrorTypeKey;
//   - "http.server.active_requests", a gauge of the requests being
//     served, labelled MethodKey;
//   - "http.server.panics", a counter of the panics it recovered,
//     labelled RouteKey and ErrorTypeKey;
//   - a span of server kind, a child of the trace context that the
//     Propagator extracts from the request's headers, named
//     "METHOD ROUTE" once the route is known, else "METHOD".
//
// The method is one of RFC 9110's and PATCH, or OtherMethod (the method
// sent is then the span's http.request.method_original). The span's
// attributes taken from the request (url.path, server.address,
// user_agent.original, the original method) are copied and cut to
// MaxAttributeLen bytes, so that a hostile client cannot make spans
// hold megabytes until they are exported. The route is
// the pattern of the http.ServeMux that next routes the request with
// (Request.Pattern, without its method and host), never the raw path, so
// that a path parameter cannot make a new series; it is empty when next
// does not route with a ServeMux. For the pattern to be seen, next must
// be the ServeMux, or reach it through middlewares that pass it the
// request they received rather than a copy. ErrorTypeKey is the status
// code for a 5xx response, the type of the panic value for a panic, and
// empty otherwise; an empty label is absent in Prometheus.
//
// A panic in next is recovered: the response is a 500 when nothing was
// written yet, the panic is counted, logged with its stack and recorded on
// the span, and the server keeps serving. When the response had begun
// already, the request is then aborted with http.ErrAbortHandler, as net/http
// does for a panic, so the client sees a broken response rather than a
// truncated one taken for whole. A panic with http.ErrAbortHandler itself
// is passed on without a log line.
//
// The ResponseWriter that next receives implements exactly the optional
// interfaces (http.Flusher, http.Hijacker, io.ReaderFrom, …) of the one
// it wraps, and http.ResponseController reaches the original: net/http's
// HTTP/1 writer gets a wrapper of its own, any other one is wrapped with
// httpsnoop.
//
// NewHTTPHandler returns an error when next is nil or the instruments
// cannot be declared on the Registry.
func NewHTTPHandler(next http.Handler, opts HTTPOptions) (http.Handler, error) {
	if next == nil {
		return nil, errors.New("middleware: http handler: nil next handler")
	}
	h := &httpHandler{next: next, tracer: opts.Tracer, prop: opts.propagator(), logger: opts.Logger}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	if reg := opts.Registry; reg != nil {
		var err error
		h.duration, err = reg.NewHistogram(metrics.Opts{
			Name:   "http.server.request.duration",
			Help:   "Duration of HTTP server requests.",
			Unit:   metrics.UnitSeconds,
			Labels: []string{MethodKey, StatusCodeKey, RouteKey, ErrorTypeKey},
		})
		if err != nil {
			return nil, fmt.Errorf("middleware: http handler: %w", err)
		}
		h.active, err = reg.NewGauge(metrics.Opts{
			Name:   "http.server.active_requests",
			Help:   "Number of active HTTP server requests.",
			Unit:   "{request}",
			Labels: []string{MethodKey},
		})
		if err != nil {
			return nil, fmt.Errorf("middleware: http handler: %w", err)
		}
		h.panics, err = reg.NewCounter(metrics.Opts{
			Name:   "http.server.panics",
			Help:   "Panics recovered from HTTP handlers.",
			Unit:   "{panic}",
			Labels: []string{RouteKey, ErrorTypeKey},
		})
		if err != nil {
			return nil, fmt.Errorf("middleware: http handler: %w", err)
		}
	}
	return h, nil
}

// responseState is what the wrapped ResponseWriter saw of the response.
type responseState struct {
	status   int  // the final status code sent, 0 until then
	hijacked bool // the connection was hijacked
}

func (s *responseState) wrote() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
}

// header records the status code of a WriteHeader call.
func (s *responseState) header(code int) {
	// 1xx responses are informational; the final one follows.
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status = code
	}
}

func (s *responseState) hooks() httpsnoop.Hooks {
	return httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				s.header(code)
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(b []byte) (int, error) {
				s.wrote()
				return next(b)
			}
		},
		WriteString: func(next httpsnoop.WriteStringFunc) httpsnoop.WriteStringFunc {
			return func(str string) (int, error) {
				s.wrote()
				return next(str)
			}
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) {
				s.wrote()
				return next(src)
			}
		},
		Flush: func(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() {
				s.wrote()
				next()
			}
		},
		Hijack: func(next httpsnoop.HijackFunc) httpsnoop.HijackFunc {
			return func() (net.Conn, *bufio.ReadWriter, error) {
				c, rw, err := next()
				if err == nil {
					s.hijacked = true
				}
				return c, rw, err
			}
		},
	}
}

// ServeHTTP implements http.Handler.
func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	begin := time.Now()
	method := knownMethod(r.Method)
	var active *metrics.GaugeMetric
	if h.active != nil {
		active = h.active.Bind(MethodKey, method)
		active.Add(1)
	}

	ctx := r.Context()
	var span trace.Span
	if h.tracer != nil {
		ctx = h.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
		ctx, span = h.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(serverAttributes(r, method)...))
		r = r.WithContext(ctx)
	}

	ww, st := wrapWriter(w)
	defer func() {
		rec := recover()
		route := routeOf(r.Pattern)
		var errType string
		abort := false
		if rec != nil {
			if rec == http.ErrAbortHandler {
				errType = abortErrorType
				abort = true
			} else {
				errType = fmt.Sprintf("%T", rec)
				abort = h.recovered(ctx, w, r, st, rec, route, errType, span)
			}
		} else if st.status >= 500 {
			errType = statusText(st.status)
		}
		status := st.status
		if status == 0 && !st.hijacked && rec == nil {
			status = http.StatusOK // net/http sends it when the handler wrote nothing
		}
		if h.duration != nil {
			h.duration.Bind(MethodKey, method, StatusCodeKey, statusText(status), RouteKey, route, ErrorTypeKey, errType).
				ObserveContext(ctx, time.Since(begin).Seconds())
		}
		if active != nil {
			active.Add(-1)
		}
		if span != nil {
			endServerSpan(span, spanName(r.Pattern, method, route), route, status, errType)
		}
		if abort {
			panic(http.ErrAbortHandler)
		}
	}()
	h.next.ServeHTTP(ww, r)
}

// recovered handles a panic with value rec: it answers 500 when it still
// can, counts, logs and records the panic. It reports whether the request
// must be aborted because the response had begun.
func (h *httpHandler) recovered(ctx context.Context, w http.ResponseWriter, r *http.Request, st *responseState, rec any, route, errType string, span trace.Span) bool {
	stack := debug.Stack()
	abort := st.status != 0 || st.hijacked
	if !abort {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, http.StatusText(http.StatusInternalServerError)+"\n")
		st.status = http.StatusInternalServerError
	}
	if h.panics != nil {
		h.panics.Bind(RouteKey, route, ErrorTypeKey, errType).Add(1)
	}
	perr := &PanicError{Value: rec, Stack: stack}
	h.logger.LogAttrs(ctx, slog.LevelError, panicMessage,
		slog.String(MethodKey, knownMethod(r.Method)),
		slog.String(RouteKey, route),
		slog.String(urlPathKey, sanitize.Cut(r.URL.Path, MaxAttributeLen)),
		slog.Any("panic", rec),
		slog.String("stack", string(stack)))
	if span != nil {
		span.RecordError(perr, trace.WithAttributes(attribute.String("exception.stacktrace", string(stack))))
	}
	return abort
}

func serverAttributes(r *http.Request, method string) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs,
		attribute.String(MethodKey, method),
		attribute.String(urlSchemeKey, scheme),
		attribute.String(urlPathKey, sanitize.Cut(r.URL.Path, MaxAttributeLen)),
		attribute.String(ServerAddrKey, sanitize.Cut(r.Host, MaxAttributeLen)),
	)
	if method == OtherMethod {
		attrs = append(attrs, attribute.String(methodOrigKey, sanitize.Cut(r.Method, maxMethodLen)))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, attribute.String(userAgentKey, sanitize.Cut(ua, MaxAttributeLen)))
	}
	if v := protoVersion(r.ProtoMajor, r.ProtoMinor); v != "" {
		attrs = append(attrs, attribute.String(protoVerKey, v))
	}
	return attrs
}

// spanName returns "METHOD ROUTE", reusing the pattern when it is that
// already, so that the common case makes no string.
func spanName(pattern, method, route string) string {
	if route == "" {
		return ""
	}
	if len(pattern) == len(method)+1+len(route) && strings.HasPrefix(pattern, method) &&
		pattern[len(method)] == ' ' && strings.HasSuffix(pattern, route) {
		return pattern
	}
	return method + " " + route
}

func endServerSpan(span trace.Span, name, route string, status int, errType string) {
	if route != "" {
		span.SetName(name)
		span.SetAttributes(attribute.String(RouteKey, route), attribute.Int(StatusCodeKey, status))
	} else if status != 0 {
		span.SetAttributes(attribute.Int(StatusCodeKey, status))
	}
	if errType != "" {
		span.SetAttributes(attribute.String(ErrorTypeKey, errType))
		// A server span fails on a 5xx or a panic, not on a 4xx: that
		// is the client's error.
		span.SetStatus(codes.Error, errType)
	}
	span.End()
}

// routeOf returns the path part of a ServeMux pattern,
// "[METHOD ][HOST]/PATH": the route of OpenTelemetry's conventions.
func routeOf(pattern string) string {
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		return pattern[i:]
	}
	return pattern
}

// knownMethod returns the constant for method when it is one of RFC
// 9110's or PATCH, else OtherMethod, so that a client cannot make new
// series with made-up methods. It returns the package-level constant,
// not method itself: net/http allocates r.Method afresh for every
// request, and a label value at a constant address is what the metrics
// registry's identity cache recognises without comparing bytes.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodConnect:
		return http.MethodConnect
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodTrace:
		return http.MethodTrace
	}
	return OtherMethod
}

// Bounds of the request-derived attributes the HTTP middlewares put on
// spans: a client controls them, and a span holds them until it is
// exported.
const (
	// MaxAttributeLen is the longest value, in bytes, of an attribute
	// taken from a request (user_agent.original, url.path,
	// server.address, url.full); longer ones are cut at a UTF-8
	// boundary at or below it.
	MaxAttributeLen = 1024
	// maxMethodLen bounds http.request.method_original.
	maxMethodLen = 64
)

// statusText returns code in decimal, without allocating for the common
// codes; 0 is "".
func statusText(code int) string {
	switch code {
	case 0:
		return ""
	case 200:
		return "200"
	case 201:
		return "201"
	case 202:
		return "202"
	case 204:
		return "204"
	case 301:
		return "301"
	case 302:
		return "302"
	case 304:
		return "304"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 405:
		return "405"
	case 409:
		return "409"
	case 422:
		return "422"
	case 429:
		return "429"
	case 500:
		return "500"
	case 502:
		return "502"
	case 503:
		return "503"
	case 504:
		return "504"
	}
	return strconv.Itoa(code)
}

func protoVersion(major, minor int) string {
	switch {
	case major == 1 && minor == 1:
		return "1.1"
	case major == 2:
		return "2"
	case major == 1 && minor == 0:
		return "1.0"
	case major == 3:
		return "3"
	}
	return ""
}
