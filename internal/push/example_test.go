package push_test

import (
	"context"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/obskit/obskit/internal/push"
)

// A backend in a few lines: a Store for the series, a Flusher that
// formats them, a Pusher that runs the flushes. WriteTo shows one flush;
// a real backend passes a Transport (push.NewUDP, push.NewTCP) to New.
func Example() {
	store, err := push.NewStore(push.HistogramOptions{Sketch: true})
	if err != nil {
		log.Fatal(err)
	}
	flusher := push.FlusherFunc(func(b *push.Batch) error {
		for _, c := range store.Counters() {
			if d := c.TakeDelta(); d != 0 {
				line := append(b.Scratch(), c.Key...)
				line = append(line, ' ')
				b.Line(strconv.AppendFloat(line, d, 'g', -1, 64))
			}
		}
		for _, g := range store.Gauges() {
			if v, changed := g.Take(); changed {
				line := append(b.Scratch(), g.Key...)
				line = append(line, ' ')
				b.Line(strconv.AppendFloat(line, v, 'g', -1, 64))
			}
		}
		return nil
	})
	p, err := push.New(store, flusher, nil, push.Options{Name: "example", FlushInterval: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(context.Background())

	// What a backend's Family.Bind returns: the handles of the hot path.
	requests := store.NewCounter(push.Info{Key: "requests"})
	inflight := store.NewGauge(push.Info{Key: "in_flight"})
	requests.Add(2)
	requests.Add(0.5)
	inflight.Set(3)
	inflight.Add(-1)

	p.WriteTo(os.Stdout)
	p.WriteTo(os.Stdout) // nothing changed: nothing to write
	// Output:
	// requests 2.5
	// in_flight 2
}
