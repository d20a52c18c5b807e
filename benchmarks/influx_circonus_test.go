package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	cgm "github.com/circonus-labs/circonus-gometrics"
	kitinflux "github.com/go-kit/kit/metrics/influx"
	kitlog "github.com/go-kit/log"
	influxdb "github.com/influxdata/influxdb1-client/v2"

	"github.com/obskit/obskit/backends/circonus"
	"github.com/obskit/obskit/backends/influx"
	"github.com/obskit/obskit/metrics"
)

// The influx and circonus benchmarks put the two backends' hot paths
// beside a bare atomic add, client_golang's histogram, Go kit's influx
// adapter, influxdb1-client used directly (a point per event into a
// batch) and circonus-gometrics' own Increment and RecordValue. Every
// backend flushes only when a benchmark says so.

const deadURL = "http://127.0.0.1:9" // nothing listens there

func newInflux(b *testing.B, o influx.Options) *influx.Backend {
	if o.URL == "" {
		o.URL = deadURL
	}
	if o.Database == "" {
		o.Database = "bench"
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour
	}
	be, err := influx.New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		be.Close(ctx)
	})
	return be
}

func newCirconus(b *testing.B, o circonus.Options) *circonus.Backend {
	if o.URL == "" {
		o.URL = deadURL + "/module/httptrap/bench/secret"
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour
	}
	be, err := circonus.New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		be.Close(ctx)
	})
	return be
}

// newCGM is circonus-gometrics on its own, with its automatic flush off.
func newCGM(b *testing.B) *cgm.CirconusMetrics {
	cfg := &cgm.Config{Interval: "0"}
	cfg.CheckManager.Check.SubmissionURL = deadURL + "/module/httptrap/bench/secret"
	m, err := cgm.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkInfluxCirconusCounterBound(b *testing.B) {
	b.Run("obskit-influx", func(b *testing.B) {
		c := pushCounter(b, newInflux(b, influx.Options{})).Bind("method", "GET", "code", "200")
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
	b.Run("obskit-circonus", func(b *testing.B) {
		c := pushCounter(b, newCirconus(b, circonus.Options{})).Bind("method", "GET", "code", "200")
		b.ReportAllocs()
		for b.Loop() {
			c.Add(1)
		}
	})
	b.Run("atomic.AddUint64", func(b *testing.B) {
		var n uint64
		b.ReportAllocs()
		for b.Loop() {
			atomic.AddUint64(&n, 1)
		}
	})
	b.Run("go-kit-influx", func(b *testing.B) {
		in := kitinflux.New(nil, influxdb.BatchPointsConfig{Database: "bench"}, kitlog.NewNopLogger())
		c := in.NewCounter("requests").With("method", "GET", "code", "200")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c.Add(1)
			if i%100000 == 0 {
				in.WriteTo(discardPoints{}) // Go kit keeps every observation until a flush
			}
		}
	})
	b.Run("influxdb1-client-point-per-event", func(b *testing.B) {
		bp, _ := influxdb.NewBatchPoints(influxdb.BatchPointsConfig{Database: "bench"})
		tags := map[string]string{"method": "GET", "code": "200"}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p, err := influxdb.NewPoint("requests", tags, map[string]any{"count": 1.0}, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			bp.AddPoint(p)
			if i%10000 == 0 {
				bp, _ = influxdb.NewBatchPoints(influxdb.BatchPointsConfig{Database: "bench"})
			}
		}
	})
	b.Run("circonus-gometrics-Increment", func(b *testing.B) {
		m := newCGM(b)
		b.ReportAllocs()
		for b.Loop() {
			m.Increment("requests|ST[code:200,method:GET]")
		}
	})
}

func BenchmarkInfluxCirconusHistogramBound(b *testing.B) {
	b.Run("obskit-influx", func(b *testing.B) {
		h := pushHistogram(b, newInflux(b, influx.Options{})).Bind("method", "GET")
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(observed)
		}
	})
	b.Run("obskit-circonus", func(b *testing.B) {
		h := pushHistogram(b, newCirconus(b, circonus.Options{})).Bind("method", "GET")
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(observed)
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		h := newClientGolangHistogram(b).WithLabelValues("GET")
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(observed)
		}
	})
	b.Run("go-kit-influx", func(b *testing.B) {
		in := kitinflux.New(nil, influxdb.BatchPointsConfig{Database: "bench"}, kitlog.NewNopLogger())
		h := in.NewHistogram("duration").With("method", "GET")
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.Observe(observed)
			if i%100000 == 0 {
				in.WriteTo(discardPoints{})
			}
		}
	})
	b.Run("circonus-gometrics-RecordValue", func(b *testing.B) {
		m := newCGM(b)
		b.ReportAllocs()
		for b.Loop() {
			m.RecordValue("duration|ST[method:GET]", observed)
		}
	})
}

// discardPoints is a Go kit BatchPointsWriter that formats the points as
// influxdb1-client's Write would, and drops them.
type discardPoints struct{}

func (discardPoints) Write(bp influxdb.BatchPoints) error {
	for _, p := range bp.Points() {
		io.WriteString(io.Discard, p.PrecisionString(bp.Precision()))
	}
	return nil
}

// discardServer answers every request 204 after reading its body: a
// stand-in for InfluxDB's /write and a Circonus trap.
func discardServer(b *testing.B) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(s.Close)
	return s
}

// BenchmarkInfluxCirconusFlush: one flush of n series that all changed
// (histograms: 1 point of 8 fields for influx, a log-linear histogram for
// circonus), delivered to a local server that discards it: influx's
// batch over HTTP, circonus' submission through circonus-gometrics; and
// influxdb1-client building and formatting the same n points itself.
func BenchmarkInfluxCirconusFlush(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("obskit-influx-histograms-%d", n), func(b *testing.B) {
			srv := discardServer(b)
			be := newInflux(b, influx.Options{URL: srv.URL, Timeout: time.Minute})
			h := pushHistogram(b, be)
			hs := make([]metrics.Histogram, n)
			for i := range hs {
				hs[i] = h.Bind("method", fmt.Sprint(i))
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for _, x := range hs {
					x.Observe(observed)
				}
				b.StartTimer()
				if err := be.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("influxdb1-client-points-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bp, _ := influxdb.NewBatchPoints(influxdb.BatchPointsConfig{Database: "bench"})
				now := time.Now()
				for i := range n {
					p, err := influxdb.NewPoint("duration", map[string]string{"method": fmt.Sprint(i)}, map[string]any{
						"count": 1.0, "sum": observed, "min": observed, "max": observed,
						"p50": observed, "p90": observed, "p95": observed, "p99": observed}, now)
					if err != nil {
						b.Fatal(err)
					}
					bp.AddPoint(p)
				}
				discardPoints{}.Write(bp)
			}
		})
		b.Run(fmt.Sprintf("obskit-circonus-histograms-%d", n), func(b *testing.B) {
			srv := discardServer(b)
			be := newCirconus(b, circonus.Options{URL: srv.URL + "/module/httptrap/bench/secret", Timeout: time.Minute})
			h := pushHistogram(b, be)
			hs := make([]metrics.Histogram, n)
			for i := range hs {
				hs[i] = h.Bind("method", fmt.Sprint(i))
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for _, x := range hs {
					x.Observe(observed)
				}
				b.StartTimer()
				if err := be.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInfluxCirconusServerDown records 1 M events (counters and
// histograms into 100 series) per iteration while the backend flushes
// every 10 ms to a port nothing listens on, and reports the heap growth
// over the run: flat, because unsent flushes are bounded.
func BenchmarkInfluxCirconusServerDown(b *testing.B) {
	for _, name := range []string{"influx", "circonus"} {
		b.Run(name, func(b *testing.B) {
			var be interface {
				metrics.Backend
				Stats() influx.Stats
			}
			if name == "influx" {
				be = newInflux(b, influx.Options{FlushInterval: 10 * time.Millisecond, MaxQueuedFlushes: 3})
			} else {
				be = newCirconus(b, circonus.Options{FlushInterval: 10 * time.Millisecond, MaxQueuedFlushes: 3})
			}
			reg := metrics.New(be)
			c, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"route"}})
			h, _ := reg.NewHistogram(metrics.Opts{Name: "duration", Unit: metrics.UnitSeconds, Labels: []string{"route"}})
			var cs [100]metrics.Counter
			var hs [100]metrics.Histogram
			for i := range cs {
				cs[i], hs[i] = c.Bind("route", fmt.Sprint(i)), h.Bind("route", fmt.Sprint(i))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			for b.Loop() {
				for i := range 500000 {
					cs[i%100].Add(1)
					hs[i%100].Observe(float64(i%1000) / 1000)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "heap-growth-B")
			st := be.Stats()
			b.ReportMetric(float64(st.DroppedQueueFull), "dropped")
			b.ReportMetric(float64(st.Flushes), "flushes")
		})
	}
}
