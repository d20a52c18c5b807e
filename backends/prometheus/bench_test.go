package prometheus

import (
	"context"
	"testing"

	"github.com/obskit/obskit/metrics"
)

// BenchmarkHistogramHandle measures the bound handle alone, without the
// Registry in front: what this package adds to client_golang's Observe.
// The side-by-side comparisons with client_golang and Go kit live in the
// benchmarks module.
func BenchmarkHistogramHandle(b *testing.B) {
	be := newBackendB(b)
	f, err := be.DeclareHistogram(&metrics.Desc{Kind: metrics.KindHistogram, Name: "h", Labels: []string{"k"}, Buckets: metrics.DefaultBuckets()})
	if err != nil {
		b.Fatal(err)
	}
	h := f.Bind([]string{"v"})
	ctx := context.Background()
	b.Run("no span", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(ctx, 0.3)
		}
	})
	b.Run("client_golang child", func(b *testing.B) {
		o := h.(*histogram).obs
		b.ReportAllocs()
		for b.Loop() {
			o.Observe(0.3)
		}
	})
	b.Run("sampled span", func(b *testing.B) {
		sctx, _ := sampledB()
		b.ReportAllocs()
		for b.Loop() {
			h.Observe(sctx, 0.3)
		}
	})
}

func newBackendB(b *testing.B) *Backend {
	be, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	return be
}
