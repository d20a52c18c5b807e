package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
)

type sumResponse struct {
	V   int
	Err error
}

func (r sumResponse) Failed() error { return r.Err }

func newInstrumenting(t testing.TB, opts middleware.InstrumentingOptions) (*metricstest.Backend, *middleware.Instrumenting) {
	t.Helper()
	b := metricstest.New()
	in, err := middleware.NewInstrumenting(metrics.New(b), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b, in
}

func TestInstrument(t *testing.T) {
	boom := errors.New("boom")
	refused := errors.New("refused")
	for _, tc := range []struct {
		name        string
		opts        middleware.InstrumentingOptions
		resp        sumResponse
		err         error
		wantOutcome string
	}{
		{"success", middleware.InstrumentingOptions{}, sumResponse{V: 3}, nil, middleware.OutcomeSuccess},
		{"returned error", middleware.InstrumentingOptions{}, sumResponse{}, boom, middleware.OutcomeError},
		{"returned error beats business error", middleware.InstrumentingOptions{}, sumResponse{Err: refused}, boom, middleware.OutcomeError},
		{"business error", middleware.InstrumentingOptions{}, sumResponse{Err: refused}, nil, middleware.OutcomeBusinessError},
		{"business error ignored", middleware.InstrumentingOptions{IgnoreBusinessErrors: true}, sumResponse{Err: refused}, nil, middleware.OutcomeSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, in := newInstrumenting(t, tc.opts)
			e := middleware.Instrument[int, sumResponse](in, "Sum")(func(context.Context, int) (sumResponse, error) {
				return tc.resp, tc.err
			})
			for range 3 {
				resp, err := e(context.Background(), 1)
				if resp != tc.resp || err != tc.err {
					t.Fatalf("call = (%v, %v), want the endpoint's (%v, %v)", resp, err, tc.resp, tc.err)
				}
			}
			if got := b.Counter("endpoint.requests", "operation", "Sum", "outcome", tc.wantOutcome); got != 3 {
				t.Errorf("endpoint.requests{outcome=%q} = %v, want 3", tc.wantOutcome, got)
			}
			h := b.Histogram("endpoint.request.duration", "operation", "Sum", "outcome", tc.wantOutcome)
			if h.Count != 3 {
				t.Errorf("endpoint.request.duration{outcome=%q} count = %d, want 3", tc.wantOutcome, h.Count)
			}
			for _, v := range h.Values {
				if v < 0 || v > 10 {
					t.Errorf("latency %v s is not a plausible duration in seconds", v)
				}
			}
			for _, s := range b.Series("endpoint.requests") {
				if o, _ := s.Label("outcome"); o != tc.wantOutcome && s.Value() != 0 {
					t.Errorf("series %v = %v, want 0", s.Labels, s.Value())
				}
			}
			d := b.Desc("endpoint.request.duration")
			if d == nil || d.Unit != metrics.UnitSeconds {
				t.Errorf("endpoint.request.duration declared as %+v, want unit seconds", d)
			}
		})
	}
}

// An any response is checked for Failer per call.
func TestInstrumentAnyResponse(t *testing.T) {
	b, in := newInstrumenting(t, middleware.InstrumentingOptions{Prefix: "rpc"})
	e := middleware.Instrument[any, any](in, "Concat")(func(_ context.Context, req any) (any, error) {
		if req == "bad" {
			return sumResponse{Err: errors.New("bad")}, nil
		}
		return "ok", nil
	})
	e(context.Background(), "good")
	e(context.Background(), "bad")
	if got := b.Counter("rpc.requests", "operation", "Concat", "outcome", "success"); got != 1 {
		t.Errorf("success = %v, want 1", got)
	}
	if got := b.Counter("rpc.requests", "operation", "Concat", "outcome", "business_error"); got != 1 {
		t.Errorf("business_error = %v, want 1", got)
	}
}

func TestInstrumentAllocs(t *testing.T) {
	_, in := newInstrumenting(t, middleware.InstrumentingOptions{})
	ctx := context.Background()
	sum := middleware.Instrument[int, sumResponse](in, "Sum")(func(context.Context, int) (sumResponse, error) {
		return sumResponse{V: 1}, nil
	})
	plain := middleware.Instrument[int, int](in, "Plain")(func(context.Context, int) (int, error) { return 1, nil })
	boom := errors.New("boom")
	failing := middleware.Instrument[int, int](in, "Fail")(func(context.Context, int) (int, error) { return 0, boom })
	for name, call := range map[string]func(){
		"Failer value response": func() { sum(ctx, 1) },
		"plain response":        func() { plain(ctx, 1) },
		"returned error":        func() { failing(ctx, 1) },
	} {
		call() // bind the backend handles
		if n := testing.AllocsPerRun(1000, call); n != 0 {
			t.Errorf("%s: %v allocs per call, want 0", name, n)
		}
	}
}

func TestNewInstrumentingErrors(t *testing.T) {
	if _, err := middleware.NewInstrumenting(nil, middleware.InstrumentingOptions{}); err == nil || !strings.Contains(err.Error(), "nil *metrics.Registry") {
		t.Errorf("nil registry: err = %v", err)
	}
	reg := metrics.New(metricstest.New())
	if _, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{Prefix: "bad name"}); !errors.Is(err, metrics.ErrInvalidName) {
		t.Errorf("bad prefix: err = %v, want ErrInvalidName", err)
	}
	if _, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{Buckets: []float64{2, 1}}); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Errorf("bad buckets: err = %v, want ErrInvalidOption", err)
	}
	// The same options again return the same instruments.
	a, err1 := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{Prefix: "x"})
	b, err2 := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{Prefix: "x"})
	if err1 != nil || err2 != nil || a == nil || b == nil {
		t.Errorf("declaring twice: %v, %v", err1, err2)
	}
	if _, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{Prefix: "x", Buckets: []float64{1}}); !errors.Is(err, metrics.ErrConflict) {
		t.Errorf("conflicting buckets: err = %v, want ErrConflict", err)
	}
	if _, err := middleware.NewObserver(middleware.ObserverOptions{Registry: reg, Instrumenting: middleware.InstrumentingOptions{Prefix: "9"}}); err == nil || !strings.HasPrefix(err.Error(), "middleware: observer:") {
		t.Errorf("observer with a bad prefix: err = %v", err)
	}
}

func TestInstrumentNil(t *testing.T) {
	e := middleware.Instrument[int, int](nil, "Sum")(func(context.Context, int) (int, error) { return 7, nil })
	if v, err := e(context.Background(), 0); v != 7 || err != nil {
		t.Errorf("call through a nil Instrumenting = (%v, %v)", v, err)
	}
}

func TestObserver(t *testing.T) {
	b := metricstest.New()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var logs bytes.Buffer
	obs, err := middleware.NewObserver(middleware.ObserverOptions{
		Registry: metrics.New(b),
		Tracer:   tp.Tracer("test"),
		Logger:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime})),
	})
	if err != nil {
		t.Fatal(err)
	}
	call := func(ctx context.Context, fail bool) (err error) {
		ctx, done := obs.Start(ctx, "Sum")
		defer done(&err)
		if !hasSpan(ctx) {
			t.Error("the context from Start holds no span")
		}
		if fail {
			return errors.New("too big")
		}
		return nil
	}
	call(context.Background(), false)
	call(context.Background(), false)
	call(context.Background(), true)
	func() {
		defer func() {
			if r := recover(); r != "kaboom" {
				t.Errorf("recovered %v, want the panic to go on with kaboom", r)
			}
		}()
		ctx, done := obs.Start(context.Background(), "Sum")
		defer done(nil)
		_ = ctx
		panic("kaboom")
	}()

	if got := b.Counter("service.requests", "operation", "Sum", "outcome", "success"); got != 2 {
		t.Errorf("success = %v, want 2", got)
	}
	if got := b.Counter("service.requests", "operation", "Sum", "outcome", "error"); got != 2 {
		t.Errorf("error = %v, want 2", got)
	}
	if got := b.Histogram("service.request.duration", "operation", "Sum", "outcome", "success").Count; got != 2 {
		t.Errorf("latency count = %v, want 2", got)
	}
	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	for i, s := range spans {
		wantErr := i >= 2
		if s.Name() != "Sum" || (s.Status().Code == codes.Error) != wantErr {
			t.Errorf("span %d: %q status %v, want Sum, error %v", i, s.Name(), s.Status(), wantErr)
		}
	}
	if got := spans[2].Status().Description; got != "too big" {
		t.Errorf("span 2 status %q, want too big", got)
	}
	if got := spans[3].Status().Description; got != "panic: kaboom" {
		t.Errorf("span 3 status %q, want panic: kaboom", got)
	}
	want := `level=INFO msg="service call" operation=Sum duration=X
level=INFO msg="service call" operation=Sum duration=X
level=ERROR msg="service call" operation=Sum duration=X error="too big"
level=ERROR msg="service call" operation=Sum duration=X error="panic: kaboom"
`
	if got := logs.String(); got != want {
		t.Errorf("logs:\n%s\nwant:\n%s", got, want)
	}
}

// An Observer with nothing configured still runs the method.
func TestObserverEmpty(t *testing.T) {
	obs, err := middleware.NewObserver(middleware.ObserverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, done := obs.Start(context.Background(), "Sum")
	err = errors.New("x")
	done(&err)
	if ctx == nil {
		t.Error("nil context")
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	switch a.Key {
	case slog.TimeKey:
		return slog.Attr{}
	case middleware.LogDurationKey:
		return slog.String(a.Key, "X")
	}
	return a
}
