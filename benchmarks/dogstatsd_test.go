package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	ddstatsd "github.com/DataDog/datadog-go/v5/statsd"
	kitdogstatsd "github.com/go-kit/kit/metrics/dogstatsd"
	kitlog "github.com/go-kit/log"

	"github.com/obskit/obskit/backends/dogstatsd"
)

// The DogStatsD benchmarks put obskit's dogstatsd backend (its hot path
// is internal/push; datadog-go only sees one call per series and flush)
// beside a bare atomic add, client_golang's histogram, datadog-go's own
// client called per event (its defaults: client-side aggregation of
// counts, distributions sent per value) and Go kit's dogstatsd adapter.
// Every client sends to a port nothing listens on; obskit flushes only
// when a benchmark says so.

// quietDD are the datadog-go options of every client here: no telemetry
// and no container lookup, which would only add noise.
var quietDD = []ddstatsd.Option{ddstatsd.WithoutTelemetry(), ddstatsd.WithoutOriginDetection()}

func newDogstatsd(b *testing.B, o dogstatsd.Options) *dogstatsd.Backend {
	if o.Addr == "" {
		o.Addr = deadAddr
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour
	}
	o.ClientOptions = append(o.ClientOptions, quietDD...)
	be, err := dogstatsd.New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close(context.Background()) })
	return be
}

func newDatadogClient(b *testing.B) *ddstatsd.Client {
	c, err := ddstatsd.New(deadAddr, quietDD...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

var ddTags = []string{"method:GET", "code:200"}

// BenchmarkDogstatsdCounterBound: add one to a series bound before the
// loop. datadog-go's Incr takes its tags on every call; Go kit's counter
// is bound With the label values before the loop.
func BenchmarkDogstatsdCounterBound(b *testing.B) {
	b.Run("obskit-dogstatsd", func(b *testing.B) {
		benchBoundAdd(b, pushCounter(b, newDogstatsd(b, dogstatsd.Options{})).Bind("method", "GET", "code", "200"))
	})
	b.Run("atomic.AddUint64", benchAtomicAdd)
	b.Run("datadog-go-Incr", func(b *testing.B) {
		c := newDatadogClient(b)
		b.ReportAllocs()
		for b.Loop() {
			c.Incr("requests", ddTags, 1)
		}
	})
	b.Run("go-kit-dogstatsd", func(b *testing.B) {
		d := kitdogstatsd.New("", kitlog.NewNopLogger())
		c := d.NewCounter("requests", 1).With("method", "GET", "code", "200")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c.Add(1)
			if i%100000 == 0 {
				d.WriteTo(io.Discard) // Go kit keeps every observation until a flush
			}
		}
	})
}

func BenchmarkDogstatsdCounterBoundParallel(b *testing.B) {
	b.Run("obskit-dogstatsd", func(b *testing.B) {
		benchBoundAddParallel(b, pushCounter(b, newDogstatsd(b, dogstatsd.Options{})).Bind("method", "GET", "code", "200"))
	})
	b.Run("atomic.AddUint64", benchAtomicAddParallel)
	b.Run("datadog-go-Incr", func(b *testing.B) {
		c := newDatadogClient(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Incr("requests", ddTags, 1)
			}
		})
	})
}

// BenchmarkDogstatsdCounterWithHit: look up a cached label set, then add
// one. datadog-go has no label lookup: its Incr with a tag slice is the
// equivalent call; with fresh strings, the tags are built per call as a
// request handler would.
func BenchmarkDogstatsdCounterWithHit(b *testing.B) {
	b.Run("obskit-dogstatsd", func(b *testing.B) {
		c := pushCounter(b, newDogstatsd(b, dogstatsd.Options{}))
		c.With("method", "GET", "code", "200").Add(1)
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", "GET", "code", "200").Add(1)
		}
	})
	b.Run("obskit-dogstatsd-fresh-strings", func(b *testing.B) {
		c := pushCounter(b, newDogstatsd(b, dogstatsd.Options{}))
		method := []byte("GET")
		c.With("method", string(method), "code", "200").Add(1)
		b.ReportAllocs()
		for b.Loop() {
			c.With("method", string(method), "code", "200").Add(1)
		}
	})
	b.Run("datadog-go-Incr-fresh-tags", func(b *testing.B) {
		c := newDatadogClient(b)
		method := []byte("GET")
		b.ReportAllocs()
		for b.Loop() {
			c.Incr("requests", []string{"method:" + string(method), "code:200"}, 1)
		}
	})
	b.Run("go-kit-dogstatsd", func(b *testing.B) {
		d := kitdogstatsd.New("", kitlog.NewNopLogger())
		c := d.NewCounter("requests", 1)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c.With("method", "GET", "code", "200").Add(1)
			if i%100000 == 0 {
				d.WriteTo(io.Discard)
			}
		}
	})
}

// BenchmarkDogstatsdHistogramBound: observe into a series bound before
// the loop: obskit's distribution (a bounded reservoir of raw values),
// client_golang's histogram, datadog-go's Distribution per value and Go
// kit's dogstatsd histogram.
func BenchmarkDogstatsdHistogramBound(b *testing.B) {
	b.Run("obskit-dogstatsd", func(b *testing.B) {
		benchBoundObserve(b, pushHistogram(b, newDogstatsd(b, dogstatsd.Options{})).Bind("method", "GET"))
	})
	b.Run("client_golang", benchClientGolangObserve)
	b.Run("datadog-go-Distribution", func(b *testing.B) {
		c := newDatadogClient(b)
		tags := []string{"method:GET"}
		b.ReportAllocs()
		for b.Loop() {
			c.Distribution("duration", observed, tags, 1)
		}
	})
	b.Run("go-kit-dogstatsd", func(b *testing.B) {
		d := kitdogstatsd.New("", kitlog.NewNopLogger())
		h := d.NewHistogram("duration", 1).With("method", "GET")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.Observe(observed)
			if i%100000 == 0 {
				d.WriteTo(io.Discard)
			}
		}
	})
}

func BenchmarkDogstatsdHistogramBoundParallel(b *testing.B) {
	b.Run("obskit-dogstatsd", func(b *testing.B) {
		benchBoundObserveParallel(b, pushHistogram(b, newDogstatsd(b, dogstatsd.Options{})).Bind("method", "GET"))
	})
	b.Run("client_golang", benchClientGolangObserveParallel)
	b.Run("datadog-go-Distribution", func(b *testing.B) {
		c := newDatadogClient(b)
		tags := []string{"method:GET"}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Distribution("duration", observed, tags, 1)
			}
		})
	})
}

// udpSink reads and discards datagrams on a loopback port until the
// benchmark ends, so that flushes write to a live socket.
func udpSink(b *testing.B) string {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<16)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().String()
}

// statsdDaemonAddr is the real statsd daemon of scripts/backend (which
// parses DogStatsD's tags), or "" when its management port does not
// answer.
func statsdDaemonAddr() string {
	addr := strings.TrimPrefix(os.Getenv("OBSKIT_STATSD_URL"), "udp://")
	if addr == "" {
		addr = "127.0.0.1:18125"
	}
	host, _, _ := net.SplitHostPort(addr)
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, "18126"), time.Second)
	if err != nil {
		return ""
	}
	c.Close()
	return addr
}

// BenchmarkDogstatsdThroughput: two goroutines record counters and
// distributions into 100 series each while the backend flushes every 10
// ms through datadog-go, to the real statsd daemon (scripts/backend up
// statsd; skipped without it) and to a UDP socket that discards. It
// reports events/s over the whole run.
func BenchmarkDogstatsdThroughput(b *testing.B) {
	b.Run("statsd-daemon", func(b *testing.B) {
		addr := statsdDaemonAddr()
		if addr == "" {
			b.Skip("the statsd daemon is not running: scripts/backend up statsd")
		}
		benchPushThroughput(b, newDogstatsd(b, dogstatsd.Options{Addr: addr, FlushInterval: 10 * time.Millisecond}))
	})
	b.Run("udp-sink", func(b *testing.B) {
		benchPushThroughput(b, newDogstatsd(b, dogstatsd.Options{Addr: udpSink(b), FlushInterval: 10 * time.Millisecond}))
	})
}

// BenchmarkDogstatsdFlush: one flush of n series that all changed,
// handed to datadog-go and written to a live UDP socket: counters (one
// Count each) and distributions of one value each.
func BenchmarkDogstatsdFlush(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("counters-%d", n), func(b *testing.B) {
			be := newDogstatsd(b, dogstatsd.Options{Addr: udpSink(b)})
			benchFlushChanged(b, countersOf(b, be, n), func() { be.Flush(context.Background()) })
		})
		b.Run(fmt.Sprintf("distributions-%d", n), func(b *testing.B) {
			be := newDogstatsd(b, dogstatsd.Options{Addr: udpSink(b)})
			benchFlushChanged(b, histogramsOf(b, be, n), func() { be.Flush(context.Background()) })
		})
	}
}

// BenchmarkDogstatsdServerDown records 1 M events (counters and
// distributions into 100 series) per iteration while the backend flushes
// every 10 ms to a port nothing listens on, and reports the heap growth
// over the whole run: flat, because what a flush cannot write is dropped
// and counted, and a series holds at most MaxTimerValues values.
func BenchmarkDogstatsdServerDown(b *testing.B) {
	be := newDogstatsd(b, dogstatsd.Options{Addr: deadAddr, FlushInterval: 10 * time.Millisecond})
	benchPushServerDown(b, be)
	st := be.Stats()
	b.ReportMetric(float64(st.Dropped()), "values-dropped")
	b.ReportMetric(float64(st.Flushes), "flushes")
}
