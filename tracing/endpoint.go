package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/obskit/obskit/middleware"
)

// BusinessErrorKey is the attribute that EndpointMiddleware sets to true on
// a span, and on its exception event, when the error came from the
// response's Failed method rather than from the endpoint's returned error.
const BusinessErrorKey = attribute.Key("obskit.business_error")

// Option configures EndpointMiddleware.
type Option func(*endpointConfig)

type endpointConfig struct {
	ignoreBusiness bool
	kind           trace.SpanKind
	attrs          []attribute.KeyValue
}

// IgnoreBusinessErrors makes EndpointMiddleware leave a span's status
// unset when the endpoint succeeded but its response reports an error
// through middleware.Failer, as Go kit's opentracing package does with
// its IgnoreBusinessError option. Returned errors still mark the span.
func IgnoreBusinessErrors() Option {
	return func(c *endpointConfig) { c.ignoreBusiness = true }
}

// WithSpanKind sets the kind of the spans EndpointMiddleware starts; the
// default is trace.SpanKindInternal. Use trace.SpanKindServer for an
// endpoint that a transport calls on behalf of a remote client.
func WithSpanKind(kind trace.SpanKind) Option {
	return func(c *endpointConfig) { c.kind = kind }
}

// WithAttributes adds attrs to every span EndpointMiddleware starts. They
// are fixed when the middleware is built, so they cost no work per call.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *endpointConfig) { c.attrs = append(c.attrs, attrs...) }
}

// EndpointMiddleware returns a middleware that starts one span per call,
// named operation, as a child of the span in the call's context, and ends
// it when the endpoint returns. The endpoint runs with the new span in its
// context, so spans it starts are children of it.
//
// A returned error is recorded on the span (RecordError) and sets its
// status to codes.Error with the error's text. So does a business error,
// reported by a response that implements middleware.Failer, which is
// also marked with BusinessErrorKey; IgnoreBusinessErrors leaves those
// spans alone. A nil tracer means a no-op tracer.
func EndpointMiddleware[Req, Resp any](tracer trace.Tracer, operation string, opts ...Option) middleware.Middleware[Req, Resp] {
	if tracer == nil {
		tracer = noop.NewTracerProvider().Tracer("")
	}
	cfg := endpointConfig{kind: trace.SpanKindInternal}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	// Everything a call needs is built here, once, so that a call adds
	// nothing to what the SDK itself allocates for a span.
	start := []trace.SpanStartOption{trace.WithSpanKind(cfg.kind)}
	if len(cfg.attrs) > 0 {
		start = append(start, trace.WithAttributes(cfg.attrs...))
	}
	businessEvent := []trace.EventOption{trace.WithAttributes(BusinessErrorKey.Bool(true))}
	businessAttr := BusinessErrorKey.Bool(true)
	var failed func(Resp) error
	if !cfg.ignoreBusiness {
		failed = middleware.FailedFunc[Resp]()
	}

	return func(next middleware.Endpoint[Req, Resp]) middleware.Endpoint[Req, Resp] {
		return func(ctx context.Context, req Req) (Resp, error) {
			ctx, span := tracer.Start(ctx, operation, start...)
			defer span.End()

			resp, err := next(ctx, req)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
				return resp, err
			}
			if failed != nil {
				if berr := failed(resp); berr != nil {
					span.SetAttributes(businessAttr)
					span.RecordError(berr, businessEvent...)
					span.SetStatus(codes.Error, berr.Error())
				}
			}
			return resp, nil
		}
	}
}
