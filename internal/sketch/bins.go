package sketch

// Bins calls f with the representative value of each non-empty bucket
// (within the sketch's relative accuracy of every value counted in it)
// and its count: zero first, then the positive buckets in increasing
// order, then the negative ones. It is how a backend hands the sketch to
// a histogram format of its own (Circonus' log-linear histograms). The
// sketch is locked while f runs.
func (s *Sketch) Bins(f func(value float64, count uint64)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dd.ForEach(func(v, c float64) bool {
		if c > 0 {
			f(v, uint64(c+0.5))
		}
		return false
	})
}
