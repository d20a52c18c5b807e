package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/logging"
)

// spanContext returns a context holding a real SDK span, and the span.
func spanContext(t *testing.T) (context.Context, trace.Span) {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("logging_test").Start(context.Background(), "op")
	t.Cleanup(func() { span.End() })
	return ctx, span
}

// records parses the JSON lines in buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		recs = append(recs, m)
	}
	return recs
}

func TestTraceHandlerAddsIDs(t *testing.T) {
	ctx, span := spanContext(t)
	sc := span.SpanContext()
	var buf bytes.Buffer
	logger := slog.New(logging.NewTraceHandler(slog.NewJSONHandler(&buf, nil)))

	logger.InfoContext(ctx, "with span", "k", "v")
	logger.InfoContext(context.Background(), "no span")
	logger.Info("no context")
	// A span context that is not valid (zero IDs) adds nothing.
	logger.InfoContext(trace.ContextWithSpanContext(context.Background(), trace.SpanContext{}), "invalid span")

	recs := records(t, &buf)
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4:\n%s", len(recs), buf.String())
	}
	if recs[0][logging.TraceIDKey] != sc.TraceID().String() || recs[0][logging.SpanIDKey] != sc.SpanID().String() {
		t.Errorf("record with span = %v, want trace_id %s and span_id %s", recs[0], sc.TraceID(), sc.SpanID())
	}
	if recs[0]["k"] != "v" {
		t.Errorf("record lost its own attribute: %v", recs[0])
	}
	for _, r := range recs[1:] {
		if _, ok := r[logging.TraceIDKey]; ok {
			t.Errorf("record %q has a trace_id: %v", r["msg"], r)
		}
		if _, ok := r[logging.SpanIDKey]; ok {
			t.Errorf("record %q has a span_id: %v", r["msg"], r)
		}
	}
}

func TestTraceHandlerAttrsAndGroups(t *testing.T) {
	ctx, span := spanContext(t)
	tid := span.SpanContext().TraceID().String()

	var buf bytes.Buffer
	root := slog.New(logging.NewTraceHandler(slog.NewJSONHandler(&buf, nil)))
	svc := root.With("service", "addsvc")
	req := svc.WithGroup("req").With("id", 7)
	inner := req.WithGroup("db").With("table", "sums")
	sibling := req.With("sibling", true) // must not see inner's group

	svc.InfoContext(ctx, "svc", "n", 1)
	req.InfoContext(ctx, "req", "n", 2)
	inner.InfoContext(ctx, "inner", "n", 3)
	sibling.InfoContext(ctx, "sibling", "n", 4)
	req.InfoContext(context.Background(), "req without span", "n", 5)
	root.WithGroup("").With().InfoContext(ctx, "empty group and attrs")

	recs := records(t, &buf)
	if len(recs) != 6 {
		t.Fatalf("%d records, want 6:\n%s", len(recs), buf.String())
	}
	want := []string{
		`{"msg":"svc","n":1,"service":"addsvc","span_id":"S","trace_id":"T"}`,
		`{"msg":"req","req":{"id":7,"n":2},"service":"addsvc","span_id":"S","trace_id":"T"}`,
		`{"msg":"inner","req":{"db":{"n":3,"table":"sums"},"id":7},"service":"addsvc","span_id":"S","trace_id":"T"}`,
		`{"msg":"sibling","req":{"id":7,"n":4,"sibling":true},"service":"addsvc","span_id":"S","trace_id":"T"}`,
		`{"msg":"req without span","req":{"id":7,"n":5},"service":"addsvc"}`,
		`{"msg":"empty group and attrs","span_id":"S","trace_id":"T"}`,
	}
	for i, r := range recs {
		if r[logging.TraceIDKey] != nil && r[logging.TraceIDKey] != tid {
			t.Errorf("record %d: trace_id %v, want %s", i, r[logging.TraceIDKey], tid)
		}
		delete(r, "time")
		delete(r, "level")
		if r[logging.TraceIDKey] != nil {
			r[logging.TraceIDKey] = "T"
			r[logging.SpanIDKey] = "S"
		}
		got, _ := json.Marshal(r) // map keys sorted
		if string(got) != want[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

func TestTraceHandlerConcurrent(t *testing.T) {
	ctx, _ := spanContext(t)
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, nil)
	logger := slog.New(logging.NewTraceHandler(h)).WithGroup("g").With("a", 1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := logger.With("worker", i)
			for range 50 {
				l.InfoContext(ctx, "m")
				l.WithGroup("sub").InfoContext(ctx, "m", "x", 2)
			}
		})
	}
	wg.Wait()
	if n := len(records(t, &buf)); n != 8*50*2 {
		t.Errorf("%d records, want %d", n, 8*50*2)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestTraceHandlerNil(t *testing.T) {
	logger := slog.New(logging.NewTraceHandler(nil))
	if logger.Enabled(context.Background(), slog.LevelError) {
		t.Error("a TraceHandler around nil handles records; want it to discard them")
	}
	logger.Error("dropped") // must not panic
}

func TestNew(t *testing.T) {
	ctx, span := spanContext(t)
	tid := span.SpanContext().TraceID().String()

	t.Run("json default", func(t *testing.T) {
		var buf bytes.Buffer
		logger := logging.New(&buf, logging.Options{})
		logger.DebugContext(ctx, "hidden")
		logger.InfoContext(ctx, "shown")
		recs := records(t, &buf)
		if len(recs) != 1 || recs[0]["msg"] != "shown" || recs[0]["level"] != "INFO" || recs[0][logging.TraceIDKey] != tid {
			t.Errorf("records = %v, want one INFO record \"shown\" with trace_id %s", recs, tid)
		}
	})
	t.Run("level", func(t *testing.T) {
		var buf bytes.Buffer
		lv := new(slog.LevelVar)
		lv.Set(slog.LevelDebug)
		logger := logging.New(&buf, logging.Options{Level: lv})
		logger.DebugContext(ctx, "debug")
		lv.Set(slog.LevelWarn)
		logger.InfoContext(ctx, "info")
		recs := records(t, &buf)
		if len(recs) != 1 || recs[0]["msg"] != "debug" {
			t.Errorf("records = %v, want only the debug record", recs)
		}
	})
	t.Run("text", func(t *testing.T) {
		var buf bytes.Buffer
		logger := logging.New(&buf, logging.Options{Text: true})
		logger.With("svc", "addsvc").WithGroup("req").InfoContext(ctx, "hello", "id", 7)
		line := buf.String()
		for _, want := range []string{"level=INFO", "msg=hello", "svc=addsvc", "req.id=7", "trace_id=" + tid, "span_id=" + span.SpanContext().SpanID().String()} {
			if !strings.Contains(line, want) {
				t.Errorf("text line %q lacks %q", line, want)
			}
		}
		if strings.HasPrefix(line, "{") {
			t.Errorf("text option wrote JSON: %q", line)
		}
	})
	t.Run("replace attr and source", func(t *testing.T) {
		var buf bytes.Buffer
		logger := logging.New(&buf, logging.Options{
			AddSource: true,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		})
		logger.Info("x")
		recs := records(t, &buf)
		if _, ok := recs[0][slog.TimeKey]; ok {
			t.Errorf("ReplaceAttr not applied: %v", recs[0])
		}
		if _, ok := recs[0][slog.SourceKey]; !ok {
			t.Errorf("AddSource not applied: %v", recs[0])
		}
	})
}
