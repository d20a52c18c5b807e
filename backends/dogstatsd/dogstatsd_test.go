package dogstatsd_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"
	"go.uber.org/goleak"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/backends/dogstatsd"
	"github.com/obskit/obskit/internal/pushtest"
	"github.com/obskit/obskit/metrics"
)

// TestMain checks that no goroutine outlives the tests (datadog-go's
// included), except the idle keep-alive connections of net/http's shared
// transport that the integration tests' readers leave.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
}

// quiet are the datadog-go options of most tests: no telemetry lines, no
// container ID, so that what arrives is only what the test recorded.
var quiet = []statsd.Option{statsd.WithoutTelemetry(), statsd.WithoutOriginDetection()}

func newBackend(t *testing.T, o dogstatsd.Options) *dogstatsd.Backend {
	t.Helper()
	if o.FlushInterval == 0 {
		o.FlushInterval = time.Hour // tests flush by hand
	}
	if o.ClientOptions == nil {
		o.ClientOptions = quiet
	}
	b, err := dogstatsd.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

func flushString(t *testing.T, b *dogstatsd.Backend) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// sortedLines returns s's lines sorted: datadog-go spreads series over
// workers by name, so the order of lines in a flush is its own.
func sortedLines(s string) []string {
	ls := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		return nil
	}
	sortStrings(ls)
	return ls
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestLines(t *testing.T) {
	b := newBackend(t, dogstatsd.Options{MaxTimerValues: 10})
	reg := metrics.New(b, metrics.WithNamespace("addsvc"), metrics.WithConstLabels(map[string]string{"host": "a.b"}))
	req, _ := reg.NewCounter(metrics.Opts{Name: "requests", Labels: []string{"method", "code"}})
	inflight, _ := reg.NewGauge(metrics.Opts{Name: "in.flight"})
	level, _ := reg.NewGauge(metrics.Opts{Name: "level", Labels: []string{"pool"}})
	lat, _ := reg.NewHistogram(metrics.Opts{Name: "latency", Unit: metrics.UnitSeconds, Labels: []string{"route"}})
	size, _ := reg.NewHistogram(metrics.Opts{Name: "size", Unit: metrics.UnitBytes})

	req.With("method", "GET", "code", "200").Add(2)
	req.With("method", "GET", "code", "200").Add(1)
	req.With("method", "new\nline|x:y,z#w", "code", "").Add(1)
	inflight.Set(3)
	inflight.Add(-1)
	level.With("pool", "b").Set(-8.5)
	lat.With("route", "/a").Observe(0.0125)
	lat.With("route", "/a").Observe(1.5)
	size.Observe(512)

	want := []string{
		"addsvc.in.flight:2|g|#host:a.b",
		"addsvc.latency:0.0125:1.5|d|#host:a.b,route:/a",
		"addsvc.level:-8.5|g|#host:a.b,pool:b",
		"addsvc.requests:1|c|#host:a.b,method:new_line_x:y_z_w", // an empty value sends no tag
		"addsvc.requests:3|c|#host:a.b,method:GET,code:200",
		"addsvc.size:512|d|#host:a.b",
	}
	got := flushString(t, b)
	if g := sortedLines(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("flush:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if _, err := parseDatagram(got); err != nil {
		t.Fatal(err)
	}
	// Nothing changed: nothing is sent.
	if got := flushString(t, b); got != "" {
		t.Fatalf("second flush sent %q, want nothing", got)
	}
}

func TestHistogramAs(t *testing.T) {
	for _, tc := range []struct {
		as   dogstatsd.HistogramType
		want []string
	}{
		{dogstatsd.Distribution, []string{"lat:0.25:0.5|d", "size:512|d"}},
		{dogstatsd.Histogram, []string{"lat:0.25|h", "lat:0.5|h", "size:512|h"}},
		{dogstatsd.Timing, []string{"lat:250.000000|ms", "lat:500.000000|ms", "size:512.000000|ms"}},
	} {
		b := newBackend(t, dogstatsd.Options{HistogramAs: tc.as})
		reg := metrics.New(b)
		lat, _ := reg.NewHistogram(metrics.Opts{Name: "lat", Unit: metrics.UnitSeconds})
		size, _ := reg.NewHistogram(metrics.Opts{Name: "size", Unit: metrics.UnitBytes})
		lat.Observe(0.25)
		lat.Observe(0.5)
		size.Observe(512)
		out := flushString(t, b)
		if _, err := parseDatagram(out); err != nil {
			t.Fatal(err)
		}
		if got := sortedLines(out); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("HistogramAs %d: got %q, want %q", tc.as, got, tc.want)
		}
	}
}

// TestFractionalCounter: datadog-go counts are integers, so a fraction
// waits for a later flush and the total sent is the total recorded,
// rounded down.
func TestFractionalCounter(t *testing.T) {
	b := newBackend(t, dogstatsd.Options{})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c"})
	var sent float64
	for i := range 7 {
		c.Add(0.75)
		out := flushString(t, b)
		if out == "" {
			continue
		}
		ls, err := parseDatagram(out)
		if err != nil || len(ls) != 1 || ls[0].typ != "c" {
			t.Fatalf("flush %d: %q %v", i, out, err)
		}
		sent += ls[0].values[0]
		if want := math.Floor(0.75 * float64(i+1)); sent != want {
			t.Fatalf("after flush %d sent %v, want %v", i, sent, want)
		}
	}
	if sent != 5 {
		t.Fatalf("sent %v, want 5 of 5.25", sent)
	}
}

// TestSampling: past MaxTimerValues, a uniform sample of that many values
// goes out with its rate, and counts weighted by 1/rate add up to what
// was observed, for each HistogramAs.
func TestSampling(t *testing.T) {
	for _, as := range []dogstatsd.HistogramType{dogstatsd.Distribution, dogstatsd.Histogram, dogstatsd.Timing} {
		b := newBackend(t, dogstatsd.Options{MaxTimerValues: 40, HistogramAs: as})
		reg := metrics.New(b)
		lat, _ := reg.NewHistogram(metrics.Opts{Name: "lat"})
		const n = 1000
		for i := range n {
			lat.Observe(float64(i))
		}
		ls, err := parseDatagram(flushString(t, b))
		if err != nil {
			t.Fatal(err)
		}
		var values int
		var count float64
		for _, l := range ls {
			if l.rate != 0.04 {
				t.Fatalf("HistogramAs %d: line %+v, want rate 0.04", as, l)
			}
			for _, v := range l.values {
				if v < 0 || v >= n || v != math.Trunc(v) {
					t.Fatalf("value %v not recorded", v)
				}
				values++
				count += 1 / l.rate
			}
		}
		switch as {
		case dogstatsd.Distribution:
			// The sample itself, exactly.
			if values != 40 || math.Abs(count-n) > 1e-6 {
				t.Errorf("distribution: %d values, count %v; want 40, %d", values, count, n)
			}
		default:
			// datadog-go keeps each of the n calls with probability
			// 0.04: 40 on average, within 6 standard deviations.
			if sd := math.Sqrt(n * 0.04 * 0.96); math.Abs(float64(values)-40) > 6*sd {
				t.Errorf("HistogramAs %d: %d values sent, want about 40", as, values)
			}
		}
		if s := b.Stats(); s.DroppedSampled != n-40 {
			t.Errorf("stats %+v", s)
		}
	}
}

func TestOptionsInvalid(t *testing.T) {
	for _, o := range []dogstatsd.Options{
		{FlushInterval: -1}, {MaxTimerValues: -1}, {MaxPacketSize: -1}, {MaxPacketSize: 70000},
		{HistogramAs: 9}, {Timeout: -1}, {Addr: "localhost"}, {Addr: "localhost:"}, {Addr: "a:b:c"},
	} {
		if _, err := dogstatsd.New(o); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", o, err)
		}
	}
}

func TestTagValues(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"GET":              "GET",
		"a b:c/d.e-f":      "a b:c/d.e-f",
		"a,b|c#d":          "a_b_c_d",
		"new\nline\r\t":    "new_line__",
		"ünï 日本":           "ünï 日本",
		"\x00\x7f\u0085x":  "___x",
		"bad\xffutf8\xc3":  "bad_utf8_",
		`quote"back\slash`: `quote"back\slash`,
	} {
		if got := dogstatsd.SanitizeTagValue(in); got != want {
			t.Errorf("SanitizeTagValue(%q) = %q, want %q", in, got, want)
		}
		if got := dogstatsd.Tag("k", in); got != "k:"+want {
			t.Errorf("Tag(k, %q) = %q", in, got)
		}
	}
}

// TestConformance runs the suite through datadog-go over UDP into the
// test's strict receiver. MaxTimerValues covers the suite's 10 000
// values, so the histograms arrive whole and the receiver's quantiles are
// exact; 60 000-byte datagrams keep the flush to a few of them.
func TestConformance(t *testing.T) {
	r := listen(t)
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) metrics.Backend {
			return newBackend(t, dogstatsd.Options{Addr: r.addr(), MaxTimerValues: 20000, MaxPacketSize: 60000})
		},
		Collect: func(t *testing.T, mb metrics.Backend, _ []*metrics.Desc) backendtest.Reader {
			b := mb.(*dogstatsd.Backend)
			if err := b.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := b.Stats()
			if s.Dropped() != 0 || s.LastError != nil {
				t.Fatalf("stats %+v", s)
			}
			// Sent counts lines of counters and gauges and distribution
			// values: wait for as many values.
			return &datagramReader{lines: r.waitValues(t, s.Sent)}
		},
		CheckQuantile:      backendtest.RelativeError(0),
		SanitizeLabelValue: dogstatsd.SanitizeTagValue,
		CounterValue:       math.Floor,
	})
}

// TestPacketsAndClose: Close delivers what was recorded before it, in
// datagrams of at most MaxPacketSize bytes, and recording after Close is a
// counted no-op.
func TestPacketsAndClose(t *testing.T) {
	r := listen(t)
	b, err := dogstatsd.New(dogstatsd.Options{Addr: r.addr(), FlushInterval: time.Hour, MaxPacketSize: 200, ClientOptions: quiet})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"i"}})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h"})
	for i := range 50 {
		c.With("i", strconv.Itoa(i)).Add(float64(i + 1))
	}
	for i := range 100 {
		h.Observe(float64(i))
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := r.waitValues(t, 150)
	seen := map[string]bool{}
	var hv []float64
	for _, l := range lines {
		switch l.name {
		case "c":
			i, _ := strconv.Atoi(l.tags[0][1])
			if l.values[0] != float64(i+1) || seen[l.tags[0][1]] {
				t.Fatalf("line %+v", l)
			}
			seen[l.tags[0][1]] = true
		case "h":
			hv = append(hv, l.values...)
		}
	}
	if len(seen) != 50 || len(hv) != 100 {
		t.Fatalf("%d counters, %d histogram values", len(seen), len(hv))
	}
	for _, p := range r.packets() {
		if len(p) > 200 {
			t.Fatalf("datagram of %d bytes > MaxPacketSize 200", len(p))
		}
	}
	c.With("i", "0").Add(1)
	if s := b.Stats(); s.DroppedClosed != 1 || s.Sent != 150 || s.BytesSent != 0 {
		// BytesSent comes from datadog-go's telemetry, off here.
		t.Fatalf("stats %+v", s)
	}
	if err := b.Flush(context.Background()); err == nil {
		t.Fatal("Flush after Close succeeded")
	}
}

// TestServerAbsent records with nothing listening: recording never
// blocks, memory stays flat, the payloads datadog-go fails to write are
// counted and reported (rate-limited), and once a server listens on the
// port what is recorded arrives.
func TestServerAbsent(t *testing.T) {
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()
	var handled pushtest.Errors
	b, err := dogstatsd.New(dogstatsd.Options{Addr: addr, FlushInterval: time.Hour,
		ClientOptions: []statsd.Option{statsd.WithoutOriginDetection()}, // telemetry on: BytesSent
		ErrorHandler:  handled.Handle})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "absent", Labels: []string{"i"}})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "absent.lat", Unit: metrics.UnitSeconds})
	ctx := context.Background()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 20 {
		for i := range 50000 {
			c.With("i", strconv.Itoa(i%100)).Add(1)
			h.Observe(0.001)
		}
		// Linux reports ECONNREFUSED for a datagram on the next write to
		// the connected socket: datadog-go drops that payload.
		_ = b.Flush(ctx)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 4<<20 {
		t.Errorf("heap grew by %d bytes over 1 M events with the server down", grow)
	}
	s := b.Stats()
	if s.FlushErrors == 0 || s.DroppedWrite == 0 || s.LastError == nil || !errors.Is(s.LastError, metrics.ErrDelivery) {
		t.Errorf("stats with the server down: %+v", s)
	}
	if errs := handled.All(); len(errs) != 1 || !errors.Is(errs[0], metrics.ErrDelivery) {
		t.Errorf("error handler got %v, want one error (rate-limited)", errs)
	}

	ua, _ := net.ResolveUDPAddr("udp", addr)
	srv, err := net.ListenUDP("udp", ua)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	defer srv.Close()
	c.With("i", "x").Add(7)
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 65536)
	var got []string
	for !strings.Contains(strings.Join(got, ""), "absent:7|c|#i:x") {
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
		c.With("i", "x").Add(7) // a datagram may be refused on its first write
		// and the counter is then 7 again for the next flush
	}
}

// TestRecordingNeverBlocks records from two goroutines while flushes run
// every millisecond into a port nothing reads and datadog-go's sender
// queue is one payload deep: the hot path finishes whatever the network
// does, and what datadog-go drops is counted.
func TestRecordingNeverBlocks(t *testing.T) {
	b := newBackend(t, dogstatsd.Options{Addr: "127.0.0.1:9", FlushInterval: time.Millisecond,
		ClientOptions: []statsd.Option{statsd.WithoutTelemetry(), statsd.WithSenderQueueSize(1)}})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"i"}})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h"})
	var wg sync.WaitGroup
	done := make(chan struct{})
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200000 {
				c.With("i", strconv.Itoa(g*1000+i%1000)).Add(1)
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
	b.Flush(context.Background())
	if s := b.Stats(); s.Dropped() == 0 || s.FlushErrors == 0 {
		t.Errorf("nothing listens, yet no drop was counted: %+v", s)
	}
}

// TestUnixSocket sends through datadog-go's Unix datagram socket
// transport to a server that is then stopped and started again on the
// same path: what is recorded while it is down is dropped and counted,
// and datadog-go dials again once it is back.
func TestUnixSocket(t *testing.T) {
	path := t.TempDir() + "/dsd.socket"
	listen := func() *net.UnixConn {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	read := func(c *net.UnixConn) []datagramLine {
		t.Helper()
		buf := make([]byte, 1<<16)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := parseDatagram(string(buf[:n]))
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	srv := listen()
	b := newBackend(t, dogstatsd.Options{Addr: "unix://" + path})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "uds", Labels: []string{"phase"}})
	ctx := context.Background()

	c.With("phase", "up").Add(2)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ls := read(srv); len(ls) != 1 || ls[0].values[0] != 2 || ls[0].tags[0] != [2]string{"phase", "up"} {
		t.Fatalf("got %+v", ls)
	}

	// The server stops: the write fails, the flush is dropped and counted.
	srv.Close()
	os.Remove(path)
	c.With("phase", "down").Add(3)
	if err := b.Flush(ctx); !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Flush with the server down = %v, want ErrDelivery", err)
	}
	if s := b.Stats(); s.DroppedWrite != 1 || s.Sent != 1 {
		t.Fatalf("stats %+v", s)
	}

	// It comes back on the same path: datadog-go dials again.
	srv = listen()
	defer srv.Close()
	c.With("phase", "again").Add(4)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ls := read(srv); len(ls) != 1 || ls[0].values[0] != 4 || ls[0].tags[0] != [2]string{"phase", "again"} {
		t.Fatalf("got %+v", ls)
	}
}

// TestTooLong: a series whose name and tags cannot fit in a payload is
// refused by datadog-go; the flush reports it and Stats counts the values
// as rejected, while the other series go out.
func TestTooLong(t *testing.T) {
	r := listen(t)
	b := newBackend(t, dogstatsd.Options{Addr: r.addr(), MaxPacketSize: 200})
	reg := metrics.New(b)
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"v"}})
	h, _ := reg.NewHistogram(metrics.Opts{Name: "h", Labels: []string{"v"}})
	long := strings.Repeat("x", 300)
	c.With("v", long).Add(1)
	c.With("v", "short").Add(1)
	for range 3 {
		h.With("v", long).Observe(1)
	}
	err := b.Flush(context.Background())
	if !errors.Is(err, metrics.ErrDelivery) || !errors.As(err, new(statsd.MessageTooLongError)) {
		t.Fatalf("Flush = %v, want ErrDelivery wrapping datadog-go's MessageTooLongError", err)
	}
	if s := b.Stats(); s.DroppedRejected != 4 || s.Sent != 1 {
		t.Fatalf("stats %+v", s)
	}
	if ls := r.waitValues(t, 1); ls[0].tags[0][1] != "short" {
		t.Fatalf("got %+v", ls)
	}
}
