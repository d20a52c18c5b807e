package circonus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/obskit/obskit/backends/circonus"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	// A stand-in for an HTTPTrap that prints the JSON it gets.
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.Path)
		fmt.Println(string(body))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer trap.Close()

	b, err := circonus.New(circonus.Options{URL: trap.URL + "/module/httptrap/check-uuid/secret"})
	if err != nil {
		log.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
	requests, err := reg.NewCounter(metrics.Opts{Name: "requests", Help: "Requests served.", Labels: []string{"method"}})
	if err != nil {
		log.Fatal(err)
	}
	latency, err := reg.NewHistogram(metrics.Opts{Name: "latency", Help: "Latency.", Unit: metrics.UnitSeconds})
	if err != nil {
		log.Fatal(err)
	}
	requests.With("method", "GET").Add(2)
	requests.With("method", "a:b").Add(1)
	latency.Observe(0.105)
	latency.Observe(0.105)

	// Close submits everything recorded.
	if err := b.Close(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// PUT /module/httptrap/check-uuid/secret
	// {"addsvc.latency":{"_type":"n","_value":["H[1.0e-01]=2"]},"addsvc.requests|ST[method:GET]":{"_type":"L","_value":2},"addsvc.requests|ST[method:b\"YTpi\"]":{"_type":"L","_value":1}}
}
