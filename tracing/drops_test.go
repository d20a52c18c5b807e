package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/tracing"
)

// gatedWriter blocks every Write until the gate opens: an exporter that
// cannot keep up.
type gatedWriter struct {
	gate chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	<-w.gate
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestDroppedSpansCounted: spans that end while the exporter is stuck and
// the queue is full are dropped, and every one is counted: in the
// registry as it happens, in the shutdown error and in the shutdown log
// line. Nothing is lost without a count.
func TestDroppedSpansCounted(t *testing.T) {
	w := &gatedWriter{gate: make(chan struct{})}
	mb := metricstest.New()
	var logs bytes.Buffer
	tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
		Writer:             w,
		MaxQueueSize:       8,
		MaxExportBatchSize: 4,
		BatchTimeout:       time.Millisecond,
		Registry:           metrics.New(mb),
		Logger:             slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	tr := tp.Tracer("test")
	for range n {
		_, span := tr.Start(context.Background(), "span")
		span.End()
	}
	queueFull := mb.Counter(tracing.SpansDroppedMetric, tracing.ReasonLabel, tracing.ReasonQueueFull)
	// At most the queue (8) can be waiting; the exporter is stuck on its
	// first batch, so at least n-8-4 were dropped.
	if queueFull < n-8-4 || queueFull > n-1 {
		t.Errorf("%s{queue_full} = %v before shutdown, want between %d and %d", tracing.SpansDroppedMetric, queueFull, n-8-4, n-1)
	}
	close(w.gate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), "dropped on a full queue") {
		t.Errorf("shutdown error = %v, want it to report the dropped spans", err)
	}
	exported := mb.Counter(tracing.SpansExportedMetric)
	written := strings.Count(w.buf.String(), `"SpanContext"`)
	if float64(written) != exported {
		t.Errorf("%s = %v, but %d spans were written", tracing.SpansExportedMetric, exported, written)
	}
	if exported+queueFull != n {
		t.Errorf("exported %v + dropped %v = %v, want every one of the %d spans", exported, queueFull, exported+queueFull, n)
	}

	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("shutdown log %q: %v", logs.String(), err)
	}
	if line["msg"] != "tracing shutdown" || line["level"] != "ERROR" ||
		line["exported"] != exported || line["dropped"] != queueFull || line[tracing.ReasonQueueFull] != queueFull {
		t.Errorf("shutdown log line = %v, want exported %v and dropped %v at ERROR", line, exported, queueFull)
	}
}

// TestNoDropsReportedWhenNoneLost: a provider that exports everything
// logs its count at Info and its shutdown returns nil.
func TestNoDropsReportedWhenNoneLost(t *testing.T) {
	var out, logs bytes.Buffer
	mb := metricstest.New()
	tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
		Writer: &out, Registry: metrics.New(mb), Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_, span := tp.Tracer("t").Start(context.Background(), "s")
		span.End()
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := mb.Counter(tracing.SpansExportedMetric); got != 10 {
		t.Errorf("%s = %v, want 10", tracing.SpansExportedMetric, got)
	}
	if !strings.Contains(logs.String(), `"level":"INFO","msg":"tracing shutdown","exporter":"stdout","exported":10,"dropped":0`) {
		t.Errorf("shutdown log = %s", logs.String())
	}
}

// TestShutdownCountsSpansNotEnded: a span still open when the provider
// shuts down is lost, and said so.
func TestShutdownCountsSpansNotEnded(t *testing.T) {
	var out bytes.Buffer
	tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{Writer: &out})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("t").Start(context.Background(), "open")
	err = shutdown(context.Background())
	span.End()
	if err == nil || !strings.Contains(err.Error(), "1 not ended by shutdown") {
		t.Errorf("shutdown error = %v, want it to report the open span", err)
	}
}

// TestSpanLimits: the provider bounds attribute values, attributes and
// events by default, and Options override the bounds.
func TestSpanLimits(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		opts                         tracing.Options
		wantLen, wantAttrs, wantEvts int
	}{
		{"defaults", tracing.Options{}, tracing.DefaultAttributeValueLengthLimit, tracing.DefaultAttributeCountLimit, tracing.DefaultEventCountLimit},
		{"set", tracing.Options{AttributeValueLengthLimit: 10, AttributeCountLimit: 5, EventCountLimit: 3}, 10, 5, 3},
		{"unlimited", tracing.Options{AttributeValueLengthLimit: -1, AttributeCountLimit: -1, EventCountLimit: -1}, 1 << 20, 300, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.opts.Writer = &out
			tc.opts.Sync = true
			tp, shutdown, err := tracing.NewProvider(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, span := tp.Tracer("t").Start(context.Background(), "s")
			span.SetAttributes(attribute.String("big", strings.Repeat("x", 1<<20)))
			for i := range 299 {
				span.SetAttributes(attribute.Int("a"+strings.Repeat("a", i), i))
			}
			for range 300 {
				span.AddEvent("e")
			}
			span.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Attributes []struct {
					Key   string
					Value struct{ Value any }
				}
				Events []any
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Attributes) != tc.wantAttrs {
				t.Errorf("%d attributes, want %d", len(got.Attributes), tc.wantAttrs)
			}
			if len(got.Events) != tc.wantEvts {
				t.Errorf("%d events, want %d", len(got.Events), tc.wantEvts)
			}
			if got.Attributes[0].Key != "big" || len(got.Attributes[0].Value.Value.(string)) != tc.wantLen {
				t.Errorf("attribute big is %d long, want %d", len(got.Attributes[0].Value.Value.(string)), tc.wantLen)
			}
		})
	}
}

// TestBlockingKeepsEverySpan: with Blocking, spans that end while the
// exporter is stuck and the queue is full wait for room; once the
// exporter moves again every one is exported and none is dropped.
func TestBlockingKeepsEverySpan(t *testing.T) {
	w := &gatedWriter{gate: make(chan struct{})}
	mb := metricstest.New()
	tp, shutdown, err := tracing.NewProvider(context.Background(), tracing.Options{
		Writer:             w,
		Blocking:           true,
		MaxQueueSize:       8,
		MaxExportBatchSize: 4,
		BatchTimeout:       time.Millisecond,
		Registry:           metrics.New(mb),
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	tr := tp.Tracer("test")
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for range n {
			_, span := tr.Start(context.Background(), "span")
			span.End()
		}
	}()
	select {
	case <-ended:
		t.Fatal("100 spans ended into a queue of 8 with the exporter stuck: End did not wait")
	case <-time.After(200 * time.Millisecond):
	}
	close(w.gate)
	<-ended
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if got := mb.Counter(tracing.SpansExportedMetric); got != n {
		t.Errorf("%s = %v, want %d", tracing.SpansExportedMetric, got, n)
	}
	if got := mb.Counter(tracing.SpansDroppedMetric, tracing.ReasonLabel, tracing.ReasonQueueFull); got != 0 {
		t.Errorf("%s{queue_full} = %v, want 0", tracing.SpansDroppedMetric, got)
	}
	if written := strings.Count(w.buf.String(), `"SpanContext"`); written != n {
		t.Errorf("%d spans written, want %d", written, n)
	}
}
