package dogstatsd_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/obskit/obskit/backends/dogstatsd"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	// A stand-in for the Datadog Agent's DogStatsD port.
	agent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close()

	b, err := dogstatsd.New(dogstatsd.Options{
		Addr: agent.LocalAddr().String(), // "127.0.0.1:8125", or "unix:///var/run/datadog/dsd.socket"
		// The example's output holds only what it records.
		ClientOptions: []statsd.Option{statsd.WithoutTelemetry(), statsd.WithoutOriginDetection()},
	})
	if err != nil {
		log.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
	requests, err := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method"}})
	if err != nil {
		log.Fatal(err)
	}
	latency, err := reg.NewHistogram(metrics.Opts{Name: "latency", Unit: metrics.UnitSeconds, Labels: []string{"method"}})
	if err != nil {
		log.Fatal(err)
	}
	requests.With("method", "sum").Add(1)
	latency.With("method", "sum").Observe(0.25)
	latency.With("method", "sum").Observe(0.5)

	// In a service: defer b.Close(ctx), which delivers what is recorded.
	if err := b.Close(context.Background()); err != nil {
		log.Fatal(err)
	}
	// datadog-go packs series into payloads by name: read them all.
	var lines []string
	buf := make([]byte, 1500)
	agent.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(lines) < 2 {
		n, _, err := agent.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(buf[:n])), "\n")...)
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// addsvc.latency:0.25:0.5|d|#method:sum
	// addsvc.requests:1|c|#method:sum
}
