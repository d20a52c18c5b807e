package middleware_test

import (
	"context"

	oteltrace "go.opentelemetry.io/otel/trace"
)

// trace reports whether ctx holds a valid span.
func trace(ctx context.Context) bool {
	return oteltrace.SpanContextFromContext(ctx).IsValid()
}
