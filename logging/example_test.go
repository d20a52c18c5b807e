package logging_test

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/middleware"
)

func Example() {
	// In func main: one logger for the service. The zero Options write
	// JSON at Info and above; nil writes to os.Stdout. ReplaceAttr drops
	// the time and duration here only so that the output is fixed.
	logger := logging.New(os.Stdout, logging.Options{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == middleware.LogDurationKey {
				return slog.Attr{}
			}
			return a
		},
	})

	// A context holding a span, as the tracing middleware or an incoming
	// traceparent header would give one.
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
		SpanID:     trace.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74},
		TraceFlags: trace.FlagsSampled,
	}))

	div := logging.EndpointMiddleware[[2]int, int](logger, "Div", logging.EndpointOptions{})(func(_ context.Context, req [2]int) (int, error) {
		if req[1] == 0 {
			return 0, errors.New("division by zero")
		}
		return req[0] / req[1], nil
	})
	div(ctx, [2]int{6, 3})
	div(ctx, [2]int{1, 0})
	logger.InfoContext(ctx, "done")
	// Output:
	// {"level":"INFO","msg":"endpoint call","operation":"Div","trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174"}
	// {"level":"ERROR","msg":"endpoint call","operation":"Div","error":"division by zero","trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174"}
	// {"level":"INFO","msg":"done","trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174"}
}
