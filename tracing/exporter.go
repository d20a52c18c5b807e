package tracing

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/obskit/obskit/metrics"
)

// Names of the instruments that NewProvider declares on Options.Registry.
const (
	// SpansExportedMetric counts the spans the exporter accepted.
	SpansExportedMetric = "tracing.spans.exported"
	// SpansDroppedMetric counts the spans that ended but were never
	// exported, labelled with ReasonLabel.
	SpansDroppedMetric = "tracing.spans.dropped"
	// ReasonLabel says why a span was dropped: ReasonQueueFull,
	// ReasonExportFailed or ReasonShutdown.
	ReasonLabel = "reason"

	// ReasonQueueFull is a span that ended while the batch queue held
	// Options.MaxQueueSize spans: the exporter did not keep up.
	ReasonQueueFull = "queue_full"
	// ReasonExportFailed is a span of a batch the exporter returned an
	// error for.
	ReasonExportFailed = "export_failed"
	// ReasonShutdown is a span that had not been exported when shutdown
	// ended (its context expired first), or that had not ended by then.
	ReasonShutdown = "shutdown"
)

// spanCounts is what happened to the sampled spans of a provider.
type spanCounts struct {
	started, ended       atomic.Int64
	exported, failed     atomic.Int64
	dropped              atomic.Int64 // queue full
	pending              atomic.Int64 // handed to the batch processor, not yet given to the exporter
	exportedM, droppedQM *metrics.CounterMetric
	failedM, shutdownM   *metrics.CounterMetric

	mu      sync.Mutex
	lastErr error
}

func newSpanCounts(reg *metrics.Registry) (*spanCounts, error) {
	c := new(spanCounts)
	if reg == nil {
		return c, nil
	}
	exported, err := reg.NewCounter(metrics.Opts{
		Name: SpansExportedMetric,
		Help: "Spans the trace exporter accepted.",
		Unit: "{span}",
	})
	if err != nil {
		return nil, err
	}
	dropped, err := reg.NewCounter(metrics.Opts{
		Name:   SpansDroppedMetric,
		Help:   "Spans that ended but were never exported, by reason.",
		Unit:   "{span}",
		Labels: []string{ReasonLabel},
	})
	if err != nil {
		return nil, err
	}
	c.exportedM = exported.Bind()
	c.droppedQM = dropped.Bind(ReasonLabel, ReasonQueueFull)
	c.failedM = dropped.Bind(ReasonLabel, ReasonExportFailed)
	c.shutdownM = dropped.Bind(ReasonLabel, ReasonShutdown)
	return c, nil
}

func add(m *metrics.CounterMetric, n int) {
	if m != nil {
		m.Add(float64(n))
	}
}

// countingProcessor sits in front of the span processor and counts every
// sampled span through it. For the batch processor it also bounds the
// spans in flight itself, at the batch processor's queue size, and drops
// what is past the bound: the batch processor's own drops are silent, so
// the bound is kept here, where each drop can be counted, and the batch
// processor's queue never fills.
type countingProcessor struct {
	sdktrace.SpanProcessor
	c   *spanCounts
	max int64 // the bound on pending spans; 0 for none
}

func (p *countingProcessor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	if s.SpanContext().IsSampled() {
		p.c.started.Add(1)
	}
	p.SpanProcessor.OnStart(ctx, s)
}

func (p *countingProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return // neither processor exports it
	}
	p.c.ended.Add(1)
	if p.max > 0 {
		if p.c.pending.Add(1) > p.max {
			p.c.pending.Add(-1)
			p.c.dropped.Add(1)
			add(p.c.droppedQM, 1)
			return
		}
	}
	p.SpanProcessor.OnEnd(s)
}

// countingExporter counts the spans its exporter delivered and failed to
// deliver, and takes them off the pending count of countingProcessor.
type countingExporter struct {
	sdktrace.SpanExporter
	c *spanCounts
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	n := len(spans)
	e.c.pending.Add(-int64(n))
	if err != nil {
		e.c.failed.Add(int64(n))
		add(e.c.failedM, n)
		e.c.mu.Lock()
		e.c.lastErr = err
		e.c.mu.Unlock()
		return err
	}
	e.c.exported.Add(int64(n))
	add(e.c.exportedM, n)
	return nil
}

// report is the summary of a provider's life, taken after its shutdown.
type report struct {
	exported, queueFull, failed, unsent, open int64
	lastErr                                   error
}

func (c *spanCounts) report() report {
	r := report{
		exported:  c.exported.Load(),
		queueFull: c.dropped.Load(),
		failed:    c.failed.Load(),
		open:      c.started.Load() - c.ended.Load(),
	}
	r.unsent = c.ended.Load() - r.exported - r.queueFull - r.failed
	if r.open < 0 {
		r.open = 0
	}
	if r.unsent < 0 {
		r.unsent = 0
	}
	add(c.shutdownM, int(r.unsent+r.open))
	c.mu.Lock()
	r.lastErr = c.lastErr
	c.mu.Unlock()
	return r
}

func (r report) lost() int64 { return r.queueFull + r.failed + r.unsent + r.open }

// err describes the spans that were never exported, or is nil.
func (r report) err() error {
	if r.lost() == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d spans were not exported (%d dropped on a full queue, %d failed to export, %d unsent at shutdown, %d not ended by shutdown)",
		r.lost(), r.queueFull, r.failed, r.unsent, r.open)
	if r.lastErr != nil {
		return fmt.Errorf("%s, last export error: %w", msg, r.lastErr)
	}
	return fmt.Errorf("%s", msg)
}

// log writes the one line that says what became of the spans.
func (r report) log(ctx context.Context, logger *slog.Logger, exporter Exporter) {
	if logger == nil {
		return
	}
	level := slog.LevelInfo
	if r.lost() > 0 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("exporter", string(exporter)),
		slog.Int64("exported", r.exported),
		slog.Int64("dropped", r.lost()),
		slog.Int64(ReasonQueueFull, r.queueFull),
		slog.Int64(ReasonExportFailed, r.failed),
		slog.Int64("unsent_at_shutdown", r.unsent),
		slog.Int64("not_ended_at_shutdown", r.open),
	}
	if r.lastErr != nil {
		attrs = append(attrs, slog.String("last_error", r.lastErr.Error()))
	}
	logger.LogAttrs(ctx, level, "tracing shutdown", attrs...)
}

// bufferedExporter gives the stdout exporter a buffered writer, flushed
// after every batch: stdouttrace writes each span with its own Write, one
// system call per span on a file, which is what made the queue overflow
// under load.
type bufferedExporter struct {
	sdktrace.SpanExporter
	mu sync.Mutex
	w  *bufio.Writer
}

func newBufferedWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 64<<10) }

func (e *bufferedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		return err
	}
	return e.w.Flush()
}

func (e *bufferedExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	ferr := e.w.Flush()
	e.mu.Unlock()
	if err := e.SpanExporter.Shutdown(ctx); err != nil {
		return err
	}
	return ferr
}

// exportTimeout bounds one export of concurrentExporter, as the batch
// processor's own export timeout (the SDK's default, 30 s) bounds one
// of its synchronous exports.
const exportTimeout = 30 * time.Second

// concurrentExporter lets the batch processor hand over a batch and go
// back to filling the next one while up to cap(slots) exports are in
// flight. The batch processor exports one batch at a time and waits for
// the collector's answer before it starts the next: with a collector
// that answers in milliseconds, that wait, not CPU, bounds the spans a
// second a service can export, and the queue fills behind it.
type concurrentExporter struct {
	next  sdktrace.SpanExporter
	slots chan struct{} // one element per export in flight
}

func newConcurrentExporter(next sdktrace.SpanExporter, n int) *concurrentExporter {
	return &concurrentExporter{next: next, slots: make(chan struct{}, n)}
}

// ExportSpans waits for a free slot (so that at most n batches are in
// flight, and memory stays bounded), then exports a copy of spans, which
// the batch processor reuses once this returns, on a goroutine of its
// own. The outcome is counted by the countingExporter behind it and a
// failure goes to otel.Handle, as the batch processor does with the
// error it is returned.
func (e *concurrentExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	batch := slices.Clone(spans)
	go func() {
		defer func() { <-e.slots }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), exportTimeout)
		defer cancel()
		if err := e.next.ExportSpans(ctx, batch); err != nil {
			otel.Handle(err)
		}
	}()
	return nil
}

// Shutdown waits, within ctx, for the exports in flight, by taking
// every slot, then shuts the exporter behind it down. The batch
// processor exports nothing after it, so the slots stay taken. Spans of
// exports still in flight when ctx ends are counted as unsent at
// shutdown.
func (e *concurrentExporter) Shutdown(ctx context.Context) error {
	for range cap(e.slots) {
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return e.next.Shutdown(ctx)
}
