package otlp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/obskit/obskit/metrics"
)

// The fault tests start, kill and restart a collector of their own (the
// binary of scripts/servers/otelcol.sh with another config), on ports
// apart from the shared one's, and read back from its prometheus
// exporter directly.
const (
	faultGRPC = "127.0.0.1:14327"
	faultHTTP = "127.0.0.1:14328"
	faultProm = "127.0.0.1:18899"
)

// collectorBin returns the collector binary: OBSKIT_JAEGER_BIN, or where
// scripts/servers/jaeger.sh builds it.
func collectorBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OBSKIT_JAEGER_BIN")
	if bin == "" {
		cache := os.Getenv("OBSKIT_CACHE")
		if cache == "" {
			cache = "/var/cache/obskit"
		}
		bin = filepath.Join(cache, "jaeger", "jaeger-v1.76.0")
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		msg := fmt.Sprintf("no collector binary at %s; build it with `scripts/backend up otelcol` or set OBSKIT_JAEGER_BIN", bin)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// collector is a collector process of the test's own.
type collector struct {
	t        *testing.T
	bin, dir string
	cmd      *exec.Cmd
}

func newCollector(t *testing.T) *collector {
	c := &collector{t: t, bin: collectorBin(t), dir: t.TempDir()}
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc: {endpoint: %s}
      http: {endpoint: %s}
exporters:
  prometheus: {endpoint: %s}
service:
  telemetry: {metrics: {level: none}}
  pipelines:
    metrics: {receivers: [otlp], exporters: [prometheus]}
`, faultGRPC, faultHTTP, faultProm)
	if err := os.WriteFile(filepath.Join(c.dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	return c
}

// start starts the collector and waits until its exporter answers.
func (c *collector) start() {
	c.t.Helper()
	log, err := os.OpenFile(filepath.Join(c.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	defer log.Close()
	c.cmd = exec.Command(c.bin, "--config=file:"+filepath.Join(c.dir, "config.yaml"))
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { c.cmd.Process.Wait(); close(exited) }() //nolint:errcheck
	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			out, _ := os.ReadFile(filepath.Join(c.dir, "log"))
			c.t.Fatalf("collector exited at start:\n%s", out)
		default:
		}
		if resp, err := client.Get("http://" + faultProm + "/metrics"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	c.t.Fatalf("collector not ready within 20 s:\n%s", out)
}

// kill stops the collector, if running, at once.
func (c *collector) kill() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Kill() //nolint:errcheck
	// The goroutine started in start reaps it; wait until its ports are
	// free.
	for range 50 {
		if _, err := http.Get("http://" + faultProm + "/metrics"); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.cmd = nil
}

// value returns the value of the counter or gauge named name (in the
// exporter's naming) from the collector's exporter, and whether it is
// there.
func (c *collector) value(name string) (float64, bool) {
	c.t.Helper()
	resp, err := http.Get("http://" + faultProm + "/metrics")
	if err != nil {
		c.t.Fatalf("read the collector's exporter: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		c.t.Fatalf("parse the collector's exporter: %v", err)
	}
	f, ok := fams[name]
	if !ok || len(f.Metric) != 1 {
		return 0, false
	}
	m := f.Metric[0]
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	}
	return 0, false
}

// expect waits until name reads want at the collector.
func (c *collector) expect(name string, want float64) {
	c.t.Helper()
	var got float64
	var ok bool
	for range 50 {
		if got, ok = c.value(name); ok && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Errorf("%s at the collector = %v (present %v), want %v", name, got, ok, want)
}

// flushUntilDelivered flushes until an export succeeds: after the
// collector comes back, the first may still meet the old connection's
// backoff.
func flushUntilDelivered(t *testing.T, b *Backend) {
	t.Helper()
	var err error
	for range 20 {
		if err = b.Flush(context.Background()); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no export delivered after the collector came back: %v", err)
}

func TestFaultCollectorDownAndBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"grpc", Options{Endpoint: faultGRPC, Insecure: true}},
		{"http", Options{Protocol: ProtocolHTTP, Endpoint: faultHTTP, Insecure: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector(t)
			o := tc.o
			o.ServiceName, o.FlushInterval, o.Timeout = "obskit-fault", time.Hour, 2*time.Second
			var reports int
			o.ErrorHandler = func(error) { reports++ }
			b, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close(context.Background())
			ns := fmt.Sprintf("f%08x", rand.Uint32())
			c, err := metrics.New(b, metrics.WithNamespace(ns)).NewCounter(metrics.Opts{Name: "requests"})
			if err != nil {
				t.Fatal(err)
			}
			name := ns + "_requests_total"

			// Absent at start: the export fails, nothing is lost.
			c.Add(5)
			if err := b.Flush(context.Background()); !errors.Is(err, metrics.ErrDelivery) {
				t.Fatalf("Flush with no collector = %v, want ErrDelivery", err)
			}
			if st := b.Stats(); st.FlushErrors != 1 || st.Queued != 1 || st.Dropped() != 0 || reports != 1 {
				t.Errorf("Stats with no collector = %+v, %d reports", st, reports)
			}
			col.start()
			c.Add(1)
			flushUntilDelivered(t, b)
			col.expect(name, 6)

			// Killed and restarted: the restarted collector gets the total.
			col.kill()
			c.Add(1)
			if err := b.Flush(context.Background()); !errors.Is(err, metrics.ErrDelivery) {
				t.Fatalf("Flush with the collector killed = %v, want ErrDelivery", err)
			}
			col.start()
			flushUntilDelivered(t, b)
			col.expect(name, 7)

			// Close delivers the last collection.
			c.Add(2)
			if err := b.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			col.expect(name, 9)
			st := b.Stats()
			if st.Dropped() != 0 || st.Queued != 0 || st.FlushErrors < 2 || st.Sent < 3 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestFaultDeltaCarriedOverRestart(t *testing.T) {
	col := newCollector(t)
	col.start()
	b, err := New(Options{Endpoint: faultGRPC, Insecure: true, Temporality: metricdata.DeltaTemporality,
		FlushInterval: time.Hour, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	ns := fmt.Sprintf("d%08x", rand.Uint32())
	c, _ := metrics.New(b, metrics.WithNamespace(ns)).NewCounter(metrics.Opts{Name: "requests"})
	name := ns + "_requests_total"
	c.Add(3)
	flushUntilDelivered(t, b)
	col.expect(name, 3)
	col.kill()
	c.Add(4)
	if err := b.Flush(context.Background()); err == nil {
		t.Fatal("Flush with the collector killed succeeded")
	}
	col.start()
	flushUntilDelivered(t, b)
	// The restarted collector starts from nothing: it holds exactly the
	// delta that could not be delivered while it was down.
	col.expect(name, 4)
}

func TestFaultCloseCountsLoss(t *testing.T) {
	col := newCollector(t)
	col.start()
	b, err := New(Options{Endpoint: faultGRPC, Insecure: true, FlushInterval: time.Hour, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace(fmt.Sprintf("c%08x", rand.Uint32())))
	c, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"k"}})
	c.With("k", "a").Add(1)
	flushUntilDelivered(t, b)
	col.kill()
	c.With("k", "b").Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Close with the collector killed = %v, want ErrDelivery", err)
	}
	if st := b.Stats(); st.DroppedClosed != 2 || st.Sent != 1 {
		t.Errorf("Stats = %+v, want DroppedClosed 2 (both series' last values), Sent 1", st)
	}
}

// TestMemoryFlatWhileDown records into many series while every export
// fails: what is kept is one carried value per series, not a queue.
func TestMemoryFlatWhileDown(t *testing.T) {
	for _, temp := range []metricdata.Temporality{metricdata.CumulativeTemporality, metricdata.DeltaTemporality} {
		t.Run(temp.String(), func(t *testing.T) {
			b, mem := newMem(t, Options{Temporality: temp})
			reg := metrics.New(b)
			c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"k"}})
			h, _ := reg.NewHistogram(metrics.Opts{Name: "h", Labels: []string{"k"}})
			var cs []metrics.Counter
			var hs []metrics.Histogram
			for i := range 1000 {
				cs = append(cs, c.With("k", fmt.Sprint(i)))
				hs = append(hs, h.With("k", fmt.Sprint(i)))
			}
			record := func() {
				for i := range cs {
					cs[i].Add(1)
					hs[i].Observe(0.1)
				}
			}
			mem.setFail(errors.New("down"))
			record()
			b.Flush(context.Background()) //nolint:errcheck // fails, as it should
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range 30 {
				record()
				if err := b.Flush(context.Background()); err == nil {
					t.Fatal("Flush succeeded with the exporter failing")
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 256<<10 {
				t.Errorf("heap grew by %d bytes over 30 failed exports of 2000 series", grown)
			}
			mem.setFail(nil)
			flush(t, b)
			s := mem.last()
			want := 31.0
			if p, err := s.find("c", map[string]string{"k": "7"}); err != nil || p.value != want {
				t.Errorf("after recovery: %+v, %v; want %v", p, err, want)
			}
			if st := b.Stats(); st.Dropped() != 0 || !strings.Contains(st.LastError.Error(), "down") {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}
