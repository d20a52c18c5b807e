package graphite_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	b, err := graphite.New(graphite.Options{Addr: "127.0.0.1:2003"})
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
	requests.With("method", "GET").Add(3)
	latency.Observe(0.25)

	// Every 10 s the lines go to carbon; WriteTo shows one flush (here
	// without the timestamp that ends each line).
	var buf bytes.Buffer
	b.WriteTo(&buf)
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		fmt.Println(line[:strings.LastIndexByte(line, ' ')])
	}
	// Output:
	// addsvc.requests;method=GET 3
	// addsvc.latency.count 1
	// addsvc.latency.sum 0.25
	// addsvc.latency.min 0.25
	// addsvc.latency.max 0.25
	// addsvc.latency.p50 0.25
	// addsvc.latency.p90 0.25
	// addsvc.latency.p95 0.25
	// addsvc.latency.p99 0.25
}
