package middleware_test

import (
	"context"

	oteltrace "go.opentelemetry.io/otel/trace"
)

// hasSpan reports whether ctx holds a valid span.
func hasSpan(ctx context.Context) bool {
	return oteltrace.SpanContextFromContext(ctx).IsValid()
}
