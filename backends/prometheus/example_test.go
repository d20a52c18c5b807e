package prometheus_test

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	b, err := prometheus.New(prometheus.Options{})
	if err != nil {
		log.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace("addsvc"))
	requests, err := reg.NewCounter(metrics.Opts{
		Name:   "requests",
		Help:   "Requests handled.",
		Labels: []string{"http.request.method"},
	})
	if err != nil {
		log.Fatal(err)
	}
	requests.With("http.request.method", "GET").Add(1)

	// In a service: http.Handle("/metrics", b.Handler())
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "addsvc_") {
			fmt.Println(line)
		}
	}
	// Output:
	// addsvc_requests_total{http_request_method="GET"} 1
}
