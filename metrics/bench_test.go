package metrics_test

import (
	"testing"

	"github.com/obskit/obskit/metrics"
)

func BenchmarkWithHit(b *testing.B) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	c.With("method", "GET", "code", "200").Add(1)
	b.ReportAllocs()
	for b.Loop() {
		c.With("method", "GET", "code", "200").Add(1)
	}
}

func BenchmarkBoundAdd(b *testing.B) {
	reg := metrics.New(metrics.Discard())
	c, _ := reg.NewCounter(metrics.Opts{Name: "c", Labels: []string{"method", "code"}})
	child := c.Bind("method", "GET", "code", "200")
	b.ReportAllocs()
	for b.Loop() {
		child.Add(1)
	}
}
