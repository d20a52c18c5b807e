package sketch_test

import (
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/internal/sketch"
)

// The alternatives the package doc compares, as bare DDSketches (no lock,
// no exact statistics); "Sketch" is this package's wrapper around
// "log/collapsing-dense". The cubic mapping is wrong on 32-bit platforms
// (see the package doc) and is measured for the comparison only.
var alternatives = []struct {
	name string
	new  func() *ddsketch.DDSketch
}{
	{"cubic/collapsing-dense", func() *ddsketch.DDSketch {
		m, _ := mapping.NewCubicallyInterpolatedMapping(0.01)
		return ddsketch.NewDDSketch(m, store.NewCollapsingLowestDenseStore(sketch.MaxBins), store.NewCollapsingLowestDenseStore(sketch.MaxBins))
	}},
	{"log/collapsing-dense", func() *ddsketch.DDSketch {
		m, _ := mapping.NewLogarithmicMapping(0.01)
		return ddsketch.NewDDSketch(m, store.NewCollapsingLowestDenseStore(sketch.MaxBins), store.NewCollapsingLowestDenseStore(sketch.MaxBins))
	}},
	{"log/buffered-paginated", func() *ddsketch.DDSketch {
		m, _ := mapping.NewLogarithmicMapping(0.01)
		return ddsketch.NewDDSketchFromStoreProvider(m, store.DefaultProvider)
	}},
}

var sink float64

func BenchmarkAdd(b *testing.B) {
	values := backendtest.HistogramValues(10000)
	b.Run("Sketch", func(b *testing.B) {
		s := mustNew(b, 0.01)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.Add(values[i%len(values)])
		}
	})
	for _, alt := range alternatives {
		b.Run(alt.name, func(b *testing.B) {
			s := alt.new()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				_ = s.Add(values[i%len(values)])
			}
		})
	}
}

func BenchmarkAddParallel(b *testing.B) {
	values := backendtest.HistogramValues(10000)
	s := mustNew(b, 0.01)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			s.Add(values[i%len(values)])
		}
	})
}

// BenchmarkQuantile asks for one quantile of the conformance workload.
func BenchmarkQuantile(b *testing.B) {
	values := backendtest.HistogramValues(10000)
	b.Run("Sketch", func(b *testing.B) {
		s := mustNew(b, 0.01)
		for _, v := range values {
			s.Add(v)
		}
		b.ReportAllocs()
		for b.Loop() {
			sink = s.Quantile(0.99)
		}
	})
	for _, alt := range alternatives {
		b.Run(alt.name, func(b *testing.B) {
			s := alt.new()
			for _, v := range values {
				_ = s.Add(v)
			}
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = s.GetValueAtQuantile(0.99)
			}
		})
	}
}
