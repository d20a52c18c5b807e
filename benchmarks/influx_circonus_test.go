package benchmarks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cgm "github.com/circonus-labs/circonus-gometrics"
	kitinflux "github.com/go-kit/kit/metrics/influx"
	kitlog "github.com/go-kit/log"
	influxdb "github.com/influxdata/influxdb1-client/v2"

	"github.com/obskit/obskit/backends/circonus"
	"github.com/obskit/obskit/backends/influx"
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
		benchBoundAdd(b, pushCounter(b, newInflux(b, influx.Options{})).Bind("method", "GET", "code", "200"))
	})
	b.Run("obskit-circonus", func(b *testing.B) {
		benchBoundAdd(b, pushCounter(b, newCirconus(b, circonus.Options{})).Bind("method", "GET", "code", "200"))
	})
	b.Run("atomic.AddUint64", benchAtomicAdd)
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
		benchBoundObserve(b, pushHistogram(b, newInflux(b, influx.Options{})).Bind("method", "GET"))
	})
	b.Run("obskit-circonus", func(b *testing.B) {
		benchBoundObserve(b, pushHistogram(b, newCirconus(b, circonus.Options{})).Bind("method", "GET"))
	})
	b.Run("client_golang", benchClientGolangObserve)
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
			benchFlushChanged(b, histogramsOf(b, be, n), func() {
				if err := be.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			})
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
			benchFlushChanged(b, histogramsOf(b, be, n), func() {
				if err := be.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			})
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
			var be pushBackend
			if name == "influx" {
				be = newInflux(b, influx.Options{FlushInterval: 10 * time.Millisecond, MaxQueuedFlushes: 3})
			} else {
				be = newCirconus(b, circonus.Options{FlushInterval: 10 * time.Millisecond, MaxQueuedFlushes: 3})
			}
			benchPushServerDown(b, be)
			st := be.Stats()
			b.ReportMetric(float64(st.DroppedQueueFull), "dropped")
			b.ReportMetric(float64(st.Flushes), "flushes")
		})
	}
}
