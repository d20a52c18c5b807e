package gokit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/ratelimit"
	"github.com/sony/gobreaker"

	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/logging"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/middleware"
)

type sumRequest struct{ A, B int }

type sumResponse struct {
	V   int
	Err error
}

func (r sumResponse) Failed() error { return r.Err }

var errOverflow = errors.New("integer overflow")

func sum(_ context.Context, req sumRequest) (sumResponse, error) {
	if req.A == 0 && req.B == 0 {
		return sumResponse{Err: errors.New("two zeroes")}, nil
	}
	if req.A > 1000 {
		return sumResponse{}, errOverflow
	}
	return sumResponse{V: req.A + req.B}, nil
}

// kitSum is sum as a Go kit endpoint, as Go kit's addsvc writes it.
func kitSum(ctx context.Context, request any) (any, error) {
	return sum(ctx, request.(sumRequest))
}

func TestToKitEndpoint(t *testing.T) {
	e := gokit.ToKitEndpoint(middleware.Endpoint[sumRequest, sumResponse](sum))
	ctx := context.Background()

	resp, err := e(ctx, sumRequest{2, 3})
	if err != nil || resp.(sumResponse).V != 5 {
		t.Errorf("Sum(2, 3) = %v, %v; want {5}", resp, err)
	}
	resp, err = e(ctx, nil) // a nil request is the zero sumRequest
	if err != nil || resp.(sumResponse).Err == nil {
		t.Errorf("Sum(nil) = %v, %v; want the business error of two zeroes", resp, err)
	}
	resp, err = e(ctx, &sumRequest{2, 3})
	if !errors.Is(err, gokit.ErrType) || resp != nil {
		t.Errorf("Sum(*sumRequest) = %v, %v; want nil and ErrType", resp, err)
	}
	if !strings.Contains(err.Error(), "request is *gokit_test.sumRequest, want gokit_test.sumRequest") {
		t.Errorf("error %q does not name the type received", err)
	}

	// Endpoint[any, any] is Go kit's endpoint already.
	var called bool
	same := gokit.ToKitEndpoint(middleware.Endpoint[any, any](func(context.Context, any) (any, error) {
		called = true
		return "ok", nil
	}))
	if resp, err := same(ctx, 42); resp != "ok" || err != nil || !called {
		t.Errorf("Endpoint[any, any]: %v, %v, called %v", resp, err, called)
	}

	if gokit.ToKitEndpoint[sumRequest, sumResponse](nil) != nil {
		t.Error("ToKitEndpoint(nil) is not nil")
	}
}

func TestFromKitEndpoint(t *testing.T) {
	ctx := context.Background()
	e := gokit.FromKitEndpoint[sumRequest, sumResponse](kitSum)
	if resp, err := e(ctx, sumRequest{2, 3}); err != nil || resp.V != 5 {
		t.Errorf("Sum(2, 3) = %v, %v; want {5}", resp, err)
	}
	if _, err := e(ctx, sumRequest{2000, 3}); !errors.Is(err, errOverflow) || errors.Is(err, gokit.ErrType) {
		t.Errorf("Sum(2000, 3): err %v, want the endpoint's own error alone", err)
	}

	// A response of another type is ErrType, joined with the endpoint's
	// own error.
	wrong := gokit.FromKitEndpoint[sumRequest, sumResponse](func(context.Context, any) (any, error) {
		return "five", errOverflow
	})
	resp, err := wrong(ctx, sumRequest{2, 3})
	if !errors.Is(err, gokit.ErrType) || !errors.Is(err, errOverflow) || resp != (sumResponse{}) {
		t.Errorf("wrong response type: %v, %v; want the zero response, ErrType and the endpoint's error", resp, err)
	}

	// Go kit endpoints often return a nil response with an error.
	failing := gokit.FromKitEndpoint[sumRequest, sumResponse](func(context.Context, any) (any, error) {
		return nil, errOverflow
	})
	if resp, err := failing(ctx, sumRequest{}); resp != (sumResponse{}) || err != errOverflow {
		t.Errorf("nil response: %v, %v; want the zero response and the endpoint's error unwrapped", resp, err)
	}

	// Endpoint[any, any] needs no wrapping.
	same := gokit.FromKitEndpoint[any, any](kitSum)
	if resp, err := same(ctx, sumRequest{1, 1}); err != nil || resp.(sumResponse).V != 2 {
		t.Errorf("Endpoint[any, any]: %v, %v", resp, err)
	}

	if gokit.FromKitEndpoint[sumRequest, sumResponse](nil) != nil {
		t.Error("FromKitEndpoint(nil) is not nil")
	}
}

// TestObskitMiddlewareWrapsKitEndpoint: obskit's instrumenting and
// logging middlewares, made Go kit middlewares, instrument a Go kit
// endpoint in a Go kit endpoint.Chain.
func TestObskitMiddlewareWrapsKitEndpoint(t *testing.T) {
	reg, b := newRegistry(t)
	ins, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))

	e := endpoint.Chain(
		gokit.ToKitMiddleware(middleware.Instrument[sumRequest, sumResponse](ins, "Sum")),
		gokit.ToKitMiddleware(logging.EndpointMiddleware[any, any](logger, "Sum", logging.EndpointOptions{})),
	)(kitSum)

	ctx := context.Background()
	for _, req := range []sumRequest{{1, 2}, {3, 4}, {0, 0}, {2000, 1}} {
		e(ctx, req)
	}
	for outcome, want := range map[string]float64{
		middleware.OutcomeSuccess:       2,
		middleware.OutcomeBusinessError: 1,
		middleware.OutcomeError:         1,
	} {
		got := b.Counter("ns.endpoint.requests", middleware.OperationLabel, "Sum", middleware.OutcomeLabel, outcome)
		if got != want {
			t.Errorf("requests{outcome=%s} = %v, want %v", outcome, got, want)
		}
	}
	if h := b.Histogram("ns.endpoint.request.duration", middleware.OperationLabel, "Sum", middleware.OutcomeLabel, middleware.OutcomeSuccess); h.Count != 2 {
		t.Errorf("duration{outcome=success}: %d observations, want 2", h.Count)
	}

	levels := map[string]int{}
	dec := json.NewDecoder(&logs)
	for dec.More() {
		var rec struct {
			Level, Msg, Operation string
		}
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		if rec.Msg != logging.EndpointMessage || rec.Operation != "Sum" {
			t.Errorf("log record %+v", rec)
		}
		levels[rec.Level]++
	}
	if levels["INFO"] != 2 || levels["WARN"] != 1 || levels["ERROR"] != 1 {
		t.Errorf("log levels %v, want 2 INFO, 1 WARN, 1 ERROR", levels)
	}

	// A request of the wrong type is refused before the endpoint, and
	// the middlewares see it as an error.
	if _, err := e(ctx, "1+2"); !errors.Is(err, gokit.ErrType) {
		t.Errorf("string request: err %v, want ErrType", err)
	}
}

// TestKitMiddlewareWrapsObskitEndpoint: Go kit's circuit breaker and rate
// limiter, made obskit middlewares, protect a typed obskit endpoint in an
// obskit middleware.Chain, with obskit's instrumenting middleware
// outermost recording what they refuse.
func TestKitMiddlewareWrapsObskitEndpoint(t *testing.T) {
	reg, b := newRegistry(t)
	ins, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	inner := func(ctx context.Context, req sumRequest) (sumResponse, error) {
		calls.Add(1)
		return sum(ctx, req)
	}
	breaker := gobreaker.NewCircuitBreaker(gobreaker.Settings{
		Name:        "sum",
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
	})
	var allow atomic.Bool
	allow.Store(true)
	e := middleware.Chain(
		middleware.Instrument[sumRequest, sumResponse](ins, "Sum"),
		gokit.FromKitMiddleware[sumRequest, sumResponse](ratelimit.NewErroringLimiter(ratelimit.AllowerFunc(allow.Load))),
		gokit.FromKitMiddleware[sumRequest, sumResponse](circuitbreaker.Gobreaker(breaker)),
	)(inner)

	ctx := context.Background()
	if resp, err := e(ctx, sumRequest{2, 3}); err != nil || resp.V != 5 {
		t.Fatalf("Sum(2, 3) = %v, %v", resp, err)
	}
	for range 3 {
		if _, err := e(ctx, sumRequest{2000, 1}); !errors.Is(err, errOverflow) {
			t.Fatalf("Sum(2000, 1): err %v, want errOverflow", err)
		}
	}
	// Three failures in a row: the breaker is open, the endpoint is not
	// called.
	if _, err := e(ctx, sumRequest{2, 3}); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("after 3 failures: err %v, want gobreaker.ErrOpenState", err)
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("endpoint called %d times, want 4 (not through the open breaker)", n)
	}

	allow.Store(false)
	if _, err := e(ctx, sumRequest{2, 3}); !errors.Is(err, ratelimit.ErrLimited) {
		t.Errorf("limited: err %v, want ratelimit.ErrLimited", err)
	}
	if got := b.Counter("ns.endpoint.requests", middleware.OperationLabel, "Sum", middleware.OutcomeLabel, middleware.OutcomeError); got != 5 {
		t.Errorf("requests{outcome=error} = %v, want 5 (3 overflows, 1 open breaker, 1 rate limited)", got)
	}
	if s := reg.Stats(); s != (metrics.Stats{}) {
		t.Errorf("Stats = %+v", s)
	}
}

func TestMiddlewareNil(t *testing.T) {
	if gokit.ToKitMiddleware[any, any](nil) != nil || gokit.FromKitMiddleware[any, any](nil) != nil {
		t.Error("a nil middleware converts to a non-nil one")
	}
}
