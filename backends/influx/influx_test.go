package influx

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb1-client/models"

	"github.com/obskit/obskit/metrics"
)

func TestOptionsValidated(t *testing.T) {
	for _, o := range []Options{
		{}, // no database
		{Database: "d", Precision: "us"},
		{Database: "d", WriteConsistency: "most"},
		{Database: "d", URL: "ftp://x"},
		{Database: "d", FlushInterval: -1},
		{Database: "d", Timeout: -1},
		{Database: "d", MaxBatchSize: -1},
		{UDPAddr: "127.0.0.1:1", MaxPacketSize: 70000},
	} {
		if _, err := New(o); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOption", o, err)
		}
	}
	b, err := New(Options{Database: "d"})
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	b.Close(context.Background())
}

func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	b, err := New(Options{UDPAddr: pc.LocalAddr().String(), FlushInterval: time.Hour, MaxPacketSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b, metrics.WithNamespace("udp"))
	c, err := reg.NewCounter(metrics.Opts{Name: "hits", Help: "Hits.", Labels: []string{"page"}})
	if err != nil {
		t.Fatal(err)
	}
	const pages = 20
	for i := range pages {
		c.With("page", strings.Repeat("p", i+1)).Add(float64(i + 1))
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var total float64
	points, datagrams := 0, 0
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	for points < pages {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d points: %v", points, err)
		}
		if n > 200 {
			t.Errorf("datagram of %d bytes > MaxPacketSize 200", n)
		}
		datagrams++
		pts, err := models.ParsePoints(buf[:n])
		if err != nil {
			t.Fatalf("datagram %q: %v", buf[:n], err)
		}
		for _, p := range pts {
			f, _ := p.Fields()
			total += f["count"].(float64)
			points++
		}
	}
	if total != pages*(pages+1)/2 || datagrams < 2 {
		t.Fatalf("%d points in %d datagrams adding to %v", points, datagrams, total)
	}
	if st := b.Stats(); st.Sent != pages {
		t.Fatalf("stats %+v", st)
	}
}

func TestCounterTotals(t *testing.T) {
	b, err := New(Options{Database: "d", FlushInterval: time.Hour, CounterTotals: true, URL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c", Help: "C."})
	var out strings.Builder
	for _, d := range []float64{1.5, 2} {
		c.Add(d)
		out.Reset()
		if _, err := b.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(out.String(), "c count=3.5 ") {
		t.Fatalf("second flush %q, want the running total 3.5", out.String())
	}
}

// CounterTotals means what it means in graphite: the running total on
// every flush once it is not 0, also a flush with no new delta.
func TestCounterTotalsEveryFlush(t *testing.T) {
	b, err := New(Options{Database: "d", FlushInterval: time.Hour, CounterTotals: true, URL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c", Help: "C."})
	c.Add(1.5)
	var out strings.Builder
	for i := range 2 {
		out.Reset()
		if _, err := b.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), "c count=1.5 ") {
			t.Fatalf("flush %d: %q, want the running total 1.5", i, out.String())
		}
	}
}

// StopIdleAfter stops sending a gauge no one records into, as in graphite.
func TestStopIdleAfter(t *testing.T) {
	b, err := New(Options{Database: "d", FlushInterval: time.Hour, StopIdleAfter: 2 * time.Hour, URL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	g, _ := metrics.New(b).NewGauge(metrics.Opts{Name: "g", Help: "G."})
	g.Set(1)
	lines := func() int {
		var out strings.Builder
		if _, err := b.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		return strings.Count(out.String(), "\n")
	}
	for i, want := range []int{1, 1, 0, 0} {
		if got := lines(); got != want {
			t.Fatalf("flush %d: %d points, want %d", i, got, want)
		}
	}
	g.Set(2)
	if got := lines(); got != 1 {
		t.Fatalf("after recording again: %d points, want 1", got)
	}
	if _, err := New(Options{Database: "d", StopIdleAfter: -1}); !errors.Is(err, metrics.ErrInvalidOption) {
		t.Fatalf("StopIdleAfter -1: %v", err)
	}
}
