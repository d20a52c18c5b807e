package logging_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/middleware"
)

type response struct{ Err error }

func (r response) Failed() error { return r.Err }

func TestEndpointMiddleware(t *testing.T) {
	ctx, span := spanContext(t)
	for _, tc := range []struct {
		name      string
		opts      logging.EndpointOptions
		resp      response
		err       error
		wantLevel string
		wantErr   any // the error attribute, nil when absent
	}{
		{name: "success", wantLevel: "INFO"},
		{name: "business error", resp: response{Err: errors.New("insufficient funds")}, wantLevel: "WARN", wantErr: "insufficient funds"},
		{name: "returned error", err: errors.New("connection refused"), wantLevel: "ERROR", wantErr: "connection refused"},
		{name: "returned error wins", resp: response{Err: errors.New("business")}, err: errors.New("transport"), wantLevel: "ERROR", wantErr: "transport"},
		{name: "business error ignored", opts: logging.EndpointOptions{IgnoreBusinessErrors: true}, resp: response{Err: errors.New("insufficient funds")}, wantLevel: "INFO"},
		{name: "returned error despite ignore", opts: logging.EndpointOptions{IgnoreBusinessErrors: true}, err: errors.New("connection refused"), wantLevel: "ERROR", wantErr: "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := logging.New(&buf, logging.Options{})
			ep := logging.EndpointMiddleware[int, response](logger, "Sum", tc.opts)(func(context.Context, int) (response, error) {
				return tc.resp, tc.err
			})
			resp, err := ep(ctx, 1)
			if resp != tc.resp || err != tc.err {
				t.Fatalf("got (%v, %v), want the inner endpoint's (%v, %v)", resp, err, tc.resp, tc.err)
			}
			recs := records(t, &buf)
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			r := recs[0]
			if r["level"] != tc.wantLevel || r["msg"] != logging.EndpointMessage || r[middleware.LogOperationKey] != "Sum" {
				t.Errorf("record = %v, want level %s, msg %q, operation Sum", r, tc.wantLevel, logging.EndpointMessage)
			}
			if r[middleware.LogErrorKey] != tc.wantErr {
				t.Errorf("error = %v, want %v", r[middleware.LogErrorKey], tc.wantErr)
			}
			if d, ok := r[middleware.LogDurationKey].(float64); !ok || d < 0 || d > 10 {
				t.Errorf("duration = %#v, want a float number of seconds", r[middleware.LogDurationKey])
			}
			if r[logging.TraceIDKey] != span.SpanContext().TraceID().String() {
				t.Errorf("trace_id = %v, want the span's %s", r[logging.TraceIDKey], span.SpanContext().TraceID())
			}
		})
	}
}

func TestEndpointMiddlewareLevelFilter(t *testing.T) {
	var buf bytes.Buffer
	logger := logging.New(&buf, logging.Options{Level: slog.LevelWarn})
	ok := logging.EndpointMiddleware[int, int](logger, "ok", logging.EndpointOptions{})(func(context.Context, int) (int, error) { return 0, nil })
	bad := logging.EndpointMiddleware[int, int](logger, "bad", logging.EndpointOptions{})(func(context.Context, int) (int, error) { return 0, errors.New("boom") })
	ok(context.Background(), 1)
	bad(context.Background(), 1)
	recs := records(t, &buf)
	if len(recs) != 1 || recs[0][middleware.LogOperationKey] != "bad" {
		t.Errorf("records = %v, want only the failed call at Warn and above", recs)
	}
}

func TestEndpointMiddlewareNilLogger(t *testing.T) {
	ep := logging.EndpointMiddleware[int, int](nil, "op", logging.EndpointOptions{})(func(_ context.Context, n int) (int, error) { return n + 1, nil })
	if n, err := ep(context.Background(), 1); n != 2 || err != nil {
		t.Errorf("got (%d, %v), want (2, nil)", n, err)
	}
}

func TestEndpointMiddlewareDisabledAllocs(t *testing.T) {
	// Below the logger's level, a call costs no allocation.
	logger := logging.New(&bytes.Buffer{}, logging.Options{Level: slog.LevelError})
	ep := logging.EndpointMiddleware[int, int](logger, "op", logging.EndpointOptions{})(func(_ context.Context, n int) (int, error) { return n, nil })
	if a := testing.AllocsPerRun(100, func() { ep(context.Background(), 1) }); a != 0 {
		t.Errorf("%v allocs per disabled call, want 0", a)
	}
}

func BenchmarkEndpointMiddleware(b *testing.B) {
	logger := logging.New(io.Discard, logging.Options{})
	ep := logging.EndpointMiddleware[int, response](logger, "op", logging.EndpointOptions{})(func(context.Context, int) (response, error) {
		return response{}, nil
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ep(ctx, 1)
	}
}
