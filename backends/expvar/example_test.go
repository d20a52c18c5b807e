package expvar_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/obskit/obskit/backends/expvar"
	"github.com/obskit/obskit/metrics"
)

func Example() {
	b, err := expvar.New(expvar.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// expvar's registry is process-global: one namespace per registry.
	reg := metrics.New(b, metrics.WithNamespace("example"))
	requests, err := reg.NewCounter(metrics.Opts{Name: "requests", Help: "Requests served.", Labels: []string{"method"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	latency, err := reg.NewHistogram(metrics.Opts{Name: "latency", Help: "Request latency.", Unit: metrics.UnitSeconds})
	if err != nil {
		fmt.Println(err)
		return
	}
	requests.With("method", "GET").Add(2)
	for _, v := range []float64{0.1, 0.2, 0.3} {
		latency.Observe(v)
	}

	// In a service: mux.Handle("/debug/vars", b.Handler()).
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/vars")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var vars map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(vars["example.requests"]))
	// Count, sum, min and max are exact; quantiles are within 1%.
	fmt.Println(string(vars["example.latency"]))

	// Output:
	// {"method=GET":2}
	// {"":{"count":3,"sum":0.6000000000000001,"min":0.1,"max":0.3,"p50":0.1999,"p90":0.3,"p95":0.3,"p99":0.3}}
}
