package push

import (
	"context"
	"testing"
	"time"
)

// TestWireCounts: what a backend with its own wire client reports reaches
// Stats, DroppedWrite counts as a loss, and Locked excludes a flush.
func TestWireCounts(t *testing.T) {
	p, err := New(nil, FlusherFunc(func(*Batch) error { return nil }), nil, Options{Name: "t", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	p.CountSent(3, 100)
	p.CountDroppedWrite(2)
	p.CountDroppedQueueFull(1)
	ran := false
	p.Locked(func() {
		select {
		case p.sem <- struct{}{}:
			<-p.sem
			t.Error("Locked runs f without the flush lock")
		default:
		}
		ran = true
	})
	s := p.Stats()
	if !ran || s.Sent != 3 || s.BytesSent != 100 || s.DroppedWrite != 2 || s.DroppedQueueFull != 1 || s.Dropped() != 3 || s.Flushes != 1 {
		t.Fatalf("stats %+v", s)
	}
}
