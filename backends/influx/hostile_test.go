package influx

import (
	"testing"
	"time"

	"github.com/influxdata/influxdb1-client/models"

	"github.com/obskit/obskit/internal/pushtest"
)

// parseCount parses one point with the client library and returns its
// count field.
func parseCount(l string) (float64, bool) {
	pts, err := models.ParsePointsString(l)
	if err != nil || len(pts) != 1 {
		return 0, false
	}
	f, err := pts[0].Fields()
	if err != nil {
		return 0, false
	}
	v, ok := f["count"].(float64)
	return v, ok
}

func TestHostileLabelValues(t *testing.T) {
	sink := pushtest.NewUDPSink(t)
	b, err := New(Options{UDPAddr: sink.Addr(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(t.Context())
	pushtest.Hostile(t, b, sink, parseCount)
}

func TestRecordingRacesFlushAndClose(t *testing.T) {
	sink := pushtest.NewUDPSink(t)
	b, err := New(Options{UDPAddr: sink.Addr(), FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.Race(t, b, sink, parseCount)
}
