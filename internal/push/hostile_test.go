package push

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/metrics"
)

// keyFlusher sends each counter with a change as its Key alone.
func keyFlusher(s *Store) Flusher {
	return FlusherFunc(func(b *Batch) error {
		for _, c := range s.Counters() {
			if c.TakeDelta() != 0 {
				b.Line(append(b.Scratch(), c.Key...))
			}
		}
		return nil
	})
}

// udpSink reads datagrams from a loopback socket until closed.
type udpSink struct {
	conn net.PacketConn
	mu   sync.Mutex
	got  []string
	done chan struct{}
}

func newUDPSink(t *testing.T) *udpSink {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &udpSink{conn: c, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 1<<16)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.got = append(s.got, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-s.done })
	return s
}

func (s *udpSink) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		s.mu.Lock()
		all := strings.Join(s.got, "")
		s.mu.Unlock()
		if strings.Contains(all, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never arrived; got %q", want, all)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A line no datagram can carry (a 1 MB label value) is dropped and
// counted as rejected; it must not hold back every later flush in the
// queue, as a transient error would.
func TestUDPOversizedLineIsDroppedNotRetried(t *testing.T) {
	sink := newUDPSink(t)
	s := newStore(t, HistogramOptions{Sketch: true})
	huge := s.NewCounter(Info{Key: "huge." + strings.Repeat("v", 1<<20)})
	small := s.NewCounter(Info{Key: "small"})
	p, err := New(s, keyFlusher(s), NewUDP(sink.conn.LocalAddr().String()), Options{Name: "test", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()
	huge.Add(1)
	small.Add(1)
	err = p.Flush(ctx)
	if !errors.Is(err, metrics.ErrDelivery) || !errors.Is(err, ErrRejected) {
		t.Fatalf("flush with an oversized line: %v, want ErrDelivery and ErrRejected", err)
	}
	sink.wait(t, "small\n")
	small.Add(1)
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("next flush: %v", err)
	}
	st := p.Stats()
	if st.DroppedRejected != 1 || st.Queued != 0 || st.Sent != 2 {
		t.Fatalf("stats %+v: want 1 rejected, 2 sent, nothing queued", st)
	}
}

// blockingTransport blocks in Send until its ctx is done.
type blockingTransport struct{ entered chan struct{} }

func (b *blockingTransport) Send(ctx context.Context, _ []byte) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func (b *blockingTransport) Close() error { return nil }

// A Flush or Close with a short deadline returns by that deadline even
// while the interval loop is stuck in a long send (a server that accepts
// and never reads, with a long Timeout).
func TestFlushAndCloseHonourTheirContextWhileTheLoopIsStuck(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &blockingTransport{entered: make(chan struct{}, 1)}
	p, err := New(s, keyFlusher(s), tr, Options{Name: "test", FlushInterval: 10 * time.Millisecond, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(1)
	<-tr.entered // the loop is now blocked for a minute

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Flush(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("flush took %v with a 100 ms deadline", d)
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start = time.Now()
	p.Close(ctx2)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %v with a 100 ms deadline", d)
	}
	if st := p.Stats(); st.DroppedClosed != 1 {
		t.Fatalf("stats %+v: the undelivered value must count as DroppedClosed", st)
	}
}

// A Flush whose context is already done takes nothing from the series:
// what was recorded is still there for the next flush.
func TestFlushWithCancelledContextKeepsTheData(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &fakeTransport{}
	p, _ := New(s, keyFlusher(s), tr, Options{Name: "test", FlushInterval: time.Hour})
	defer p.Close(context.Background())
	c.Add(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("flush with a cancelled ctx: %v, want context.Canceled", err)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tr.all(); got != "a\n" {
		t.Fatalf("delivered %q, want %q", got, "a\n")
	}
}

// A second Close, concurrent with the first, returns only once the first
// has delivered, so that a caller who sees it return may exit.
func TestConcurrentCloseWaitsForTheFirst(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	slow := &slowTransport{delay: 200 * time.Millisecond}
	p, _ := New(s, keyFlusher(s), slow, Options{Name: "test", FlushInterval: time.Hour})
	c.Add(1)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Close(context.Background())
			if slow.count() != 1 {
				t.Errorf("a Close returned before the last flush was delivered")
			}
		}()
	}
	wg.Wait()
	if err := p.Flush(context.Background()); !errors.Is(err, ErrClosed) || !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("flush after close: %v, want ErrClosed wrapping metrics.ErrDelivery", err)
	}
}

type slowTransport struct {
	delay time.Duration
	mu    sync.Mutex
	n     int
}

func (s *slowTransport) Send(ctx context.Context, _ []byte) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
	return nil
}

func (s *slowTransport) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.n }

func (s *slowTransport) Close() error { return nil }

// A TCP server that accepts and never reads: a flush fills the socket
// buffers and then times out at its deadline; recording never stalls.
func TestTCPServerThatNeverReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	s := newStore(t, HistogramOptions{Sketch: true})
	cs := make([]*Counter, 2000)
	for i := range cs {
		cs[i] = s.NewCounter(Info{Key: "k" + strings.Repeat("x", 1000)})
	}
	p, _ := New(s, keyFlusher(s), NewTCP(ln.Addr().String(), TCPOptions{}), Options{Name: "test", FlushInterval: time.Hour, MaxPayloadSize: 64 << 10})
	var lost int
	for round := 0; round < 20; round++ {
		for _, c := range cs {
			c.Add(1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err := p.Flush(ctx)
		cancel()
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("flush took %v with a 50 ms deadline", d)
		}
		if err != nil {
			lost++
		}
	}
	if lost == 0 {
		t.Fatal("40 MB into a server that never reads: no flush failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	p.Close(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %v", d)
	}
	st := p.Stats()
	if st.Sent+st.Dropped() != 20*2000 {
		t.Fatalf("sent %d + dropped %d != recorded %d: %+v", st.Sent, st.Dropped(), 20*2000, st)
	}
}

// reportingBlocker blocks in Send until ctx ends, the first time only.
type reportingBlocker struct {
	entered chan struct{}
	mu      sync.Mutex
	calls   int
	got     []string
}

func (r *reportingBlocker) Send(ctx context.Context, p []byte) error {
	r.mu.Lock()
	r.calls++
	first := r.calls == 1
	r.mu.Unlock()
	if first {
		r.entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	r.mu.Lock()
	r.got = append(r.got, string(p))
	r.mu.Unlock()
	return nil
}

func (r *reportingBlocker) Close() error { return nil }

// Close cancelling a flush of the loop is not a delivery failure: the
// payload is delivered by Close, and nothing reaches the ErrorHandler.
func TestCloseCancellingTheLoopReportsNothing(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &reportingBlocker{entered: make(chan struct{}, 1)}
	var mu sync.Mutex
	var errs []error
	p, _ := New(s, keyFlusher(s), tr, Options{Name: "test", FlushInterval: 5 * time.Millisecond, Timeout: time.Minute,
		ErrorHandler: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }})
	c.Add(1)
	<-tr.entered
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 0 || p.Stats().FlushErrors != 0 {
		t.Fatalf("errors reported %v, stats %+v", errs, p.Stats())
	}
	if strings.Join(tr.got, "") != "a\n" {
		t.Fatalf("delivered %q", tr.got)
	}
}

// Close with a ctx that has already ended still runs its final flush's
// accounting: what stays queued is counted in DroppedClosed, never left
// in Queued (before, a lock that lost the race to ctx skipped it).
func TestCloseWithEndedContextCountsTheQueue(t *testing.T) {
	for i := range 20 {
		s := newStore(t, HistogramOptions{Sketch: true})
		c := s.NewCounter(Info{Key: "a"})
		tr := &fakeTransport{down: true}
		p, _ := New(s, keyFlusher(s), tr, Options{Name: "test", FlushInterval: time.Hour})
		c.Add(1)
		p.Flush(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p.Close(ctx)
		if st := p.Stats(); st.Queued != 0 || st.DroppedClosed != 1 {
			t.Fatalf("run %d: stats %+v, want the queued value counted in DroppedClosed", i, st)
		}
	}
}
