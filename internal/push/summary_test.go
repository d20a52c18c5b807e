package push

import (
	"math"
	"testing"
)

func TestSnapshotSummary(t *testing.T) {
	s := newStore(t, HistogramOptions{Sketch: true})
	h := s.NewHistogram(Info{})
	for v := 1; v <= 1000; v++ {
		h.observe(float64(v))
	}
	var got Summary
	h.Take(nil, func(snap *Snapshot) { got = snap.Summary() })
	if got.Count != 1000 || got.Sum != 500500 || got.Min != 1 || got.Max != 1000 {
		t.Fatalf("summary %+v", got)
	}
	for i, q := range Quantiles {
		want := math.Ceil(q * 1000) // nearest rank
		if math.Abs(got.Q[i]-want) > 0.01*want {
			t.Errorf("%s = %v, want %v within 1%%", QuantileNames[i], got.Q[i], want)
		}
	}
}
