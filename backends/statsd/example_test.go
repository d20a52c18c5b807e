package statsd_test

import (
	"context"
	"log"
	"os"

	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	b, err := statsd.New(statsd.Options{Addr: "127.0.0.1:8125"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close(context.Background()) // delivers what is still buffered

	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
	requests, err := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method"}})
	if err != nil {
		log.Fatal(err)
	}
	latency, err := reg.NewHistogram(metrics.Opts{Name: "latency", Unit: metrics.UnitSeconds})
	if err != nil {
		log.Fatal(err)
	}
	requests.With("method", "GET").Add(1)
	latency.Observe(0.0125)

	// Every second the lines go to the server; WriteTo shows one flush.
	b.WriteTo(os.Stdout)
	// Output:
	// addsvc.requests.GET:1|c
	// addsvc.latency:12.5|ms
}
