package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
)

// An endpoint chain behind a ServeMux route, served through NewHTTPHandler
// and called through NewTransport. In a real main, set HTTPOptions.Tracer
// to a tracer from tracing.NewProvider for spans across the hop.
func ExampleNewHTTPHandler() {
	backend := metricstest.New()
	reg := metrics.New(backend)
	ins, err := middleware.NewInstrumenting(reg, middleware.InstrumentingOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	sum := middleware.Instrument[[2]int, int](ins, "Sum")(func(_ context.Context, ab [2]int) (int, error) {
		return ab[0] + ab[1], nil
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /sum/{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		var a, b int
		fmt.Sscan(r.PathValue("a"), &a)
		fmt.Sscan(r.PathValue("b"), &b)
		v, _ := sum(r.Context(), [2]int{a, b})
		fmt.Fprint(w, v)
	})
	opts := middleware.HTTPOptions{Registry: reg}
	handler, err := middleware.NewHTTPHandler(mux, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	transport, err := middleware.NewTransport(srv.Client().Transport, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: transport}

	resp, err := client.Get(srv.URL + "/sum/1/2")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("sum:", string(body))

	for _, s := range backend.Series("http.server.request.duration") {
		fmt.Println(s.Labels, s.Histogram().Count)
	}
	fmt.Println("endpoint calls:", backend.Counter("endpoint.requests", "operation", "Sum", "outcome", "success"))
	// Output:
	// sum: 3
	// [{error.type } {http.request.method GET} {http.response.status_code 200} {http.route /sum/{a}/{b}}] 1
	// endpoint calls: 1
}
