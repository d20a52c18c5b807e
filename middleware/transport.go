package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/internal/sanitize"
	"github.com/obskit/obskit/metrics"
)

// transport is the http.RoundTripper that NewTransport returns.
type transport struct {
	base     http.RoundTripper
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	duration *metrics.HistogramMetric
}

// NewTransport returns a RoundTripper that sends each request with base
// (http.DefaultTransport when nil) and observes it as OpenTelemetry's HTTP
// client semantic conventions say:
//
//   - "http.client.request.duration", a histogram in seconds with
//     metrics.DefaultBuckets, labelled MethodKey, StatusCodeKey,
//     ServerAddrKey and ErrorTypeKey, measured until the response's
//     headers arrive;
//   - a span of client kind, named by the method, a child of the span in
//     the request's context, whose trace context the Propagator injects
//     into the headers sent. It ends when the response's headers arrive.
//
// ErrorTypeKey is the status code of a 4xx or 5xx response, the type of
// the error when there is no response, and empty otherwise. The request
// given to RoundTrip is not modified: the headers go out on a copy.
//
// NewTransport returns an error when the instrument cannot be declared on
// the Registry.
func NewTransport(base http.RoundTripper, opts HTTPOptions) (http.RoundTripper, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{base: base, tracer: opts.Tracer, prop: opts.propagator()}
	if reg := opts.Registry; reg != nil {
		var err error
		t.duration, err = reg.NewHistogram(metrics.Opts{
			Name:   "http.client.request.duration",
			Help:   "Duration of HTTP client requests.",
			Unit:   metrics.UnitSeconds,
			Labels: []string{MethodKey, StatusCodeKey, ServerAddrKey, ErrorTypeKey},
		})
		if err != nil {
			return nil, fmt.Errorf("middleware: http transport: %w", err)
		}
	}
	return t, nil
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("middleware: http transport: nil request or URL")
	}
	begin := time.Now()
	method := knownMethod(req.Method)
	host := req.URL.Hostname()
	ctx := req.Context()
	var span trace.Span
	if t.tracer != nil {
		attrs := []attribute.KeyValue{
			attribute.String(MethodKey, method),
			attribute.String(ServerAddrKey, sanitize.Cut(host, MaxAttributeLen)),
			attribute.String(urlFullKey, sanitize.Cut(req.URL.Redacted(), MaxAttributeLen)),
		}
		if p := req.URL.Port(); p != "" {
			attrs = append(attrs, attribute.String(serverPortKey, p))
		}
		if method == OtherMethod {
			attrs = append(attrs, attribute.String(methodOrigKey, sanitize.Cut(req.Method, maxMethodLen)))
		}
		ctx, span = t.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	}
	out := req.WithContext(ctx)
	out.Header = req.Header.Clone()
	if out.Header == nil {
		out.Header = make(http.Header)
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(out.Header))

	resp, err := t.base.RoundTrip(out)

	status := 0
	var errType string
	switch {
	case err != nil:
		errType = fmt.Sprintf("%T", err)
	case resp.StatusCode >= 400:
		status = resp.StatusCode
		errType = statusText(status)
	default:
		status = resp.StatusCode
	}
	if t.duration != nil {
		t.duration.Bind(MethodKey, method, StatusCodeKey, statusText(status), ServerAddrKey, host, ErrorTypeKey, errType).
			ObserveContext(ctx, time.Since(begin).Seconds())
	}
	if span != nil {
		if status != 0 {
			span.SetAttributes(attribute.Int(StatusCodeKey, status))
		}
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		} else if errType != "" {
			span.SetStatus(codes.Error, errType)
		}
		if errType != "" {
			span.SetAttributes(attribute.String(ErrorTypeKey, errType))
		}
		span.End()
	}
	return resp, err
}
