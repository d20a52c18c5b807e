package tracing

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// slowExporter holds every export until release is closed, and records
// the most exports in flight at once and the spans it received.
type slowExporter struct {
	release           chan struct{}
	inFlight, maxSeen atomic.Int64
	mu                sync.Mutex
	names             []string
	shutdown          bool
}

func (e *slowExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := e.inFlight.Add(1)
	defer e.inFlight.Add(-1)
	for {
		m := e.maxSeen.Load()
		if n <= m || e.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	<-e.release
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range spans {
		e.names = append(e.names, s.Name())
	}
	return nil
}

func (e *slowExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutdown = true
	return nil
}

// TestConcurrentExporter: ExportSpans returns at once while up to n
// exports are in flight, then waits for a slot; the batch handed over is
// a copy (the batch processor reuses its slice); Shutdown waits for the
// exports in flight before it shuts the next exporter down.
func TestConcurrentExporter(t *testing.T) {
	next := &slowExporter{release: make(chan struct{})}
	e := newConcurrentExporter(next, 2)
	spans := tracetest.SpanStubs{{Name: "a"}, {Name: "b"}}.Snapshots()
	ctx := context.Background()
	for range 2 {
		batch := append([]sdktrace.ReadOnlySpan(nil), spans...)
		if err := e.ExportSpans(ctx, batch); err != nil {
			t.Fatal(err)
		}
		clear(batch) // as the batch processor does once ExportSpans returns
	}
	third := make(chan error, 1)
	go func() { third <- e.ExportSpans(ctx, spans) }()
	select {
	case err := <-third:
		t.Fatalf("a third export with 2 in flight returned (%v) instead of waiting for a slot", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(next.release)
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(ctx); err != nil { // waits for the third export
		t.Fatal(err)
	}
	next.mu.Lock()
	defer next.mu.Unlock()
	if len(next.names) != 6 || !next.shutdown {
		t.Errorf("exported %v, shut down %v; want 6 spans, then shut down", next.names, next.shutdown)
	}
	if m := next.maxSeen.Load(); m != 2 {
		t.Errorf("%d exports in flight at most, want 2", m)
	}
}
