package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
	"github.com/obskit/obskit/tracing"
)

// TestPanicThroughChain: an endpoint that panics inside addsvc's chain
// (tracing, then Instrument, then logging) is a failed call to each
// middleware, and the HTTP middleware around the chain still recovers the
// panic and answers 500.
func TestPanicThroughChain(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("panic_test")
	var logs bytes.Buffer
	logger := logging.New(&logs, logging.Options{})
	mb := metricstest.New()
	reg := metrics.New(mb)
	ins, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := middleware.Chain(
		tracing.EndpointMiddleware[int, sumResponse](tracer, "Sum", tracing.EndpointOptions{}),
		middleware.Instrument[int, sumResponse](ins, "Sum"),
		logging.EndpointMiddleware[int, sumResponse](logger, "Sum", logging.EndpointOptions{}),
	)(func(context.Context, int) (sumResponse, error) {
		panic("sum exploded")
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		ep(r.Context(), 1)
		w.WriteHeader(http.StatusOK)
	})
	h, err := middleware.NewHTTPHandler(mux, middleware.HTTPOptions{Registry: reg, Tracer: tracer, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/sum", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500: the panic must reach the HTTP middleware's recover", w.Code)
	}

	// Instrument: one call, outcome error.
	if got := mb.Counter("endpoint.requests", middleware.OperationLabel, "Sum", middleware.OutcomeLabel, middleware.OutcomeError); got != 1 {
		t.Errorf("endpoint.requests{outcome=error} = %v, want 1", got)
	}
	if got := mb.Histogram("endpoint.request.duration", middleware.OperationLabel, "Sum", middleware.OutcomeLabel, middleware.OutcomeError).Count; got != 1 {
		t.Errorf("endpoint.request.duration{outcome=error} count = %v, want 1", got)
	}
	if got := mb.Counter("endpoint.requests", middleware.OperationLabel, "Sum", middleware.OutcomeLabel, middleware.OutcomeSuccess); got != 0 {
		t.Errorf("endpoint.requests{outcome=success} = %v, want 0", got)
	}

	// logging: one error-level endpoint record with the panic value.
	var found bool
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] != logging.EndpointMessage {
			continue
		}
		found = true
		if r["level"] != "ERROR" || r[middleware.LogOperationKey] != "Sum" ||
			!strings.Contains(r[middleware.LogErrorKey].(string), "sum exploded") {
			t.Errorf("endpoint record = %v, want level ERROR with the panic value", r)
		}
	}
	if !found {
		t.Errorf("no %q record for the panicking call; logs:\n%s", logging.EndpointMessage, logs.String())
	}

	// tracing: the endpoint span failed, with an exception event.
	var sumSpan sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "Sum" {
			sumSpan = s
		}
	}
	if sumSpan == nil {
		t.Fatalf("no ended span named Sum among %d", len(rec.Ended()))
	}
	if sumSpan.Status().Code != codes.Error || !strings.Contains(sumSpan.Status().Description, "sum exploded") {
		t.Errorf("span status = %+v, want Error with the panic value", sumSpan.Status())
	}
	var exception bool
	for _, e := range sumSpan.Events() {
		if e.Name != "exception" {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == "exception.message" && strings.Contains(a.Value.AsString(), "sum exploded") {
				exception = true
			}
		}
	}
	if !exception {
		t.Errorf("span events = %v, want an exception event with the panic value", sumSpan.Events())
	}
}

// TestPanicValueKept: each endpoint middleware passes the panic on with
// the value it received, so a recover further out sees what was thrown.
func TestPanicValueKept(t *testing.T) {
	want := errors.New("the value")
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ins, err := middleware.NewInstrumenting(metrics.New(metricstest.New()), middleware.InstrumentingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	for name, mw := range map[string]middleware.Middleware[int, int]{
		"tracing":    tracing.EndpointMiddleware[int, int](tp.Tracer("t"), "op", tracing.EndpointOptions{}),
		"instrument": middleware.Instrument[int, int](ins, "op"),
		"logging":    logging.EndpointMiddleware[int, int](logging.New(&logs, logging.Options{}), "op", logging.EndpointOptions{}),
	} {
		ep := mw(func(context.Context, int) (int, error) { panic(want) })
		func() {
			defer func() {
				if r := recover(); r != want {
					t.Errorf("%s: recovered %v, want the original value", name, r)
				}
			}()
			ep(context.Background(), 1)
		}()
	}
}

// TestBindsOnlyPossibleOutcomes: a series that can never be recorded
// into is not bound, so no always-zero series shows on /metrics.
func TestBindsOnlyPossibleOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name         string
		bind         func(*metrics.Registry)
		prefix       string
		wantBusiness bool
	}{
		{"Instrument with a Failer response", func(reg *metrics.Registry) {
			in, _ := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
			middleware.Instrument[int, sumResponse](in, "Sum")
		}, "endpoint", true},
		{"Instrument ignoring business errors", func(reg *metrics.Registry) {
			in, _ := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{IgnoreBusinessErrors: true})
			middleware.Instrument[int, sumResponse](in, "Sum")
		}, "endpoint", false},
		{"Instrument with a response that cannot fail", func(reg *metrics.Registry) {
			in, _ := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
			middleware.Instrument[int, int](in, "Sum")
		}, "endpoint", false},
		{"Observer", func(reg *metrics.Registry) {
			obs, _ := middleware.NewObserver(middleware.ObserverOptions{Registry: reg})
			_, done := obs.Start(context.Background(), "Sum")
			done(nil)
		}, "service", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mb := metricstest.New()
			tc.bind(metrics.New(mb))
			outcomes := map[string]bool{}
			for _, s := range mb.Series(tc.prefix + ".requests") {
				o, _ := s.Label(middleware.OutcomeLabel)
				outcomes[o] = true
			}
			if !outcomes[middleware.OutcomeSuccess] || !outcomes[middleware.OutcomeError] {
				t.Errorf("bound outcomes %v, want success and error", outcomes)
			}
			if outcomes[middleware.OutcomeBusinessError] != tc.wantBusiness {
				t.Errorf("business_error bound = %v, want %v", outcomes[middleware.OutcomeBusinessError], tc.wantBusiness)
			}
		})
	}
}
