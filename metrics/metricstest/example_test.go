package metricstest_test

import (
	"fmt"
	"time"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
)

// Use metricstest in your own tests: wire it as the backend, run the code
// under test, and read back what it recorded.
func Example() {
	b := metricstest.New()
	reg := metrics.New(b, metrics.WithNamespace("shop"))
	orders, _ := reg.NewCounter(metrics.Opts{Name: "orders", Labels: []string{"status"}})
	latency, _ := reg.NewHistogram(metrics.Opts{Name: "checkout.duration", Unit: metrics.UnitSeconds})

	// The code under test.
	for _, d := range []time.Duration{120 * time.Millisecond, 80 * time.Millisecond, 300 * time.Millisecond} {
		orders.With("status", "paid").Add(1)
		latency.Observe(d.Seconds())
	}
	orders.With("status", "failed").Add(1)

	fmt.Println(b.Counter("shop.orders", "status", "paid"), b.Counter("shop.orders", "status", "failed"))
	h := b.Histogram("shop.checkout.duration")
	fmt.Println(h.Count, h.Sum, h.Quantile(0.5))
	// Output:
	// 3 1
	// 3 0.5 0.12
}
