package tracing

import (
	"context"
	"fmt"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
)

// BusinessErrorKey is the attribute that EndpointMiddleware sets to true on
// a span, and on its exception event, when the error came from the
// response's Failed method rather than from the endpoint's returned error.
const BusinessErrorKey = attribute.Key("obskit.business_error")

// EndpointOptions configures EndpointMiddleware. The zero value is
// valid: spans of internal kind, no extra attributes, business errors
// recorded.
type EndpointOptions struct {
	// IgnoreBusinessErrors leaves a span's status unset when the
	// endpoint succeeded but its response reports an error through
	// middleware.Failer, as Go kit's opentracing package does with its
	// IgnoreBusinessError option. Returned errors and panics still mark
	// the span. The field has the same name and meaning in
	// middleware.InstrumentingOptions and logging.EndpointOptions.
	IgnoreBusinessErrors bool

	// SpanKind is the kind of the spans; zero (trace.SpanKindUnspecified)
	// means trace.SpanKindInternal. Use trace.SpanKindServer for an
	// endpoint that a transport calls on behalf of a remote client.
	SpanKind trace.SpanKind

	// Attributes are added to every span. They are fixed when the
	// middleware is built, so they cost no work per call.
	Attributes []attribute.KeyValue
}

// EndpointMiddleware returns a middleware that starts one span per call,
// named operation, as a child of the span in the call's context, and ends
// it when the endpoint returns. The endpoint runs with the new span in its
// context, so spans it starts are children of it.
//
// A returned error is recorded on the span (RecordError) and sets its
// status to codes.Error with the error's text. So does a business error,
// reported by a response that implements middleware.Failer, which is
// also marked with BusinessErrorKey; opts.IgnoreBusinessErrors leaves
// those spans alone. A panic in the endpoint is recorded as an exception
// event (a *middleware.PanicError with the stack) and sets the status
// to codes.Error; the span is ended and the panic goes on with the same
// value, so that the transport's recover still answers. A nil tracer
// means a no-op tracer.
func EndpointMiddleware[Req, Resp any](tracer trace.Tracer, operation string, opts EndpointOptions) middleware.Middleware[Req, Resp] {
	if tracer == nil {
		tracer = noop.NewTracerProvider().Tracer("")
	}
	kind := opts.SpanKind
	if kind == trace.SpanKindUnspecified {
		kind = trace.SpanKindInternal
	}
	// Everything a call needs is built here, once, so that a call adds
	// nothing to what the SDK itself allocates for a span.
	start := []trace.SpanStartOption{trace.WithSpanKind(kind)}
	if len(opts.Attributes) > 0 {
		start = append(start, trace.WithAttributes(slices.Clone(opts.Attributes)...))
	}
	businessEvent := []trace.EventOption{trace.WithAttributes(BusinessErrorKey.Bool(true))}
	businessAttr := BusinessErrorKey.Bool(true)
	var failed func(Resp) error
	if !opts.IgnoreBusinessErrors {
		failed = middleware.FailedFunc[Resp]()
	}

	return func(next middleware.Endpoint[Req, Resp]) middleware.Endpoint[Req, Resp] {
		if next == nil {
			return func(context.Context, Req) (Resp, error) {
				var zero Resp
				return zero, errNilEndpoint
			}
		}
		return func(ctx context.Context, req Req) (Resp, error) {
			ctx, span := tracer.Start(ctx, operation, start...)
			returned := false
			defer func() {
				if returned {
					span.End()
					return
				}
				r := recover()
				if r == nil { // runtime.Goexit: not a panic, nothing to pass on
					span.End()
					return
				}
				endPanicked(span, r)
				panic(r)
			}()

			resp, err := next(ctx, req)
			returned = true
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

// endPanicked records the panic with value r on span, fails it and ends
// it.
func endPanicked(span trace.Span, r any) {
	perr := &middleware.PanicError{Value: r}
	span.RecordError(perr, trace.WithStackTrace(true))
	span.SetStatus(codes.Error, perr.Error())
	span.End()
}

// errNilEndpoint is the error of the endpoint that EndpointMiddleware's
// middleware returns for a nil one, instead of a panic in the call.
var errNilEndpoint = fmt.Errorf("tracing: %w: nil endpoint", metrics.ErrInvalidOption)
