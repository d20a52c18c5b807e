package push

// Quantiles are the quantiles a backend without native histograms sends
// for each interval of a histogram series (graphite, influx), and
// QuantileNames their names there: a path suffix in Graphite, a field in
// InfluxDB.
var (
	Quantiles     = [4]float64{0.5, 0.9, 0.95, 0.99}
	QuantileNames = [4]string{"p50", "p90", "p95", "p99"}
)

// Summary is one interval of a histogram series as such a backend sends
// it: exact count, sum, min and max, and Quantiles from the sketch.
type Summary struct {
	Count         uint64
	Sum, Min, Max float64
	Q             [len(Quantiles)]float64
}

// Summary reads the snapshot's sketch; it allocates nothing. The
// Snapshot must come from a Store that keeps sketches.
func (s *Snapshot) Summary() Summary {
	sk := s.Sketch
	sum := Summary{Count: s.Count, Sum: sk.Sum(), Min: sk.Min(), Max: sk.Max()}
	sk.Quantiles(sum.Q[:0], Quantiles[:]...)
	return sum
}
