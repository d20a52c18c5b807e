package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/obskit/obskit/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T, h HistogramOptions) *Store {
	t.Helper()
	s, err := NewStore(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCounterDelta(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "c"})
	c.Add(1.5)
	c.Add(0.25)
	if d := c.TakeDelta(); d != 1.75 {
		t.Fatalf("delta = %v, want 1.75", d)
	}
	if d := c.TakeDelta(); d != 0 {
		t.Fatalf("delta after take = %v, want 0", d)
	}
}

func TestGaugeSetThenAdd(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	g := s.NewGauge(Info{Key: "g"})
	if _, changed := g.Take(); changed || g.Seen {
		t.Fatalf("Take before recording: changed %v, seen %v; want false, false", changed, g.Seen)
	}
	g.Set(5)
	g.Add(-7.5)
	v, changed := g.Take()
	if v != -2.5 || !changed || !g.Seen {
		t.Fatalf("Take = %v, %v; want -2.5, true", v, changed)
	}
	v, changed = g.Take()
	if v != -2.5 || changed || g.Idle != 1 || !g.Seen {
		t.Fatalf("second Take = %v, %v, idle %d, seen %v; want -2.5, false, 1, true", v, changed, g.Idle, g.Seen)
	}
}

func TestHistogramTakeConcurrent(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true, MaxValues: 100})
	h := s.NewHistogram(Info{Key: "h"})
	const writers, per = 4, 20000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var total uint64
	var sum float64
	var buf []float64
	var takeMu sync.Mutex
	take := func() {
		takeMu.Lock()
		defer takeMu.Unlock()
		buf = h.Take(buf, func(s *Snapshot) {
			total += s.Count
			sum += s.Sketch.Sum()
			if s.Sketch.Count() != s.Count {
				t.Errorf("sketch count %d != %d", s.Sketch.Count(), s.Count)
			}
			if want := min(s.Count, 100); uint64(len(s.Values)) != want {
				t.Errorf("values %d, want %d", len(s.Values), want)
			}
			if s.Rate != float64(len(s.Values))/float64(s.Count) {
				t.Errorf("rate %v", s.Rate)
			}
		})
	}
	var tw sync.WaitGroup
	tw.Add(1)
	go func() {
		defer tw.Done()
		for {
			select {
			case <-stop:
				return
			default:
				take()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := h.ValueObserver()
			for range per {
				o.Observe(0.5)
			}
		}()
	}
	wg.Wait()
	close(stop)
	tw.Wait()
	take()
	if total != writers*per || sum != writers*per*0.5 {
		t.Fatalf("total %d sum %v, want %d %v", total, sum, writers*per, writers*per*0.5)
	}
}

func TestHistogramReservoirUniform(t *testing.T) {
	s := newStore(t, HistogramOptions{MaxValues: 100})
	h := s.NewHistogram(Info{})
	// Values 0..9999: a uniform sample of 100 has a mean near 5000.
	var mean float64
	const rounds = 50
	for range rounds {
		for i := range 10000 {
			h.Observe(context.Background(), float64(i))
		}
		h.Take(nil, func(s *Snapshot) {
			if s.Count != 10000 || len(s.Values) != 100 || s.Rate != 0.01 {
				t.Fatalf("count %d values %d rate %v", s.Count, len(s.Values), s.Rate)
			}
			for _, v := range s.Values {
				mean += v
			}
		})
	}
	mean /= rounds * 100
	if mean < 4700 || mean > 5300 {
		t.Fatalf("sample mean %v, want about 5000 (biased reservoir)", mean)
	}
}

func TestClosedStoreDrops(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c, g, h := s.NewCounter(Info{}), s.NewGauge(Info{}), s.NewHistogram(Info{})
	s.Close()
	c.Add(1)
	g.Set(1)
	g.Add(1)
	h.Observe(context.Background(), 1)
	if c.TakeDelta() != 0 || s.DroppedClosed() != 4 {
		t.Fatalf("after close: delta %v dropped %d", c.TakeDelta(), s.DroppedClosed())
	}
}

func TestBatchPacking(t *testing.T) {
	b := &Batch{max: 10}
	for _, l := range []string{"aaaa", "bbbb", "cc", "0123456789abc", "d"} {
		b.Line(append(b.Scratch(), l...))
	}
	var got []string
	for _, p := range b.payloads {
		got = append(got, string(p.b))
	}
	want := []string{"aaaa\nbbbb\n", "cc\n", "0123456789abc\n", "d\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("payloads %q, want %q", got, want)
	}
}

// fakeTransport records payloads and fails while down is set.
type fakeTransport struct {
	mu     sync.Mutex
	down   bool
	got    []string
	closed bool
}

func (f *fakeTransport) Send(_ context.Context, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("connection refused")
	}
	f.got = append(f.got, string(p))
	return nil
}

func (f *fakeTransport) Close() error { f.mu.Lock(); f.closed = true; f.mu.Unlock(); return nil }

func (f *fakeTransport) setDown(d bool) { f.mu.Lock(); f.down = d; f.mu.Unlock() }

func (f *fakeTransport) all() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.got, "")
}

// lineFlusher sends each counter as "key delta".
func lineFlusher(s *Store) Flusher {
	return FlusherFunc(func(b *Batch) error {
		for _, c := range s.Counters() {
			if d := c.TakeDelta(); d != 0 {
				line := append(b.Scratch(), c.Key...)
				line = append(line, ' ')
				line = append(line, []byte(strings.TrimSpace(strings.Repeat("x", int(d))))...)
				b.Line(line)
			}
		}
		return nil
	})
}

func TestPusherQueueAndClose(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &fakeTransport{down: true}
	var errs []error
	p, err := New(s, lineFlusher(s), tr, Options{Name: "test", FlushInterval: time.Hour, MaxQueuedFlushes: 2,
		ErrorHandler: func(err error) { errs = append(errs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		c.Add(float64(i))
		if err := p.Flush(ctx); !errors.Is(err, metrics.ErrDelivery) {
			t.Fatalf("flush %d while down: err %v, want ErrDelivery", i, err)
		}
	}
	st := p.Stats()
	if st.DroppedQueueFull != 1 || st.Queued != 2 || st.FlushErrors != 3 || st.Sent != 0 {
		t.Fatalf("stats while down: %+v", st)
	}
	if len(errs) != 1 {
		t.Fatalf("error handler called %d times, want 1 (rate-limited)", len(errs))
	}
	tr.setDown(false)
	c.Add(4)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The oldest flush ("a x") was dropped; the rest arrive in order.
	if got, want := tr.all(), "a xx\na xxx\na xxxx\n"; got != want {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	c.Add(1)
	st = p.Stats()
	if st.Sent != 3 || st.Queued != 0 || st.DroppedClosed != 1 || !tr.closed {
		t.Fatalf("stats after close: %+v closed %v", st, tr.closed)
	}
	if err := p.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("flush after close: %v", err)
	}
}

func TestPusherCloseCountsUndelivered(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &fakeTransport{down: true}
	p, _ := New(s, lineFlusher(s), tr, Options{FlushInterval: time.Hour})
	c.Add(1)
	if err := p.Close(context.Background()); !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("close: %v", err)
	}
	if st := p.Stats(); st.DroppedClosed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPusherLoopAndWriteTo(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &fakeTransport{}
	p, _ := New(s, lineFlusher(s), tr, Options{FlushInterval: 10 * time.Millisecond})
	defer p.Close(context.Background())
	c.Add(2)
	deadline := time.Now().Add(5 * time.Second)
	for tr.all() != "a xx\n" {
		if time.Now().After(deadline) {
			t.Fatalf("loop did not flush: %q", tr.all())
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Add(1)
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf); err != nil || buf.String() != "a x\n" {
		t.Fatalf("WriteTo = %q, %v", buf.String(), err)
	}
}

func TestTCPReconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := newLineServer(ln)
	tr := NewTCP(addr, TCPOptions{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	defer tr.Close()
	ctx := context.Background()
	if err := tr.Send(ctx, []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if got := <-srv.data; got != "one\n" {
		t.Fatalf("got %q", got)
	}
	srv.kill() // the listener and every accepted connection
	// The closed connection is noticed before writing, and the redial
	// fails: nothing is written into a dead stream.
	deadline := time.Now().Add(5 * time.Second)
	for tr.Send(ctx, []byte("lost\n")) == nil {
		if time.Now().After(deadline) {
			t.Fatal("sends keep succeeding with the server gone")
		}
		time.Sleep(time.Millisecond)
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	srv2 := newLineServer(ln2)
	defer srv2.kill()
	for {
		err := tr.Send(ctx, []byte("two\n"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("did not reconnect: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if got := <-srv2.data; got != "two\n" {
		t.Fatalf("after reconnect got %q", got)
	}
}

type lineServer struct {
	ln    net.Listener
	data  chan string
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newLineServer(ln net.Listener) *lineServer {
	s := &lineServer{ln: ln, data: make(chan string, 100)}
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
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						s.data <- string(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *lineServer) kill() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func TestOptionsInvalid(t *testing.T) {
	if _, err := New(nil, FlusherFunc(func(*Batch) error { return nil }), nil, Options{}); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Fatalf("zero interval: %v", err)
	}
	if _, err := NewStore(HistogramOptions{}); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Fatalf("empty histogram options: %v", err)
	}
}

// rejectingTransport rejects payloads holding "bad".
type rejectingTransport struct{ fakeTransport }

func (r *rejectingTransport) Send(ctx context.Context, p []byte) error {
	if strings.Contains(string(p), "bad") {
		return fmt.Errorf("status 400: %w", ErrRejected)
	}
	return r.fakeTransport.Send(ctx, p)
}

func TestPusherRejected(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	bad, good := s.NewCounter(Info{Key: "bad"}), s.NewCounter(Info{Key: "good"})
	tr := &rejectingTransport{}
	// One line per payload, so that the bad one goes alone.
	p, _ := New(s, lineFlusher(s), tr, Options{FlushInterval: time.Hour, MaxPayloadSize: 1})
	defer p.Close(context.Background())
	bad.Add(1)
	good.Add(2)
	if err := p.Flush(context.Background()); !errors.Is(err, ErrRejected) || !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("flush: %v", err)
	}
	if got := tr.all(); got != "good xx\n" {
		t.Fatalf("delivered %q", got)
	}
	if st := p.Stats(); st.DroppedRejected != 1 || st.Sent != 1 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPusherRetriesWithoutNewData: what is queued is sent at the next
// flush even when nothing new was recorded.
func TestPusherRetriesWithoutNewData(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &fakeTransport{down: true}
	p, _ := New(s, lineFlusher(s), tr, Options{FlushInterval: time.Hour})
	defer p.Close(context.Background())
	c.Add(1)
	p.Flush(context.Background())
	tr.setDown(false)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tr.all(); got != "a x\n" {
		t.Fatalf("delivered %q", got)
	}
}

func TestCounterTakeValue(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	delta, total := s.NewCounter(Info{Key: "d"}), s.NewCounter(Info{Key: "t"})
	for i, add := range []float64{2.5, 0, 1} {
		delta.Add(add)
		total.Add(add)
		wantTotal := []float64{2.5, 2.5, 3.5}[i]
		if v := delta.TakeValue(false); v != add || delta.Total != wantTotal {
			t.Fatalf("flush %d: TakeValue(false) = %v, Total %v; want %v, %v", i, v, delta.Total, add, wantTotal)
		}
		if v := total.TakeValue(true); v != wantTotal || total.Total != wantTotal {
			t.Fatalf("flush %d: TakeValue(true) = %v, Total %v; want %v twice", i, v, total.Total, wantTotal)
		}
	}
}

func TestIdleFlushes(t *testing.T) {
	for _, tc := range []struct {
		after, interval time.Duration
		want            int
	}{
		{0, time.Second, 0},
		{time.Millisecond, time.Second, 1},
		{time.Second, time.Second, 1},
		{1500 * time.Millisecond, time.Second, 2},
		{2 * time.Hour, time.Hour, 2},
	} {
		if got := IdleFlushes(tc.after, tc.interval); got != tc.want {
			t.Errorf("IdleFlushes(%v, %v) = %d, want %d", tc.after, tc.interval, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Min: time.Minute, Max: 3 * time.Minute}
	if !b.Due() || b.LastErr() != nil {
		t.Fatal("a new Backoff is not due")
	}
	fail := errors.New("refused")
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		before := time.Now()
		b.Failed(fail)
		if b.Due() || b.LastErr() != fail {
			t.Fatalf("failure %d: due %v, last error %v", i, b.Due(), b.LastErr())
		}
		if wait := b.next.Sub(before); wait < want/2 || wait > want+time.Second {
			t.Fatalf("failure %d: waits %v, want between %v and %v", i, wait, want/2, want)
		}
	}
	b.Reset()
	if !b.Due() {
		t.Fatal("not due after Reset")
	}
	if b.Failed(fail); time.Until(b.next) < 3*time.Minute/2-time.Second {
		t.Fatal("Reset forgot the wait")
	}
	b.Succeeded()
	if !b.Due() || b.LastErr() != nil {
		t.Fatal("not due after a success")
	}
	before := time.Now()
	if b.Failed(fail); b.next.Sub(before) > time.Minute+time.Second {
		t.Fatalf("after a success, the first failure waits %v, want at most Min", b.next.Sub(before))
	}
}

func TestReportLimiter(t *testing.T) {
	l := ReportLimiter{Interval: 30 * time.Second}
	start := time.Unix(1000, 0)
	err := errors.New("down")
	var got []string
	for _, at := range []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 41 * time.Second, 80 * time.Second} {
		if r := l.Pass(start.Add(at), err); r != nil {
			if !errors.Is(r, err) {
				t.Fatalf("%v does not wrap the error", r)
			}
			got = append(got, r.Error())
		}
	}
	// 0 s passes; 10 and 20 s held; 40 s passes with 2 held; 41 s held;
	// 80 s passes with 1 held.
	if len(got) != 3 || got[0] != "down" || !strings.Contains(got[1], "(and 2 more delivery errors since ") ||
		!strings.Contains(got[2], "(and 1 more delivery errors since ") {
		t.Errorf("passed %q", got)
	}
	if l.Pass(start.Add(time.Hour), nil) != nil {
		t.Error("a nil error passed")
	}
}
