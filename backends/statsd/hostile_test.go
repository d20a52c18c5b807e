package statsd_test

import (
	"testing"
	"time"

	"github.com/obskit/obskit/backends/statsd"
	"github.com/obskit/obskit/internal/pushtest"
)

func parseValue(l string) (float64, bool) {
	m, err := parseLine(l)
	return m.value, err == nil
}

func TestHostileLabelValues(t *testing.T) {
	for _, style := range []statsd.LabelStyle{statsd.LabelsInName, statsd.TelegrafTags} {
		sink := pushtest.NewUDPSink(t)
		b, err := statsd.New(statsd.Options{Addr: sink.Addr(), FlushInterval: time.Hour, Labels: style})
		if err != nil {
			t.Fatal(err)
		}
		pushtest.Hostile(t, b, sink, parseValue)
		if st := b.Stats(); st.DroppedRejected != 2 {
			t.Fatalf("style %d: the two 1 MB lines (label, const label) are not counted as rejected: %+v", style, st)
		}
		b.Close(t.Context())
	}
	tcp := pushtest.NewTCPSink(t)
	b, err := statsd.New(statsd.Options{Addr: tcp.Addr(), Network: "tcp", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(t.Context())
	pushtest.Hostile(t, b, tcp, parseValue)
}

func TestRecordingRacesFlushAndClose(t *testing.T) {
	sink := pushtest.NewTCPSink(t)
	b, err := statsd.New(statsd.Options{Addr: sink.Addr(), Network: "tcp", FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.Race(t, b, sink, parseValue)
}

func TestServerThatNeverReads(t *testing.T) {
	b, err := statsd.New(statsd.Options{Addr: pushtest.NeverReads(t), Network: "tcp", FlushInterval: time.Hour, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.NeverRead(t, b)
}
