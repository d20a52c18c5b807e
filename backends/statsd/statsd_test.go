package statsd_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/internal/pushtest"
	"github.com/obskit/obskit/metrics"
)

// TestMain checks that no goroutine outlives the tests.
func TestMain(m *testing.M) { pushtest.VerifyTestMain(m) }

func newBackend(t *testing.T, o statsd.Options) *statsd.Backend {
	t.Helper()
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour // tests flush by hand
	}
	b, err := statsd.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

func flushString(t *testing.T, b *statsd.Backend) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestLines(t *testing.T) {
	b := newBackend(t, statsd.Options{MaxTimerValues: 10})
	reg := metrics.New(b, metrics.WithNamespace("addsvc"), metrics.WithConstLabels(map[string]string{"host": "a.b"}))
	req, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method", "code"}})
	inflight, _ := reg.NewGauge(metrics.Opts{Name: "in.flight"})
	level, _ := reg.NewGauge(metrics.Opts{Name: "level", Labels: []string{"pool"}})
	lat, _ := reg.NewHistogram(metrics.Opts{Name: "latency", Unit: metrics.UnitSeconds})
	size, _ := reg.NewHistogram(metrics.Opts{Name: "size", Unit: metrics.UnitBytes})

	req.With("method", "GET", "code", "200").Add(2)
	req.With("method", "GET", "code", "200").Add(0.5)
	req.With("method", "new\nline|x:y", "code", "").Add(1)
	inflight.Set(3)
	inflight.Add(-1)
	level.With("pool", "b").Set(-8)
	lat.Observe(0.0125)
	size.Observe(512)

	want := "addsvc.requests.a_b.GET.200:2.5|c\n" +
		"addsvc.requests.a_b.new_line_x_y._:1|c\n" +
		"addsvc.in.flight.a_b:2|g\n" +
		"addsvc.level.a_b.b:0|g\naddsvc.level.a_b.b:-8|g\n" +
		"addsvc.latency.a_b:12.5|ms\n" +
		"addsvc.size.a_b:512|ms\n"
	if got := flushString(t, b); got != want {
		t.Fatalf("flush:\n%s\nwant:\n%s", got, want)
	}
	// Nothing changed: nothing is sent.
	if got := flushString(t, b); got != "" {
		t.Fatalf("second flush sent %q, want nothing", got)
	}
	if s := b.Stats(); s.Sent != 7 || s.Flushes != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTelegrafTags(t *testing.T) {
	b := newBackend(t, statsd.Options{Labels: statsd.TelegrafTags})
	reg := metrics.New(b, metrics.WithConstLabels(map[string]string{"host": "a.b"}))
	req, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method", "code"}})
	req.With("method", "G,E=T", "code", "200").Add(1)
	if got, want := flushString(t, b), "requests,host=a.b,method=G_E_T,code=200:1|c\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTimerSampling(t *testing.T) {
	b := newBackend(t, statsd.Options{MaxTimerValues: 4})
	reg := metrics.New(b)
	lat, _ := reg.NewHistogram(metrics.Opts{Name: "lat", Unit: metrics.UnitSeconds})
	for i := range 10 {
		lat.Observe(float64(i) / 1000)
	}
	lines := strings.Split(strings.TrimSuffix(flushString(t, b), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4: %q", len(lines), lines)
	}
	for _, l := range lines {
		m, err := parseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if m.typ != "ms" || m.rate != 0.4 || m.value < 0 || m.value > 9 || m.value != math.Trunc(m.value) {
			t.Fatalf("line %q: %+v", l, m)
		}
	}
	if s := b.Stats(); s.DroppedSampled != 6 || s.Dropped() != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOptionsInvalid(t *testing.T) {
	for _, o := range []statsd.Options{
		{FlushInterval: -1}, {MaxTimerValues: -1}, {MaxPacketSize: -1}, {MaxPacketSize: 70000}, {Labels: 9}, {Timeout: -1},
	} {
		if _, err := statsd.New(o); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", o, err)
		}
	}
}

func TestPacketsAndClose(t *testing.T) {
	r := pushtest.NewUDPSink(t)
	b, err := statsd.New(statsd.Options{Addr: r.Addr(), FlushInterval: time.Hour, MaxPacketSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"i"}})
	for i := range 50 {
		c.With("i", strconv.Itoa(i)).Add(float64(i + 1))
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := pushtest.WaitLines(t, r, 50)
	if len(lines) < 50 {
		t.Fatalf("got %d lines, want 50: %q", len(lines), lines)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		m, err := parseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(m.name, "c."))
		if m.value != float64(i+1) || seen[m.name] {
			t.Fatalf("line %q", l)
		}
		seen[m.name] = true
	}
	if n := r.Largest(); n > 100 {
		t.Fatalf("packet of %d bytes > MaxPacketSize 100", n)
	}
	// After Close: a no-op, counted.
	c.With("i", "0").Add(1)
	if s := b.Stats(); s.DroppedClosed != 1 || s.Sent != 50 {
		t.Fatalf("stats %+v", s)
	}
	if err := b.Flush(context.Background()); err == nil {
		t.Fatal("Flush after Close succeeded")
	}
}

// TestServerAbsent records with nothing listening, then starts a server on
// the same port: the recording never blocks, memory stays flat, the
// oldest flushes are dropped and counted, and what is recorded after the
// server comes up arrives.
func TestServerAbsent(t *testing.T) {
	// Take a free port, then close it so nothing listens.
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()
	var handled pushtest.Errors
	b, err := statsd.New(statsd.Options{Addr: addr, FlushInterval: time.Hour, MaxQueuedFlushes: 2,
		ErrorHandler: handled.Handle})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "absent"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "absent.lat", Unit: metrics.UnitSeconds})
	ctx := context.Background()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for round := range 20 {
		for range 50000 {
			c.Add(1)
			h.Observe(0.001)
		}
		// Linux reports ECONNREFUSED for a datagram on the next send to
		// the connected socket, so every flush after the first fails.
		_ = b.Flush(ctx)
		_ = round
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 4<<20 {
		t.Errorf("heap grew by %d bytes over 1 M events with the server down", grow)
	}
	s := b.Stats()
	if s.FlushErrors == 0 || s.DroppedQueueFull == 0 || s.Queued == 0 {
		t.Errorf("stats with the server down: %+v", s)
	}
	errs := handled.All()
	if len(errs) == 0 || !errors.Is(errs[0], metrics.ErrDelivery) {
		t.Errorf("error handler got %v", errs)
	}
	if len(errs) > 1 {
		t.Errorf("error handler called %d times in a burst, want 1 (rate-limited)", len(errs))
	}

	// The server comes up on that port.
	ua, _ := net.ResolveUDPAddr("udp", addr)
	srv, err := net.ListenUDP("udp", ua)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer srv.Close()
	c.Add(7)
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 65536)
	var got []string
	for !strings.Contains(strings.Join(got, ""), "absent:7|c") {
		if time.Now().After(deadline) {
			t.Fatalf("after the server came up got %q", got)
		}
		_ = b.Flush(ctx)
		srv.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			n, err := srv.Read(buf)
			if err != nil {
				break
			}
			got = append(got, string(buf[:n]))
		}
	}
}

// TestRecordingNeverBlocks records from two goroutines while the flushes
// fail: the hot path finishes in bounded time whatever the network does.
func TestRecordingNeverBlocks(t *testing.T) {
	b := newBackend(t, statsd.Options{Addr: "127.0.0.1:9", FlushInterval: time.Millisecond})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c"})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h"})
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200000 {
				c.Add(1)
				h.Observe(1)
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("recording blocked")
	}
}

// TestTCPKillRestart sends over TCP to a receiver that is killed and
// started again on the same port: the backend redials, and with the queue
// large enough nothing recorded is lost.
func TestTCPKillRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var mu sync.Mutex
	var lines []string
	var conns []net.Conn
	var wg sync.WaitGroup
	serve := func(ln net.Listener) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 65536)
					var pending string
					for {
						n, err := c.Read(buf)
						pending += string(buf[:n])
						for {
							i := strings.IndexByte(pending, '\n')
							if i < 0 {
								break
							}
							mu.Lock()
							lines = append(lines, pending[:i])
							mu.Unlock()
							pending = pending[i+1:]
						}
						if err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	kill := func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		conns = nil
		mu.Unlock()
		wg.Wait()
	}
	defer func() { kill() }()
	serve(ln)
	total := func() float64 {
		mu.Lock()
		defer mu.Unlock()
		var sum float64
		for _, l := range lines {
			m, err := parseLine(l)
			if err != nil {
				t.Errorf("bad line: %v", err)
				continue
			}
			sum += m.value
		}
		return sum
	}
	waitTotal := func(b *statsd.Backend, want float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for total() != want {
			if time.Now().After(deadline) {
				t.Fatalf("received a total of %v, want %v; stats %+v", total(), want, b.Stats())
			}
			b.Flush(context.Background())
			time.Sleep(10 * time.Millisecond)
		}
	}
	b := newBackend(t, statsd.Options{Addr: addr, Network: "tcp", MaxQueuedFlushes: 100})
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "kr"})
	c.Add(1)
	waitTotal(b, 1)
	kill()
	for range 5 {
		c.Add(1)
		b.Flush(context.Background())
	}
	if st := b.Stats(); st.Queued == 0 {
		t.Fatalf("with the receiver dead nothing is queued: %+v", st)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	serve(ln)
	c.Add(1)
	waitTotal(b, 7)
}
