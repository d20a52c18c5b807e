package graphite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/internal/pushtest"
	"github.com/obskit/obskit/metrics"
)

// TestMain checks that no goroutine outlives the tests.
func TestMain(m *testing.M) { pushtest.VerifyTestMain(m) }

func newBackend(t *testing.T, o graphite.Options) *graphite.Backend {
	t.Helper()
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour
	}
	b, err := graphite.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

// flushLines runs one flush into a buffer and returns its lines without
// their timestamps, after checking each timestamp is the flush's time.
func flushLines(t *testing.T, b *graphite.Backend) []string {
	t.Helper()
	before := time.Now().Unix()
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Unix()
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		p, err := parseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if p.ts < before || p.ts > after {
			t.Fatalf("line %q: timestamp %d outside [%d, %d]", l, p.ts, before, after)
		}
		out = append(out, l[:strings.LastIndexByte(l, ' ')])
	}
	return out
}

func record(t *testing.T, b *graphite.Backend) {
	t.Helper()
	reg := metrics.New(b, metrics.WithNamespace("addsvc"), metrics.WithConstLabels(map[string]string{"host": "a"}))
	req, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method", "code"}})
	g, _ := reg.NewGauge(metrics.Opts{Name: "in.flight", Labels: []string{"pool"}})
	lat, _ := reg.NewHistogram(metrics.Opts{Name: "latency", Unit: metrics.UnitSeconds, Labels: []string{"route"}})
	req.With("method", "GET", "code", "200").Add(2.5)
	req.With("method", "x;y=z w\n~", "code", "").Add(1)
	g.With("pool", "a").Set(3)
	g.With("pool", "a").Add(-4)
	for i := 1; i <= 100; i++ {
		lat.With("route", "/a").Observe(float64(i) / 1000)
	}
}

func TestTaggedLines(t *testing.T) {
	b := newBackend(t, graphite.Options{})
	record(t, b)
	want := []string{
		"addsvc.requests;host=a;method=GET;code=200 2.5",
		"addsvc.requests;host=a;method=x_y=z_w_~ 1",
		"addsvc.in.flight;host=a;pool=a -1",
		"addsvc.latency.count;host=a;route=/a 100",
		"addsvc.latency.sum;host=a;route=/a 5.050000000000001",
		"addsvc.latency.min;host=a;route=/a 0.001",
		"addsvc.latency.max;host=a;route=/a 0.1",
	}
	got := flushLines(t, b)
	if len(got) != len(want)+4 {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want)+4, strings.Join(got, "\n"))
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("line %d = %q, want %q", i, got[i], w)
		}
	}
	for i, q := range []string{"p50", "p90", "p95", "p99"} {
		l := got[len(want)+i]
		exact := map[string]float64{"p50": 0.05, "p90": 0.09, "p95": 0.095, "p99": 0.099}[q]
		p, _ := parseLine(l + " 0")
		if p.path != "addsvc.latency."+q || p.tags["route"] != "/a" || abs(p.value-exact)/exact > 0.01 {
			t.Errorf("quantile line %q: want %s ≈ %v", l, q, exact)
		}
	}
	// Second flush: counters unchanged send nothing, the gauge is sent
	// again, the histogram was reset.
	got = flushLines(t, b)
	if len(got) != 1 || got[0] != "addsvc.in.flight;host=a;pool=a -1" {
		t.Fatalf("second flush: %q", got)
	}
}

func TestDottedLines(t *testing.T) {
	b := newBackend(t, graphite.Options{DottedPaths: true, CounterTotals: true})
	record(t, b)
	got := flushLines(t, b)
	want := []string{
		"addsvc.requests.host.a.method.GET.code.200 2.5",
		"addsvc.requests.host.a.method.x_y_z_w__.code._ 1",
		"addsvc.in.flight.host.a.pool.a -1",
		"addsvc.latency.host.a.route._a.count 100",
	}
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			t.Fatalf("lines:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// Running totals are sent again, unchanged.
	got = flushLines(t, b)
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("second flush with totals: %q", got)
	}
}

func TestStopIdleAfter(t *testing.T) {
	b := newBackend(t, graphite.Options{FlushInterval: time.Hour, StopIdleAfter: 2 * time.Hour})
	reg := metrics.New(b)
	g, _ := reg.NewGauge(metrics.Opts{Name: "g"})
	g.Set(1)
	for i, want := range []int{1, 1, 0, 0, 0} {
		if got := len(flushLines(t, b)); got != want {
			t.Fatalf("flush %d: %d lines, want %d", i, got, want)
		}
	}
	g.Set(2)
	if got := flushLines(t, b); len(got) != 1 || got[0] != "g 2" {
		t.Fatalf("after recording again: %q", got)
	}
}

func TestOptionsInvalid(t *testing.T) {
	for _, o := range []graphite.Options{
		{FlushInterval: -1}, {Timeout: -1}, {StopIdleAfter: -1}, {RelativeAccuracy: 1}, {RelativeAccuracy: -0.1},
	} {
		if _, err := graphite.New(o); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", o, err)
		}
	}
}

// sum returns the sum of the values of path's lines that s received.
func sum(t *testing.T, s *pushtest.TCPSink, path string) float64 {
	var sum float64
	for _, l := range s.Lines() {
		p, err := parseLine(l)
		if err != nil {
			t.Fatalf("stub received a bad line: %v", err)
		}
		if p.series == path {
			sum += p.value
		}
	}
	return sum
}

func waitSum(t *testing.T, s *pushtest.TCPSink, b *graphite.Backend, path string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sum(t, s, path) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s sums to %v, want %v; stats %+v", path, sum(t, s, path), want, b.Stats())
		}
		b.Flush(context.Background())
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKillRestart kills the receiver mid-run and starts it again: the
// backend reconnects, and with the queue large enough nothing is lost.
func TestKillRestart(t *testing.T) {
	s := pushtest.NewTCPSink(t)
	b := newBackend(t, graphite.Options{Addr: s.Addr(), MaxQueuedFlushes: 100})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "kr"})
	c.Add(1)
	waitSum(t, s, b, "kr", 1)
	s.Kill()
	for range 5 {
		c.Add(1)
		b.Flush(context.Background()) // fails: queued
	}
	if st := b.Stats(); st.Queued == 0 || st.FlushErrors == 0 {
		t.Fatalf("with the receiver dead: %+v", st)
	}
	s.Restart(t)
	c.Add(1)
	waitSum(t, s, b, "kr", 7)
	if st := b.Stats(); st.Dropped() != 0 || st.Queued != 0 {
		t.Fatalf("after restart: %+v", st)
	}
}

// TestServerAbsent records 1 M events with nothing listening: recording
// goes on, the heap stays flat, the queue stays bounded with drops
// counted, and data recorded after the receiver comes up arrives.
func TestServerAbsent(t *testing.T) {
	s := pushtest.NewTCPSink(t)
	s.Kill()
	var handled pushtest.Errors
	b := newBackend(t, graphite.Options{Addr: s.Addr(), MaxQueuedFlushes: 3,
		ErrorHandler: handled.Handle})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "absent", Labels: []string{"i"}})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "absent.lat", Unit: metrics.UnitSeconds})
	var cs []metrics.Counter
	for i := range 100 {
		cs = append(cs, c.With("i", strconv.Itoa(i)))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for round := range 20 {
		for i := range 25000 {
			cs[i%100].Add(1)
			h.Observe(float64(i%1000) / 1000)
		}
		b.Flush(context.Background())
		_ = round
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 4<<20 {
		t.Errorf("heap grew by %d bytes over 1 M events with carbon down", grow)
	}
	st := b.Stats()
	if st.DroppedQueueFull == 0 || st.Queued == 0 || st.Queued > 3 || st.Sent != 0 {
		t.Errorf("stats with carbon down: %+v", st)
	}
	if errs := handled.All(); len(errs) != 1 || !errors.Is(errs[0], metrics.ErrDelivery) {
		t.Errorf("error handler got %d errors (%v), want 1 wrapping ErrDelivery", len(errs), errs)
	}
	s.Restart(t)
	cs[0].Add(1000)
	// The queued flushes arrive first, then the new delta.
	deadline := time.Now().Add(10 * time.Second)
	for sum(t, s, "absent;i=0") < 1000 {
		if time.Now().After(deadline) {
			t.Fatalf("data recorded after carbon came up did not arrive: %+v", b.Stats())
		}
		b.Flush(context.Background())
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseDeliversPending: everything recorded before Close arrives.
func TestCloseDeliversPending(t *testing.T) {
	s := pushtest.NewTCPSink(t)
	b, err := graphite.New(graphite.Options{Addr: s.Addr(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "pending", Labels: []string{"i"}})
	for i := range 5000 {
		c.With("i", strconv.Itoa(i)).Add(1)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.With("i", "0").Add(1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := len(s.Lines())
		if n == 5000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d lines of 5000; stats %+v", n, b.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := b.Stats(); st.Sent != 5000 || st.DroppedClosed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestFullSendBufferNeverBlocks: a receiver that accepts but never reads
// fills the socket buffers; recording still finishes at once, and the
// flushes time out instead of hanging.
func TestFullSendBufferNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var hmu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hmu.Lock()
			held = append(held, c) // never read
			hmu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		hmu.Lock()
		for _, c := range held {
			c.Close()
		}
		hmu.Unlock()
		wg.Wait()
	}()
	b, err := graphite.New(graphite.Options{Addr: ln.Addr().String(), FlushInterval: 20 * time.Millisecond, Timeout: 50 * time.Millisecond, MaxQueuedFlushes: 2})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "full", Labels: []string{"i"}})
	var cs []metrics.Counter
	for i := range 20000 {
		cs = append(cs, c.With("i", fmt.Sprintf("series-with-a-long-label-value-%08d", i)))
	}
	start := time.Now()
	for range 10 {
		for _, x := range cs {
			x.Add(1)
		}
	}
	rec := time.Since(start)
	// Flush and Close without a deadline are bounded by Options.Timeout.
	fstart := time.Now()
	err = b.Flush(context.Background())
	if err == nil {
		t.Log("flush succeeded: the socket buffers took everything")
	}
	b.Close(context.Background())
	if el := time.Since(fstart); el > 5*time.Second {
		t.Fatalf("Flush and Close against a receiver that never reads took %v", el)
	}
	if rec > 10*time.Second {
		t.Fatalf("recording 200 000 events took %v", rec)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
