package push

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/metrics"
)

// refusingTransport refuses payloads that contain "bad" for good and
// accepts the others.
type refusingTransport struct {
	mu  sync.Mutex
	got []string
}

func (r *refusingTransport) Send(_ context.Context, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if strings.Contains(string(p), "bad") {
		return fmt.Errorf("400 field type conflict: %w", ErrRejected)
	}
	r.got = append(r.got, string(p))
	return nil
}

func (r *refusingTransport) Close() error { return nil }

func TestPusherRejectedIsDroppedNotRetried(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	bad := s.NewCounter(Info{Key: "bad"})
	good := s.NewCounter(Info{Key: "good"})
	tr := &refusingTransport{}
	var reports []error
	// One line per payload, so the rejected one is alone.
	p, err := New(s, lineFlusher(s), tr, Options{Name: "test", FlushInterval: time.Hour, MaxPayloadSize: 4,
		ErrorHandler: func(err error) { reports = append(reports, err) }})
	if err != nil {
		t.Fatal(err)
	}
	bad.Add(2)
	good.Add(3)
	err = p.Flush(context.Background())
	if !errors.Is(err, ErrRejected) || !errors.Is(err, metrics.ErrDelivery) {
		t.Fatalf("Flush = %v, want ErrRejected and ErrDelivery", err)
	}
	good.Add(1)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatalf("second Flush = %v, want nil (the rejected payload is not retried)", err)
	}
	st := p.Stats()
	if st.DroppedRejected != 1 || st.Sent != 2 || st.Queued != 0 || st.FlushErrors != 1 {
		t.Fatalf("stats %+v; want 1 rejected, 2 sent, none queued, 1 error", st)
	}
	if got := strings.Join(tr.got, ""); got != "good xxx\ngood x\n" {
		t.Fatalf("delivered %q", got)
	}
	if len(reports) != 1 || !strings.Contains(reports[0].Error(), "field type conflict") {
		t.Fatalf("reports %v, want one with the server's message", reports)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type partialTransport struct{}

func (partialTransport) Send(context.Context, []byte) error {
	return &PartialError{Dropped: 1, Err: errors.New("partial write: field type conflict dropped=1")}
}

func (partialTransport) Close() error { return nil }

func TestPusherPartialRejection(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	for _, k := range []string{"a", "b", "c"} {
		s.NewCounter(Info{Key: k}).Add(1)
	}
	p, err := New(s, lineFlusher(s), partialTransport{}, Options{Name: "test", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(context.Background()); !errors.Is(err, ErrRejected) {
		t.Fatalf("Flush = %v, want ErrRejected", err)
	}
	if st := p.Stats(); st.DroppedRejected != 1 || st.Sent != 2 || st.Queued != 0 {
		t.Fatalf("stats %+v; want 1 rejected, 2 sent", st)
	}
	p.Close(context.Background())
}

// TestFlushWithNothingNewRetriesTheQueue: a flush that records nothing
// new still delivers what an earlier one left queued, and Close reports
// what it could not deliver.
func TestFlushWithNothingNewRetriesTheQueue(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	c := s.NewCounter(Info{Key: "a"})
	tr := &fakeTransport{down: true}
	p, err := New(s, lineFlusher(s), tr, Options{Name: "test", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(1)
	if err := p.Flush(context.Background()); err == nil {
		t.Fatal("flush while down succeeded")
	}
	tr.setDown(false)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatalf("flush with nothing new: %v", err)
	}
	if got := tr.all(); got != "a x\n" || p.Stats().Queued != 0 {
		t.Fatalf("delivered %q, queued %d; want the earlier flush delivered", got, p.Stats().Queued)
	}
	tr.setDown(true)
	c.Add(1)
	p.Flush(context.Background())
	if err := p.Close(context.Background()); err == nil {
		t.Fatal("Close that could not deliver returned nil")
	}
	if st := p.Stats(); st.DroppedClosed != 1 {
		t.Fatalf("stats %+v, want 1 dropped by Close", st)
	}
}
