package gokit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/provider"

	"github.com/obskit/obskit/compat/gokit"
	"github.com/obskit/obskit/metrics"
)

// This file is a Go kit service written as Go kit's addsvc example writes
// it (pkg/addservice and pkg/addendpoint), instrumented through Go kit's
// metrics interfaces only, taking its instruments from a Go kit
// provider.Provider. The tests give it gokit.NewProvider over each obskit
// backend and read back what it recorded.

// addService is addsvc's Service.
type addService interface {
	Sum(ctx context.Context, a, b int) (int, error)
	Concat(ctx context.Context, a, b string) (string, error)
}

var errTwoZeroes = errors.New("can't sum two zeroes")

type basicService struct{}

func (basicService) Sum(_ context.Context, a, b int) (int, error) {
	if a == 0 && b == 0 {
		return 0, errTwoZeroes
	}
	return a + b, nil
}

func (basicService) Concat(_ context.Context, a, b string) (string, error) { return a + b, nil }

// instrumentingService is addservice.InstrumentingMiddleware.
type instrumentingService struct {
	ints, chars kitmetrics.Counter
	next        addService
}

func (mw instrumentingService) Sum(ctx context.Context, a, b int) (int, error) {
	v, err := mw.next.Sum(ctx, a, b)
	mw.ints.Add(float64(v))
	return v, err
}

func (mw instrumentingService) Concat(ctx context.Context, a, b string) (string, error) {
	v, err := mw.next.Concat(ctx, a, b)
	mw.chars.Add(float64(len(v)))
	return v, err
}

// instrumentingEndpoint is addendpoint.InstrumentingMiddleware.
func instrumentingEndpoint(duration kitmetrics.Histogram) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (response any, err error) {
			defer func(begin time.Time) {
				duration.With("success", fmt.Sprint(err == nil)).Observe(time.Since(begin).Seconds())
			}(time.Now())
			return next(ctx, request)
		}
	}
}

type (
	addRequest    struct{ A, B int }
	concatRequest struct{ A, B string }
)

// addsvc is the service's endpoint set, built from a Provider as a
// framework such as Gizmo builds it.
type addsvc struct{ sum, concat endpoint.Endpoint }

func newAddsvc(p provider.Provider) addsvc {
	var svc addService = basicService{}
	svc = instrumentingService{
		ints:  p.NewCounter("integers_summed"),
		chars: p.NewCounter("characters_concatenated"),
		next:  svc,
	}
	duration := p.NewHistogram("request_duration_seconds", 50)
	sum := func(ctx context.Context, request any) (any, error) {
		req := request.(addRequest)
		return svc.Sum(ctx, req.A, req.B)
	}
	concat := func(ctx context.Context, request any) (any, error) {
		req := request.(concatRequest)
		return svc.Concat(ctx, req.A, req.B)
	}
	return addsvc{
		sum:    instrumentingEndpoint(duration.With("method", "Sum"))(sum),
		concat: instrumentingEndpoint(duration.With("method", "Concat"))(concat),
	}
}

// addsvcInstruments is what func main tells the Provider: the labels the
// Go kit code sets, and the unit that the name carried.
func addsvcInstruments() map[string]metrics.Opts {
	return map[string]metrics.Opts{
		"request_duration_seconds": {
			Name:   "request.duration",
			Help:   "Request duration in seconds.",
			Unit:   metrics.UnitSeconds,
			Labels: []string{"method", "success"},
		},
		"integers_summed":         {Help: "Total count of integers summed via the Sum method."},
		"characters_concatenated": {Help: "Total count of characters concatenated via the Concat method."},
	}
}

// exerciseAddsvc calls the service and returns what it should have
// recorded.
func exerciseAddsvc(t *testing.T, s addsvc) (ints, chars float64, calls map[[2]string]int) {
	t.Helper()
	ctx := context.Background()
	calls = map[[2]string]int{}
	for _, r := range []addRequest{{1, 2}, {30, 40}, {0, 0}, {-5, 6}} {
		v, err := s.sum(ctx, r)
		if (err != nil) != (r == addRequest{}) {
			t.Fatalf("Sum(%v) = %v, %v", r, v, err)
		}
		ints += float64(r.A + r.B)
		calls[[2]string{"Sum", fmt.Sprint(err == nil)}]++
	}
	for _, r := range []concatRequest{{"ab", "cde"}, {"", "x"}} {
		if _, err := s.concat(ctx, r); err != nil {
			t.Fatal(err)
		}
		chars += float64(len(r.A + r.B))
		calls[[2]string{"Concat", "true"}]++
	}
	return ints, chars, calls
}

// TestAddsvcOverProvider: the Go kit service records into each obskit
// backend through the Provider, and what it recorded reads back from the
// backend as its users read it.
func TestAddsvcOverProvider(t *testing.T) {
	reads := map[string]func(t *testing.T) (*metrics.Registry, func(kind, name string, labels ...string) float64){
		"metricstest": func(t *testing.T) (*metrics.Registry, func(string, string, ...string) float64) {
			reg, b := newRegistry(t)
			return reg, func(kind, name string, labels ...string) float64 {
				if kind == "count" {
					return float64(b.Histogram("ns."+name, labels...).Count)
				}
				return b.Counter("ns."+name, labels...)
			}
		},
		"prometheus": func(t *testing.T) (*metrics.Registry, func(string, string, ...string) float64) {
			be := newPrometheus(t)
			return be.reg, func(kind, name string, labels ...string) float64 {
				series := map[string]string{
					"integers_summed":         "ns_integers_summed_total",
					"characters_concatenated": "ns_characters_concatenated_total",
					"request.duration":        "ns_request_duration_seconds_count",
				}[name]
				if len(labels) > 0 {
					series += fmt.Sprintf(`{%s=%q,%s=%q}`, labels[0], labels[1], labels[2], labels[3])
				}
				return be.sample(series)
			}
		},
		"expvar": func(t *testing.T) (*metrics.Registry, func(string, string, ...string) float64) {
			be := newExpvar(t)
			return be.reg, func(kind, name string, labels ...string) float64 {
				key := ""
				if len(labels) > 0 {
					key = fmt.Sprintf("%s=%s,%s=%s", labels[0], labels[1], labels[2], labels[3])
				}
				if kind == "count" {
					var h struct{ Count float64 }
					be.decode(name, key, &h)
					return h.Count
				}
				var v float64
				be.decode(name, key, &v)
				return v
			}
		},
	}
	for name, setup := range reads {
		t.Run(name, func(t *testing.T) {
			reg, read := setup(t)
			p, err := gokit.NewProvider(reg, gokit.ProviderOptions{Instruments: addsvcInstruments()})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			ints, chars, calls := exerciseAddsvc(t, newAddsvc(p))
			if err := p.Err(); err != nil {
				t.Fatal(err)
			}

			if got := read("value", "integers_summed"); got != ints {
				t.Errorf("integers_summed = %v, want %v", got, ints)
			}
			if got := read("value", "characters_concatenated"); got != chars {
				t.Errorf("characters_concatenated = %v, want %v", got, chars)
			}
			for k, want := range calls {
				if got := read("count", "request.duration", "method", k[0], "success", k[1]); got != float64(want) {
					t.Errorf("request duration count{method=%s,success=%s} = %v, want %d", k[0], k[1], got, want)
				}
			}
			if s := reg.Stats(); s != (metrics.Stats{}) {
				t.Errorf("Stats = %+v, want no problems", s)
			}
		})
	}
}
