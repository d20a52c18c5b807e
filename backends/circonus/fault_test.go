package circonus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/internal/pushtest"
	"github.com/obskit/obskit/metrics"
)

// TestCloseDeliversEverything records from several goroutines while
// others call Flush, then closes: every count reaches the trap. (Were
// circonus-gometrics' own Flush called while one runs, it would return
// at once and send nothing; the backend never lets that happen.)
func TestCloseDeliversEverything(t *testing.T) {
	rcv := newReceiver(t, false)
	b, err := New(Options{URL: rcv.url(), FlushInterval: 50 * time.Millisecond, Timeout: 10 * time.Second,
		ErrorHandler: func(err error) { t.Errorf("delivery: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, err := reg.NewCounter(metrics.Opts{Name: "work", Help: "Work.", Labels: []string{"worker"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := reg.NewHistogram(metrics.Opts{Name: "took", Help: "Took.", Unit: metrics.UnitSeconds})
	if err != nil {
		t.Fatal(err)
	}
	const writers, per = 4, 5000
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := c.With("worker", string(rune('a'+i)))
			for range per {
				w.Add(1)
				h.Observe(0.105) // mid-bin: the 1% sketch cannot move it to a neighbouring bin
			}
		}()
	}
	stop := make(chan struct{})
	var fw sync.WaitGroup
	fw.Add(1)
	go func() {
		defer fw.Done()
		for {
			select {
			case <-stop:
				return
			default:
				b.Flush(context.Background())
			}
		}
	}()
	wg.Wait()
	close(stop)
	fw.Wait()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range writers {
		name := "work|ST[worker:" + string(rune('a'+i)) + "]"
		if v, _ := rcv.counter(name); v != per {
			t.Errorf("%s = %d, want %d", name, v, per)
		}
	}
	hist, ok := rcv.histogram("took")
	if !ok {
		t.Fatal("histogram did not arrive")
	}
	if got := strings.Join(hist.DecStrings(), ","); got != "H[1.0e-01]=20000" {
		t.Errorf("histogram %s, want H[1.0e-01]=20000", got)
	}
	if st := b.Stats(); st.Dropped() != 0 || st.FlushErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestTrapFailsThenGoesAway makes the trap answer 503, then accept, then
// disappear: nothing is lost while it fails (the submission stays queued
// and is retried), and what Close cannot deliver once it is gone is
// counted and reported. circonus-gometrics retries each submission 3
// times, 1 to 5 s apart, so this test takes about 10 s.
func TestTrapFailsThenGoesAway(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for circonus-gometrics' retries (about 10 s)")
	}
	rcv := newReceiver(t, false)
	var got pushtest.Errors
	b, err := New(Options{URL: rcv.url(), FlushInterval: time.Hour, ErrorHandler: got.Handle})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, err := reg.NewCounter(metrics.Opts{Name: "jobs", Help: "Jobs."})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	rcv.setFail(503)
	c.Add(1)
	err = b.Flush(ctx)
	if !errors.Is(err, metrics.ErrDelivery) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Flush while the trap answers 503 = %v, want a delivery error naming 503", err)
	}
	if st := b.Stats(); st.Queued != 1 || st.Dropped() != 0 {
		t.Fatalf("stats after the 503: %+v, want the submission queued", st)
	}

	rcv.setFail(0)
	c.Add(2)
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("Flush once the trap accepts: %v", err)
	}
	if v, _ := rcv.counter("jobs"); v != 3 {
		t.Fatalf("trap holds %d jobs, want 3 (the queued submission and the new one)", v)
	}

	rcv.srv.Close()
	c.Add(4)
	fctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = b.Flush(fctx)
	cancel()
	if !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Flush once the trap is gone = %v, want a delivery error", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	err = b.Close(cctx)
	cancel()
	if !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Close once the trap is gone = %v, want a delivery error", err)
	}
	st := b.Stats()
	if st.Sent != 2 || st.DroppedClosed != 1 || st.Queued != 0 {
		t.Fatalf("final stats %+v: want 2 submissions' metrics sent and the last one counted as lost by Close", st)
	}
	if v, _ := rcv.counter("jobs"); v != 3 {
		t.Fatalf("trap holds %d jobs, want 3", v)
	}
	if errs := got.All(); len(errs) == 0 || !strings.Contains(errs[0].Error(), "503") {
		t.Fatalf("reported %v, want the 503 first", errs)
	}
	// Let the abandoned submission finish its retries, for goleak.
	b.trap.mu.Lock()
	s := b.trap.inflight
	b.trap.mu.Unlock()
	if s != nil {
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Fatal("abandoned submission still running after 20 s")
		}
	}
}

// TestTrapRejects: a 4xx answer is not retried: the submission is
// dropped, counted and reported with the status.
func TestTrapRejects(t *testing.T) {
	rcv := newReceiver(t, false)
	var got pushtest.Errors
	b, err := New(Options{URL: rcv.url(), FlushInterval: time.Hour, ErrorHandler: got.Handle})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	reg := metrics.New(b)
	g, err := reg.NewGauge(metrics.Opts{Name: "level", Help: "Level."})
	if err != nil {
		t.Fatal(err)
	}
	rcv.setFail(403)
	g.Set(1)
	start := time.Now()
	err = b.Flush(context.Background())
	if !errors.Is(err, push.ErrRejected) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Flush = %v, want a rejection naming 403", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("a rejected submission took %v: it was retried", d)
	}
	if st := b.Stats(); st.DroppedRejected != 1 || st.Queued != 0 {
		t.Fatalf("stats %+v, want 1 rejected, nothing queued", st)
	}
	rcv.setFail(0)
	g.Set(2)
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	v := rcv.gauges["level"]
	rcv.mu.Unlock()
	if v != 2 {
		t.Fatalf("level = %v, want 2", v)
	}
	if errs := got.All(); len(errs) != 1 {
		t.Fatalf("reported %v, want one error", errs)
	}
}
