package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kitgraphite "github.com/go-kit/kit/metrics/graphite"
	kitstatsd "github.com/go-kit/kit/metrics/statsd"
	kitlog "github.com/go-kit/log"

	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/metrics"
)

// The push benchmarks put obskit's statsd and Graphite backends (their
// hot path is internal/push) beside a bare atomic add, client_golang's
// histogram, and Go kit's statsd and Graphite adapters. Every backend
// flushes only when a benchmark says so (FlushInterval of an hour) and
// sends to a port nothing listens on, so the network plays no part in
// the hot-path figures.

const deadAddr = "127.0.0.1:9" // discard; nothing listens in the tests' world

func newStatsd(b *testing.B, o statsd.Options) *statsd.Backend {
	if o.Addr == "" {
		o.Addr = deadAddr
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour
	}
	be, err := statsd.New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close(context.Background()) })
	return be
}

func newGraphite(b *testing.B, o graphite.Options) *graphite.Backend {
	if o.Addr == "" {
		o.Addr = deadAddr
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour
	}
	be, err := graphite.New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close(context.Background()) })
	return be
}

func pushCounter(b *testing.B, be metrics.Backend) *metrics.CounterMetric {
	c, err := metrics.New(be, metrics.WithCardinalityLimit(1<<20)).NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method", "code"}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func pushHistogram(b *testing.B, be metrics.Backend) *metrics.HistogramMetric {
	h, err := metrics.New(be, metrics.WithCardinalityLimit(1<<20)).NewHistogram(metrics.Opts{Name: "duration", Unit: metrics.UnitSeconds, Labels: []string{"method"}})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// The loops below are the sub-benchmarks several scenario families share
// (push, DogStatsD, influx and circonus, OTLP, Prometheus): the same
// code under the same sub-benchmark name in each.

// benchAtomicAdd is the floor of a counter's Add: a bare atomic.AddUint64.
func benchAtomicAdd(b *testing.B) {
	var n uint64
	b.ReportAllocs()
	for b.Loop() {
		atomic.AddUint64(&n, 1)
	}
}

func benchAtomicAddParallel(b *testing.B) {
	var n uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			atomic.AddUint64(&n, 1)
		}
	})
}

// benchBoundAdd adds one to c, a series bound before the loop.
func benchBoundAdd(b *testing.B, c *metrics.CounterMetric) {
	b.ReportAllocs()
	for b.Loop() {
		c.Add(1)
	}
}

func benchBoundAddParallel(b *testing.B, c *metrics.CounterMetric) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add(1)
		}
	})
}

// benchBoundObserve observes into h, a series bound before the loop.
func benchBoundObserve(b *testing.B, h *metrics.HistogramMetric) {
	b.ReportAllocs()
	for b.Loop() {
		h.Observe(observed)
	}
}

func benchBoundObserveParallel(b *testing.B, h *metrics.HistogramMetric) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(observed)
		}
	})
}

// benchClientGolangObserve observes into client_golang's histogram child
// for method GET, looked up before the loop.
func benchClientGolangObserve(b *testing.B) {
	h := newClientGolangHistogram(b).WithLabelValues("GET")
	b.ReportAllocs()
	for b.Loop() {
		h.Observe(observed)
	}
}

func benchClientGolangObserveParallel(b *testing.B) {
	h := newClientGolangHistogram(b).WithLabelValues("GET")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Observe(observed)
		}
	})
}

// pushBackend is what the throughput and server-down scenarios read back
// from a push backend (every one's Stats is internal/push's).
type pushBackend interface {
	metrics.Backend
	Flush(context.Context) error
	Stats() graphite.Stats
}

// routes is the number of series the throughput and server-down
// scenarios record into.
const routes = 100

// routeSeries binds a counter and a histogram of reg, each labelled by
// route, to the routes named by name(i).
func routeSeries(reg *metrics.Registry, name func(int) string) (cs [routes]metrics.Counter, hs [routes]metrics.Histogram) {
	c, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"route"}})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "duration", Unit: metrics.UnitSeconds, Labels: []string{"route"}})
	for i := range routes {
		r := name(i)
		cs[i], hs[i] = c.Bind("route", r), h.Bind("route", r)
	}
	return cs, hs
}

// benchPushThroughput: two goroutines record counters and histograms
// into 100 series each while be flushes (at its FlushInterval); it
// reports events/s over the whole run and the number of flushes.
func benchPushThroughput(b *testing.B, be pushBackend) {
	reg := metrics.New(be, metrics.WithNamespace(fmt.Sprintf("bench%d", time.Now().UnixNano())))
	cs, hs := routeSeries(reg, func(i int) string { return fmt.Sprintf("/r%d", i) })
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N / 2
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				k := (i + g) % routes
				if i&1 == 0 {
					cs[k].Add(1)
				} else {
					hs[k].Observe(observed)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if err := be.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(2*per)/el.Seconds(), "events/s")
	b.ReportMetric(float64(be.Stats().Flushes), "flushes")
}

// benchPushServerDown records 1 M events (counters and histograms into
// 100 series) per iteration into be, which flushes to a server that is
// down, and reports the heap growth over the whole run; the caller
// reports be's Stats after it.
func benchPushServerDown(b *testing.B, be pushBackend) {
	cs, hs := routeSeries(metrics.New(be), func(i int) string { return fmt.Sprint(i) })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		for i := range 500000 {
			cs[i%routes].Add(1)
			hs[i%routes].Observe(float64(i%1000) / 1000)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "heap-growth-B")
}

// benchFlushChanged measures flush after every series has changed: touch
// (which changes them) runs outside the timer before each flush.
func benchFlushChanged(b *testing.B, touch, flush func()) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		touch()
		b.StartTimer()
		flush()
	}
}

// countersOf binds n series of pushCounter on be (code 0 to n-1) and
// returns a func that adds one to each.
func countersOf(b *testing.B, be metrics.Backend, n int) func() {
	c := pushCounter(b, be)
	cs := make([]metrics.Counter, n)
	for i := range cs {
		cs[i] = c.Bind("method", "GET", "code", fmt.Sprint(i))
	}
	return func() {
		for _, x := range cs {
			x.Add(1)
		}
	}
}

// histogramsOf binds n series of pushHistogram on be (method 0 to n-1)
// and returns a func that observes one value into each.
func histogramsOf(b *testing.B, be metrics.Backend, n int) func() {
	h := pushHistogram(b, be)
	hs := make([]metrics.Histogram, n)
	for i := range hs {
		hs[i] = h.Bind("method", fmt.Sprint(i))
	}
	return func() {
		for _, x := range hs {
			x.Observe(observed)
		}
	}
}

// BenchmarkPushCounterBound: add one to a series bound before the loop,
// against a bare atomic.AddUint64 and Go kit's statsd and Graphite
// counters (which have no labels; theirs is the whole hot path).
func BenchmarkPushCounterBound(b *testing.B) {
	b.Run("obskit-statsd", func(b *testing.B) {
		benchBoundAdd(b, pushCounter(b, newStatsd(b, statsd.Options{})).Bind("method", "GET", "code", "200"))
	})
	b.Run("obskit-graphite", func(b *testing.B) {
		benchBoundAdd(b, pushCounter(b, newGraphite(b, graphite.Options{})).Bind("method", "GET", "code", "200"))
	})
	b.Run("atomic.AddUint64", benchAtomicAdd)
	b.Run("go-kit-statsd", func(b *testing.B) {
		s := kitstatsd.New("", kitlog.NewNopLogger())
		c := s.NewCounter("requests", 1)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c.Add(1)
			if i%100000 == 0 {
				s.WriteTo(io.Discard) // Go kit keeps every observation until a flush
			}
		}
	})
	b.Run("go-kit-graphite", func(b *testing.B) {
		g := kitgraphite.New("", kitlog.NewNopLogger())
		c := g.NewCounter("requests")
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
}

func BenchmarkPushCounterBoundParallel(b *testing.B) {
	b.Run("obskit-statsd", func(b *testing.B) {
		benchBoundAddParallel(b, pushCounter(b, newStatsd(b, statsd.Options{})).Bind("method", "GET", "code", "200"))
	})
	b.Run("atomic.AddUint64", benchAtomicAddParallel)
}

// BenchmarkPushCounterWithHit: look up a cached label set, then add one.
// Go kit's statsd and Graphite adapters ignore labels, so theirs is With
// returning the counter itself.
func BenchmarkPushCounterWithHit(b *testing.B) {
	b.Run("obskit-statsd", func(b *testing.B) {
		c := pushCounter(b, newStatsd(b, statsd.Options{}))
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
	})
	b.Run("obskit-statsd-fresh-strings", func(b *testing.B) {
		// Label values built per call, as from a request.
		c := pushCounter(b, newStatsd(b, statsd.Options{}))
		method := []byte("GET")
		c.With("method", string(method), "code", "200").Add(1)
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", string(method), "code", "200").Add(1)
		}
	})
	b.Run("go-kit-statsd", func(b *testing.B) {
		s := kitstatsd.New("", kitlog.NewNopLogger())
		c := s.NewCounter("requests", 1)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c.With("method", "GET", "code", "200").Add(1)
			if i%100000 == 0 {
				s.WriteTo(io.Discard)
			}
		}
	})
	b.Run("go-kit-graphite", func(b *testing.B) {
		c := kitgraphite.New("", kitlog.NewNopLogger()).NewCounter("requests")
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
	})
}

// BenchmarkPushHistogramBound: observe into a series bound before the
// loop: obskit's Graphite histogram (a relative-error sketch), its statsd
// timer (a bounded reservoir of raw values), client_golang's histogram,
// and Go kit's statsd timing and Graphite histogram.
func BenchmarkPushHistogramBound(b *testing.B) {
	b.Run("obskit-graphite", func(b *testing.B) {
		benchBoundObserve(b, pushHistogram(b, newGraphite(b, graphite.Options{})).Bind("method", "GET"))
	})
	b.Run("obskit-statsd", func(b *testing.B) {
		benchBoundObserve(b, pushHistogram(b, newStatsd(b, statsd.Options{})).Bind("method", "GET"))
	})
	b.Run("client_golang", benchClientGolangObserve)
	b.Run("go-kit-statsd", func(b *testing.B) {
		s := kitstatsd.New("", kitlog.NewNopLogger())
		h := s.NewTiming("duration", 1)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.Observe(observed * 1000)
			if i%100000 == 0 {
				s.WriteTo(io.Discard)
			}
		}
	})
	b.Run("go-kit-graphite", func(b *testing.B) {
		h := kitgraphite.New("", kitlog.NewNopLogger()).NewHistogram("duration", 50)
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(observed)
		}
	})
}

func BenchmarkPushHistogramBoundParallel(b *testing.B) {
	b.Run("obskit-graphite", func(b *testing.B) {
		benchBoundObserveParallel(b, pushHistogram(b, newGraphite(b, graphite.Options{})).Bind("method", "GET"))
	})
	b.Run("obskit-statsd", func(b *testing.B) {
		benchBoundObserveParallel(b, pushHistogram(b, newStatsd(b, statsd.Options{})).Bind("method", "GET"))
	})
	b.Run("client_golang", benchClientGolangObserveParallel)
}

// carbonAddr is the real carbon of scripts/backend, or "" when it does
// not answer.
func carbonAddr() string {
	addr := strings.TrimPrefix(os.Getenv("OBSKIT_CARBON_URL"), "tcp://")
	if addr == "" {
		addr = "127.0.0.1:12003"
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	c.Close()
	return addr
}

// BenchmarkPushThroughput: two goroutines record counters and histograms
// into 100 series each while the backend flushes to the real carbon
// every 10 ms (scripts/backend up graphite-web carbon). It reports
// events/s over the whole run. Without carbon it is skipped.
func BenchmarkPushThroughput(b *testing.B) {
	addr := carbonAddr()
	if addr == "" {
		b.Skip("carbon is not running: scripts/backend up graphite-web carbon")
	}
	benchPushThroughput(b, newGraphite(b, graphite.Options{Addr: addr, FlushInterval: 10 * time.Millisecond}))
}

// BenchmarkPushFlush: one flush of n series that all changed, formatted
// to io.Discard through WriteTo (the same code that writes to the
// socket): counters for statsd, histograms (8 lines each) for Graphite.
func BenchmarkPushFlush(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("statsd-counters-%d", n), func(b *testing.B) {
			be := newStatsd(b, statsd.Options{})
			benchFlushChanged(b, countersOf(b, be, n), func() { be.WriteTo(io.Discard) })
		})
		b.Run(fmt.Sprintf("graphite-histograms-%d", n), func(b *testing.B) {
			be := newGraphite(b, graphite.Options{})
			benchFlushChanged(b, histogramsOf(b, be, n), func() { be.WriteTo(io.Discard) })
		})
	}
}

// BenchmarkPushServerDown records 1 M events (counters and histograms
// into 100 series) per iteration while the backend flushes every 10 ms
// to a port nothing listens on, and reports the heap growth over the
// whole run: flat, because unsent flushes are bounded.
func BenchmarkPushServerDown(b *testing.B) {
	be := newGraphite(b, graphite.Options{Addr: deadAddr, FlushInterval: 10 * time.Millisecond, MaxQueuedFlushes: 3})
	benchPushServerDown(b, be)
	st := be.Stats()
	b.ReportMetric(float64(st.DroppedQueueFull), "lines-dropped")
	b.ReportMetric(float64(st.Flushes), "flushes")
}
