package benchmarks

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	obskitexpvar "github.com/obskit/obskit/backends/expvar"
	obskitprom "github.com/obskit/obskit/backends/prometheus"
	"github.com/obskit/obskit/metrics"
)

// obskitBackend is one obskit backend the front-end benchmarks run
// against; its sub-benchmark is named after it.
type obskitBackend struct {
	name string // "obskit/<backend>"
	new  func() (metrics.Backend, error)
}

// obskitBackends are the backends every front-end scenario runs obskit
// on, each as its own sub-benchmark beside the peers. Adding a backend to
// the comparison is one line here; a push backend's Close (with a
// context) runs when its sub-benchmark ends. The report pairs a peer with
// the obskit row of the same backend (cmd/report's counterpart rules).
var obskitBackends = []obskitBackend{
	{"obskit/prometheus", func() (metrics.Backend, error) { return obskitprom.New(obskitprom.Options{}) }},
	{"obskit/expvar", func() (metrics.Backend, error) { return obskitexpvar.New(obskitexpvar.Options{}) }},
}

// registrySeq makes every registry's namespace unique: expvar publishes
// process-wide and cannot unpublish, and a benchmark function runs more
// than once.
var registrySeq atomic.Int64

// uniqueName returns prefix followed by a number never returned before,
// for the peers that publish into a process-wide namespace too (Go kit's
// expvar adapter).
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, registrySeq.Add(1))
}

// registry constructs o's backend and a Registry over it with a namespace
// of its own, and closes the backend when b ends if it has a Close.
func (o obskitBackend) registry(b *testing.B) *metrics.Registry {
	b.Helper()
	be, err := o.new()
	if err != nil {
		b.Fatalf("%s: %v", o.name, err)
	}
	if c, ok := be.(interface{ Close(context.Context) error }); ok {
		b.Cleanup(func() {
			if err := c.Close(context.Background()); err != nil {
				b.Errorf("%s: Close: %v", o.name, err)
			}
		})
	}
	return metrics.New(be, metrics.WithNamespace(uniqueName("bench")))
}

func (o obskitBackend) counter(b *testing.B) *metrics.CounterMetric {
	c, err := o.registry(b).NewCounter(metrics.Opts{Name: "requests", Help: "h", Labels: benchLabels})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func (o obskitBackend) gauge(b *testing.B) *metrics.GaugeMetric {
	g, err := o.registry(b).NewGauge(metrics.Opts{Name: "in_flight", Help: "h", Labels: benchLabels})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func (o obskitBackend) histogram(b *testing.B) *metrics.HistogramMetric {
	h, err := o.registry(b).NewHistogram(metrics.Opts{Name: "duration", Help: "h", Unit: metrics.UnitSeconds, Labels: benchLabels})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// The label set every front-end scenario records: two labels, as an
// HTTP handler's method and status code.
var benchLabels = []string{"method", "code"}

const (
	labelMethod = "GET"
	labelCode   = "200"
)

// freshValues are copies of labelMethod and labelCode at distinct
// addresses, as label values taken from a request or formatted per call
// would be: the same label set, but no library can recognise the strings
// by their pointers. The loops cycle through them; the index arithmetic
// is the same for every library.
type labelPair struct{ method, code string }

const freshMask = 255

var freshValues = func() []labelPair {
	v := make([]labelPair, freshMask+1)
	for i := range v {
		v[i] = labelPair{strings.Clone(labelMethod), strings.Clone(labelCode)}
	}
	return v
}()
