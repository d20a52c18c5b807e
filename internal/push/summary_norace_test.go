//go:build !race

package push

import "testing"

// The race detector's instrumentation allocates; the claim is about the
// build users run.
func TestSnapshotSummaryAllocatesNothing(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	h := s.NewHistogram(Info{})
	var got Summary
	if n := testing.AllocsPerRun(100, func() {
		h.observe(1)
		h.Take(nil, func(snap *Snapshot) { got = snap.Summary() })
	}); n != 0 {
		t.Errorf("Summary allocates %v times", n)
	}
	if got.Count != 1 {
		t.Fatalf("summary %+v", got)
	}
}
