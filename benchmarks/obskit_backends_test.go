package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	obskitcirconus "github.com/obskit/obskit/backends/circonus"
	obskitdogstatsd "github.com/obskit/obskit/backends/dogstatsd"
	obskitexpvar "github.com/obskit/obskit/backends/expvar"
	obskitgraphite "github.com/obskit/obskit/backends/graphite"
	obskitinflux "github.com/obskit/obskit/backends/influx"
	obskitotlp "github.com/obskit/obskit/backends/otlp"
	obskitprom "github.com/obskit/obskit/backends/prometheus"
	obskitstatsd "github.com/obskit/obskit/backends/statsd"
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
//
// The push backends send to addresses where nothing answers (silentUDP,
// closedAddr): the scenarios measure recording, and with pushInterval no
// flush runs while they do; the one at Close fails, as it must, and is
// not reported.
var obskitBackends = []obskitBackend{
	{"obskit/prometheus", func() (metrics.Backend, error) { return obskitprom.New(obskitprom.Options{}) }},
	{"obskit/expvar", func() (metrics.Backend, error) { return obskitexpvar.New(obskitexpvar.Options{}) }},
	{"obskit/statsd", func() (metrics.Backend, error) {
		return obskitstatsd.New(obskitstatsd.Options{Addr: silentUDP, FlushInterval: pushInterval, Timeout: pushTimeout, ErrorHandler: dropError})
	}},
	{"obskit/dogstatsd", func() (metrics.Backend, error) {
		return obskitdogstatsd.New(obskitdogstatsd.Options{Addr: silentUDP, FlushInterval: pushInterval, Timeout: pushTimeout, ErrorHandler: dropError})
	}},
	{"obskit/graphite", func() (metrics.Backend, error) {
		return obskitgraphite.New(obskitgraphite.Options{Addr: closedAddr, FlushInterval: pushInterval, Timeout: pushTimeout, ErrorHandler: dropError})
	}},
	{"obskit/influx", func() (metrics.Backend, error) {
		return obskitinflux.New(obskitinflux.Options{UDPAddr: silentUDP, FlushInterval: pushInterval, Timeout: pushTimeout, ErrorHandler: dropError})
	}},
	{"obskit/circonus", func() (metrics.Backend, error) {
		return obskitcirconus.New(obskitcirconus.Options{URL: "http://" + closedAddr + "/", FlushInterval: pushInterval, Timeout: pushTimeout, ErrorHandler: dropError})
	}},
	{"obskit/otlp", func() (metrics.Backend, error) {
		return obskitotlp.New(obskitotlp.Options{Endpoint: closedAddr, Insecure: true, FlushInterval: pushInterval, Timeout: pushTimeout, ErrorHandler: dropError})
	}},
}

const (
	// silentUDP is a loopback UDP port assumed unused: statsd, DogStatsD
	// and InfluxDB's UDP sends to it are dropped without an answer that
	// matters to the hot path.
	silentUDP = "127.0.0.1:9"
	// closedAddr is a loopback TCP port where nothing listens.
	closedAddr   = "127.0.0.1:1"
	pushInterval = time.Hour
	pushTimeout  = 100 * time.Millisecond
)

func dropError(error) {}

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
			// Nothing listens, so the last flush fails (ErrDelivery); a
			// short deadline keeps the backends that retry from holding
			// the run up.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := c.Close(ctx); err != nil && !errors.Is(err, metrics.ErrDelivery) {
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
