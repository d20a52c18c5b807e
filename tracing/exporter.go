package tracing

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// countingExporter counts the spans its exporter failed to deliver. The
// SDK's span processors hand export errors only to the global
// otel.Handle; counting them here lets shutdown report what was lost.
type countingExporter struct {
	sdktrace.SpanExporter
	failed  atomic.Int64
	mu      sync.Mutex
	lastErr error
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.failed.Add(int64(len(spans)))
		e.mu.Lock()
		e.lastErr = err
		e.mu.Unlock()
	}
	return err
}

// lost returns an error describing the spans that were never exported,
// or nil.
func (e *countingExporter) lost() error {
	n := e.failed.Load()
	if n == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Errorf("%d spans were not exported, last error: %w", n, e.lastErr)
}
