package influx_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/obskit/obskit/backends/influx"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	// A stand-in for InfluxDB's /write that prints the points it gets,
	// without their timestamps.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path, "db="+r.URL.Query().Get("db"))
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			line := sc.Text()
			fmt.Println(line[:strings.LastIndexByte(line, ' ')])
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	b, err := influx.New(influx.Options{URL: srv.URL, Database: "metrics"})
	if err != nil {
		log.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
	requests, err := reg.NewCounter(metrics.Opts{Name: "requests", Help: "Requests served.", Labels: []string{"method", "code"}})
	if err != nil {
		log.Fatal(err)
	}
	inflight, err := reg.NewGauge(metrics.Opts{Name: "inflight", Help: "Requests in flight."})
	if err != nil {
		log.Fatal(err)
	}
	requests.With("method", "GET", "code", "200").Add(3)
	requests.With("method", "POST", "code", "500").Add(1)
	inflight.Set(2)

	// Close writes everything recorded.
	if err := b.Close(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", b.Stats().Sent)
	// Output:
	// POST /write db=metrics
	// addsvc.requests,code=200,method=GET count=3
	// addsvc.requests,code=500,method=POST count=1
	// addsvc.inflight value=2
	// 3
}
