// Package pushtest holds the tests every push backend shares: hostile
// label values, recording racing Flush and Close, Close twice, Flush
// with a context already done, and the servers they run against (a UDP
// sink, a TCP line server, a TCP server that never reads). A backend's
// test supplies a constructor and a parser for one line of its protocol.
package pushtest

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// Backend is what a push backend exports.
type Backend interface {
	metrics.Backend
	Flush(ctx context.Context) error
	Close(ctx context.Context) error
	Stats() push.Stats
}

// HostileValues are label values a caller may pass: long, with line
// breaks, NUL, invalid UTF-8 (the Registry replaces it) and the
// separators of every protocol obskit writes.
func HostileValues() []string {
	return []string{
		strings.Repeat("v", 1<<20), // 1 MB
		"a\nb", "a\r\nb", "a\x00b", "\xff\xfe", "é日本",
		"a b", "a,b", "a=b", "a:b", "a|b", "a#b", "a;b", "~a", "a]b", "a\"b", "a\\", "a\\ b", "a.b", "",
		"ST[a:b]", "|#x:y", "x;y=z", "count=1 2",
	}
}

// Uncut returns the registry option that lets label values up to 2 MB
// through uncut, for tests of how a backend itself handles long values
// (a registry cuts values past metrics.DefaultMaxLabelValueLen by
// default).
func Uncut() metrics.Option { return metrics.WithMaxLabelValueLen(2 << 20) }

// Sink collects what a backend sends.
type Sink interface {
	// Addr is the host:port (or URL) to send to.
	Addr() string
	// Lines returns the lines received so far.
	Lines() []string
}

// UDPSink is a UDP server on loopback that keeps every line it receives.
type UDPSink struct {
	conn    net.PacketConn
	mu      sync.Mutex
	lines   []string
	largest int
	done    chan struct{}
}

// NewUDPSink starts a UDPSink, closed at the end of the test.
func NewUDPSink(t testing.TB) *UDPSink {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.UDPConn).SetReadBuffer(4 << 20)
	s := &UDPSink{conn: c, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 1<<16)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			s.add(string(buf[:n]))
		}
	}()
	t.Cleanup(func() { c.Close(); <-s.done })
	return s
}

func (s *UDPSink) add(payload string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, strings.Split(strings.TrimSuffix(payload, "\n"), "\n")...)
	s.largest = max(s.largest, len(payload))
}

// Addr returns the sink's host:port.
func (s *UDPSink) Addr() string { return s.conn.LocalAddr().String() }

// Lines returns the lines received so far.
func (s *UDPSink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// Largest returns the size in bytes of the largest datagram received so
// far.
func (s *UDPSink) Largest() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.largest
}

// TCPSink is a TCP line server on loopback that keeps every line. It
// can be killed and started again on the same port, as a server that
// restarts.
type TCPSink struct {
	addr  string
	mu    sync.Mutex
	lines []string
	ln    net.Listener
	conns []net.Conn
	wg    sync.WaitGroup
}

// NewTCPSink starts a TCPSink, closed at the end of the test.
func NewTCPSink(t testing.TB) *TCPSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &TCPSink{addr: ln.Addr().String()}
	s.serve(ln)
	t.Cleanup(s.Kill)
	return s
}

func (s *TCPSink) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				sc := bufio.NewScanner(c)
				sc.Buffer(make([]byte, 64<<10), 4<<20)
				for sc.Scan() {
					s.mu.Lock()
					s.lines = append(s.lines, sc.Text())
					s.mu.Unlock()
				}
			}()
		}
	}()
}

// Kill closes the listener and every connection, as a server that dies,
// and waits for its goroutines. The lines received are kept.
func (s *TCPSink) Kill() {
	s.mu.Lock()
	ln, conns := s.ln, s.conns
	s.ln, s.conns = nil, nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	s.wg.Wait()
}

// Restart listens again on the sink's address after Kill.
func (s *TCPSink) Restart(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// Addr returns the sink's host:port.
func (s *TCPSink) Addr() string { return s.addr }

// Lines returns the lines received so far.
func (s *TCPSink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// NeverReads starts a TCP server on loopback that accepts connections
// and never reads from them; it returns its host:port.
func NeverReads(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4 << 10)
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// WaitLines waits up to 5 s until sink has at least n lines.
func WaitLines(t testing.TB, sink Sink, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := sink.Lines()
		if len(l) >= n || time.Now().After(deadline) {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Hostile records one counter increment under each of HostileValues,
// flushes, and checks that no value broke a line: the sink receives
// exactly Stats.Sent lines, each of which parse accepts, and
// Sent + Dropped() is the number of series. It returns the lines.
func Hostile(t *testing.T, b Backend, sink Sink, parse func(line string) (value float64, ok bool)) []string {
	t.Helper()
	reg := metrics.New(b, Uncut())
	c, err := reg.NewCounter(metrics.Opts{Name: "hostile", Help: "Hostile label values.", Labels: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	vals := HostileValues()
	for _, v := range vals {
		c.With("k", v).Add(1)
	}
	// A 1 MB value beside the name: a const label of another registry
	// on the same backend.
	creg := metrics.New(b, Uncut(), metrics.WithConstLabels(map[string]string{"host": strings.Repeat("h", 1<<20) + "\n,;= |#"}))
	cc, err := creg.NewCounter(metrics.Opts{Name: "hostile_const", Help: "A 1 MB const label value."})
	if err != nil {
		t.Fatal(err)
	}
	cc.Add(1)
	vals = append(vals, "const")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = b.Flush(ctx)
	st := b.Stats()
	if err != nil && !errors.Is(err, push.ErrRejected) {
		t.Fatalf("flush: %v (stats %+v)", err, st)
	}
	if err != nil && !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("flush error does not wrap metrics.ErrDelivery: %v", err)
	}
	// Values that sanitise alike are one series; count the series the
	// backend holds through what it sent and dropped.
	if st.Sent == 0 || st.Queued != 0 {
		t.Fatalf("stats %+v: nothing sent, or something still queued", st)
	}
	if err != nil && st.DroppedRejected == 0 {
		t.Fatalf("flush refused something (%v) that Stats does not count: %+v", err, st)
	}
	WaitLines(t, sink, int(st.Sent))
	time.Sleep(50 * time.Millisecond) // anything beyond Sent would show
	lines := sink.Lines()
	if uint64(len(lines)) != st.Sent {
		t.Fatalf("received %d lines, Stats.Sent %d: a value broke a line\n%q", len(lines), st.Sent, shorten(lines))
	}
	var sum float64
	for _, l := range lines {
		v, ok := parse(l)
		if !ok {
			t.Fatalf("line %q does not parse", shorten([]string{l}))
		}
		sum += v
	}
	// Each rejected line is a series of its own (the 1 MB value): 1 each.
	if want := float64(len(vals)) - float64(st.DroppedRejected); sum != want {
		t.Fatalf("sum of delivered values %v for %d increments (stats %+v)", sum, len(vals), st)
	}
	return lines
}

func shorten(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > 200 {
			l = l[:100] + "…" + l[len(l)-100:]
		}
		out[i] = l
	}
	return out
}

// Race records from 50 goroutines while Flush and Close race, then
// checks that nothing panicked, Close twice returns, and every increment
// is accounted for: delivered (summed by parse over the sink's lines) or
// dropped after Close (Stats.DroppedClosed), but for at most one per
// goroutine that was recording at the instant of Close.
func Race(t *testing.T, b Backend, sink Sink, parse func(line string) (float64, bool)) {
	t.Helper()
	reg := metrics.New(b)
	c, err := reg.NewCounter(metrics.Opts{Name: "race", Help: "Racing.", Labels: []string{"g"}})
	if err != nil {
		t.Fatal(err)
	}
	var recorded atomic.Uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	names := []string{"a", "b", "c", "d", "e"}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := c.With("g", names[i%len(names)])
			for n := 0; n < 2000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				h.Add(1)
				recorded.Add(1)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 5 {
		_ = b.Flush(ctx)
	}
	var cw sync.WaitGroup
	for range 2 {
		cw.Add(1)
		go func() { defer cw.Done(); _ = b.Close(ctx) }()
	}
	_ = b.Flush(ctx) // races Close: nil or an error, never a panic
	cw.Wait()
	close(stop)
	wg.Wait()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("a third Close: %v", err)
	}
	if err := b.Flush(ctx); !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Flush after Close: %v, want an error wrapping metrics.ErrDelivery", err)
	}
	st := b.Stats()
	var lines []string
	deadline := time.Now().Add(5 * time.Second)
	var sum float64
	for {
		lines = sink.Lines()
		sum = 0
		for _, l := range lines {
			v, ok := parse(l)
			if !ok {
				t.Fatalf("line %q does not parse", l)
			}
			sum += v
		}
		if uint64(sum)+st.DroppedClosed >= recorded.Load() || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A recording under way when Close takes the series (past its
	// closed check, not yet added) is neither delivered nor counted: at
	// most one per recording goroutine, as internal/push documents.
	got, want := uint64(sum)+st.DroppedClosed, recorded.Load()
	if got > want || want-got > 50 || st.Dropped() != st.DroppedClosed {
		t.Fatalf("delivered %v + dropped after Close %d = %d, recorded %d: more than one per goroutine unaccounted (stats %+v)", sum, st.DroppedClosed, got, want, st)
	}
	if got != want {
		t.Logf("%d recordings raced Close (of 50 goroutines)", want-got)
	}
}

// NeverRead checks that a backend writing to a server that never reads
// stays bounded: Flush and Close return by their deadlines, recording
// does not stall, flushes fail, and every value is counted as sent (into
// a socket buffer) or dropped.
func NeverRead(t *testing.T, b Backend) {
	t.Helper()
	reg := metrics.New(b, Uncut())
	c, err := reg.NewCounter(metrics.Opts{Name: "stuck", Help: "Stuck.", Labels: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("p", 1000)
	hs := make([]metrics.Counter, 1000)
	for i := range hs {
		hs[i] = c.With("k", pad+string(rune('a'+i%26))+strings.Repeat("x", i/26))
	}
	var failed int
	for range 20 {
		start := time.Now()
		for _, h := range hs {
			h.Add(1)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("recording 1000 values took %v", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start = time.Now()
		if b.Flush(ctx) != nil {
			failed++
		}
		cancel()
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Flush with a 100 ms deadline took %v", d)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = b.Close(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close with a 100 ms deadline took %v", d)
	}
	st := b.Stats()
	// Each timed-out write closes its connection and the next flush
	// dials a fresh one whose socket buffers take more: what sits in a
	// buffer when the server closes it is lost to TCP, unseen by anyone.
	if failed == 0 {
		t.Fatalf("20 MB into a server that never reads: no flush failed, stats %+v", st)
	}
	if st.Sent+st.Dropped() != 20*1000 {
		t.Fatalf("sent %d + dropped %d != 20000 recorded (stats %+v)", st.Sent, st.Dropped(), st)
	}
}
