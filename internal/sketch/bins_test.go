package sketch

import (
	"math"
	"testing"
)

func TestBins(t *testing.T) {
	s, err := New(0.01)
	if err != nil {
		t.Fatal(err)
	}
	in := []float64{0, 0, 1, 1, 1, 10, -2, 1e-3}
	for _, v := range in {
		s.Add(v)
	}
	var total uint64
	counts := map[float64]uint64{}
	s.Bins(func(v float64, c uint64) {
		total += c
		for _, x := range in {
			if x == 0 && v == 0 || x != 0 && math.Abs(v-x) <= 0.0100001*math.Abs(x) {
				counts[x] += c
				return
			}
		}
		t.Errorf("bin %v (count %d) is not within 1%% of any value added", v, c)
	})
	if total != uint64(len(in)) {
		t.Fatalf("bins count %d values, want %d", total, len(in))
	}
	if counts[0] != 2 || counts[1] != 3 || counts[10] != 1 || counts[-2] != 1 || counts[1e-3] != 1 {
		t.Fatalf("counts by value %v", counts)
	}
}
