package gokit_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/go-kit/kit/endpoint"
	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/provider"
	"github.com/go-kit/kit/ratelimit"

	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
)

// A Go kit service that takes a provider.Provider records into an obskit
// backend with one line in func main: the Provider over the Registry. The
// Go kit code is unchanged; main declares the labels it sets.
func ExampleNewProvider() {
	// func main:
	b, err := prometheus.New(prometheus.Options{})
	if err != nil {
		log.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
	p, err := gokit.NewProvider(reg, gokit.ProviderOptions{
		Instruments: map[string]metrics.Opts{
			"request_duration_seconds": {
				Name:   "request.duration",
				Unit:   metrics.UnitSeconds,
				Labels: []string{"method", "success"},
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop()

	// The Go kit service, unchanged:
	var kit provider.Provider = p
	kit.NewCounter("integers_summed").Add(5)
	kit.NewHistogram("request_duration_seconds", 50).With("method", "Sum", "success", "true").Observe(0.02)

	// What Prometheus scrapes (b.Handler() on /metrics):
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for s := bufio.NewScanner(rec.Body); s.Scan(); {
		if line := s.Text(); strings.HasPrefix(line, "addsvc_integers_summed_total") || strings.Contains(line, "_seconds_count") {
			fmt.Println(line)
		}
	}
	// Output:
	// addsvc_integers_summed_total 5
	// addsvc_request_duration_seconds_count{method="Sum",success="true"} 1
}

// An obskit instrument is passed to Go kit code that wants Go kit's
// interface.
func ExampleToKitCounter() {
	b := metricstest.New()
	reg := metrics.New(b)
	requests, err := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method"}})
	if err != nil {
		log.Fatal(err)
	}

	countSum := func(c kitmetrics.Counter) { c.With("method", "Sum").Add(1) } // Go kit code
	countSum(gokit.ToKitCounter(requests))

	fmt.Println(b.Counter("requests", "method", "Sum"))
	// Output: 1
}

// obskit's instrumenting middleware wraps a Go kit endpoint, in a Go kit
// endpoint.Chain.
func ExampleToKitMiddleware() {
	b := metricstest.New()
	ins, err := middleware.NewInstrumenting(metrics.New(b), middleware.InstrumentingOptions{})
	if err != nil {
		log.Fatal(err)
	}
	var sum endpoint.Endpoint = func(_ context.Context, request any) (any, error) {
		ab := request.([2]int)
		return ab[0] + ab[1], nil
	}

	sum = endpoint.Chain(gokit.ToKitMiddleware(middleware.Instrument[any, any](ins, "Sum")))(sum)
	v, _ := sum(context.Background(), [2]int{2, 3})

	fmt.Println(v, b.Counter("endpoint.requests", "operation", "Sum", "outcome", "success"))
	// Output: 5 1
}

// Go kit's rate limiter wraps a typed obskit endpoint.
func ExampleFromKitMiddleware() {
	type sumRequest struct{ A, B int }
	sum := func(_ context.Context, r sumRequest) (int, error) { return r.A + r.B, nil }

	allowed := 1
	limit := ratelimit.NewErroringLimiter(ratelimit.AllowerFunc(func() bool {
		allowed--
		return allowed >= 0
	}))
	e := gokit.FromKitMiddleware[sumRequest, int](limit)(sum)

	v, err := e(context.Background(), sumRequest{2, 3})
	fmt.Println(v, err)
	_, err = e(context.Background(), sumRequest{2, 3})
	fmt.Println(errors.Is(err, ratelimit.ErrLimited))
	// Output:
	// 5 <nil>
	// true
}
