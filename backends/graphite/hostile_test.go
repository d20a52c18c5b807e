package graphite_test

import (
	"testing"
	"time"

	"github.com/obskit/obskit/backends/graphite"
	"github.com/obskit/obskit/internal/pushtest"
)

func parseValue(l string) (float64, bool) {
	p, err := parseLine(l)
	return p.value, err == nil
}

func TestHostileLabelValues(t *testing.T) {
	for _, dotted := range []bool{false, true} {
		sink := pushtest.NewTCPSink(t)
		b, err := graphite.New(graphite.Options{Addr: sink.Addr(), FlushInterval: time.Hour, DottedPaths: dotted})
		if err != nil {
			t.Fatal(err)
		}
		pushtest.Hostile(t, b, sink, parseValue)
		b.Close(t.Context())
	}
}

func TestRecordingRacesFlushAndClose(t *testing.T) {
	sink := pushtest.NewTCPSink(t)
	b, err := graphite.New(graphite.Options{Addr: sink.Addr(), FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.Race(t, b, sink, parseValue)
}

func TestServerThatNeverReads(t *testing.T) {
	b, err := graphite.New(graphite.Options{Addr: pushtest.NeverReads(t), FlushInterval: time.Hour, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.NeverRead(t, b)
}
