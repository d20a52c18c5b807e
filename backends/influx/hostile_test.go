package influx

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb1-client/models"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/internal/pushtest"
	"github.com/obskit/obskit/metrics"
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

// A 1 MB tag value against the real influxd: the server refuses that one
// point (its series key is longer than 64 KB) and stores the rest of the
// batch; the refused point is counted, the others arrive.
func TestHostileLabelValuesRealServer(t *testing.T) {
	s := sharedServer(t)
	db := s.newDatabase(t)
	var got pushtest.Errors
	b, err := New(Options{URL: s.url, Database: db, FlushInterval: time.Hour, ErrorHandler: got.Handle})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(t.Context())
	c, err := metrics.New(b, pushtest.Uncut()).NewCounter(metrics.Opts{Name: "hostile", Help: "H.", Labels: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	vals := pushtest.HostileValues()
	for _, v := range vals {
		c.With("k", v).Add(1)
	}
	err = b.Flush(t.Context())
	st := b.Stats()
	if !errors.Is(err, push.ErrRejected) || st.DroppedRejected != 1 || st.Queued != 0 {
		t.Fatalf("flush: %v, stats %+v: want the 1 MB point alone rejected", err, st)
	}
	rows, err := s.query(db, `SELECT sum("count") FROM "hostile"`, http.MethodGet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	sum, err := rows[0].column("sum")
	if err != nil {
		t.Fatal(err)
	}
	// Every increment but the refused one is stored: values that
	// sanitise alike add up in one point, not overwrite each other.
	if want := float64(len(vals) - 1); sum != want {
		t.Fatalf("stored sum %v, want %v (Stats.Sent %d points)", sum, want, st.Sent)
	}
	if errs := got.All(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "max key length exceeded") {
		t.Fatalf("reported %v, want the server's message once", errs)
	}
}

func TestServerThatNeverReads(t *testing.T) {
	b, err := New(Options{URL: "http://" + pushtest.NeverReads(t), Database: "d", FlushInterval: time.Hour, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.NeverRead(t, b)
}
