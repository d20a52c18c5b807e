package metrics_test

import (
	"fmt"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// A Registry is made once in func main over the backend of your choice;
// swapping backends changes only the constructor call.
func ExampleNew() {
	backend := metricstest.New() // or prometheus.New(…), statsd.New(…), …
	reg := metrics.New(backend,
		metrics.WithNamespace("addsvc"),
		metrics.WithConstLabels(map[string]string{"env": "prod"}),
		metrics.WithErrorHandler(func(err error) { fmt.Println(err) }),
	)
	requests, err := reg.NewCounter(metrics.Opts{Name: "requests", Help: "Requests served.", Labels: []string{"method"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	requests.With("method", "Sum").Add(1)
	requests.With("method", "Sum", "colour").Add(1) // odd: colour is not declared
	fmt.Println(backend.Counter("addsvc.requests", "method", "Sum"))
	fmt.Printf("%+v\n", reg.Stats())
	// Output:
	// metrics: addsvc.requests: odd number of label arguments (colour); recorded with the documented fallback, further occurrences are only counted
	// metrics: addsvc.requests: undeclared label (colour); recorded with the documented fallback, further occurrences are only counted
	// 2
	// {OddLabelValues:1 UndeclaredLabels:1 InvalidUTF8:0 InvalidValues:0 Overflows:0 BackendDrops:0 LongLabelValues:0}
}

// Declaration errors come from the constructor, never as a panic later.
func ExampleRegistry_NewCounter() {
	reg := metrics.New(metrics.Discard())
	_, err := reg.NewCounter(metrics.Opts{Name: "http.requests", Labels: []string{"le"}})
	fmt.Println(err)

	c, err := reg.NewCounter(metrics.Opts{Name: "http.requests", Labels: []string{"method", "code"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Bind once, record many times: no label lookup on the hot path.
	ok := c.Bind("method", "GET", "code", "200")
	ok.Add(1)
	fmt.Println(ok.LabelValues())
	// Output:
	// metrics: declare counter "http.requests": invalid label: name "le" is reserved for histogram buckets and quantiles
	// [GET 200]
}
