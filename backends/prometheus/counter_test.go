package prometheus

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/obskit/obskit/metrics"
)

// TestCounterChildAdd: whole and fractional deltas, deltas too large for
// an int64, and concurrent adders all sum exactly.
func TestCounterChildAdd(t *testing.T) {
	var k counterChild
	k.Add(1)
	k.Add(0.25)
	k.Add(2)
	k.Add(0.5)
	if got := k.value(); got != 3.75 {
		t.Fatalf("value = %v, want 3.75", got)
	}
	var big counterChild
	big.Add(math.Ldexp(1, 63)) // 2^63: does not fit an int64
	big.Add(math.Ldexp(1, 70))
	if got, want := big.value(), math.Ldexp(1, 63)+math.Ldexp(1, 70); got != want {
		t.Fatalf("big value = %v, want %v", got, want)
	}
	var c counterChild
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Add(1)
				c.Add(0.5)
			}
		}()
	}
	wg.Wait()
	if got := c.value(); got != 12000 {
		t.Fatalf("concurrent value = %v, want 12000", got)
	}
}

// TestCountersSharedRegisterer: two Backends on one Registerer declaring
// the same counter share its series, which is scraped once.
func TestCountersSharedRegisterer(t *testing.T) {
	r := prom.NewRegistry()
	var cs []*metrics.CounterMetric
	for range 2 {
		b := newBackend(t, Options{Registerer: r})
		c, err := metrics.New(b).NewCounter(metrics.Opts{Name: "jobs", Help: "Jobs.", Labels: []string{"queue"}})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	cs[0].With("queue", "a").Add(2)
	cs[1].With("queue", "a").Add(3)
	cs[1].With("queue", "b").Add(1)
	mfs, err := r.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var got []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got = append(got, m.GetLabel()[0].GetValue()+"="+strconv.FormatFloat(m.GetCounter().GetValue(), 'g', -1, 64))
		}
	}
	if strings.Join(got, " ") != "a=5 b=1" {
		t.Errorf("series = %v, want a=5 b=1", got)
	}
}
