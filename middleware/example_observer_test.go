package middleware_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
)

// Service is an addsvc-like service.
type Service interface {
	Sum(ctx context.Context, a, b int) (int, error)
	Concat(ctx context.Context, a, b string) (string, error)
}

type basicService struct{}

func (basicService) Sum(_ context.Context, a, b int) (int, error) {
	if a < 0 || b < 0 {
		return 0, errors.New("negative operand")
	}
	return a + b, nil
}

func (basicService) Concat(_ context.Context, a, b string) (string, error) {
	return a + b, nil
}

// observedService is a hand-written decorator: one deferred statement per
// method gives it metrics, a span and a log line.
type observedService struct {
	obs  *middleware.Observer
	next Service
}

func (s observedService) Sum(ctx context.Context, a, b int) (n int, err error) {
	ctx, done := s.obs.Start(ctx, "Sum")
	defer done(&err)
	return s.next.Sum(ctx, a, b)
}

func (s observedService) Concat(ctx context.Context, a, b string) (v string, err error) {
	ctx, done := s.obs.Start(ctx, "Concat")
	defer done(&err)
	return s.next.Concat(ctx, a, b)
}

func ExampleObserver() {
	backend := metricstest.New()
	obs, err := middleware.NewObserver(middleware.ObserverOptions{
		Registry: metrics.New(backend, metrics.WithNamespace("addsvc")),
		// Tracer: tp.Tracer("addsvc"), Logger: logger, in a real main.
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var svc Service = observedService{obs: obs, next: basicService{}}

	ctx := context.Background()
	svc.Sum(ctx, 1, 2)
	svc.Sum(ctx, 3, 4)
	svc.Sum(ctx, -1, 2)
	svc.Concat(ctx, "a", "b")

	for _, s := range backend.Series("addsvc.service.requests") {
		op, _ := s.Label(middleware.OperationLabel)
		outcome, _ := s.Label(middleware.OutcomeLabel)
		if s.Value() > 0 {
			fmt.Printf("%s %-7s %v\n", op, outcome, s.Value())
		}
	}
	latency := backend.Histogram("addsvc.service.request.duration", "operation", "Sum", "outcome", "success")
	fmt.Println("Sum latencies observed:", latency.Count)
	// Output:
	// Sum success 2
	// Sum error   1
	// Concat success 1
	// Sum latencies observed: 2
}
