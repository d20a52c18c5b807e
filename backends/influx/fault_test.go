package influx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/obskit/obskit/internal/pushtest"
	"github.com/obskit/obskit/metrics"
)

// ownInfluxd is an influxd this test starts, kills and restarts on ports
// of its own, so that the shared server is never touched.
type ownInfluxd struct {
	t        *testing.T
	dir      string
	httpAddr string
	cmd      *exec.Cmd
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// newOwnInfluxd prepares (does not start) an influxd; it skips the test
// when the binary is absent, and fails it under CI=true.
func newOwnInfluxd(t *testing.T) *ownInfluxd {
	t.Helper()
	if _, err := exec.LookPath("influxd"); err != nil {
		msg := "influxd not installed (scripts/backend up influxdb installs it): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	s := &ownInfluxd{t: t, dir: dir, httpAddr: freePort(t)}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = %q
  log-enabled = false
[monitor]
  store-enabled = false
`, freePort(t), filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), s.httpAddr)
	if err := os.WriteFile(filepath.Join(dir, "influxdb.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	return s
}

func (s *ownInfluxd) url() string { return "http://" + s.httpAddr }

// start runs influxd and waits until /ping answers.
func (s *ownInfluxd) start() {
	s.t.Helper()
	log, err := os.OpenFile(filepath.Join(s.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer log.Close()
	s.cmd = exec.Command("influxd", "run", "-config", filepath.Join(s.dir, "influxdb.conf"))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	srv := &server{url: s.url()}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := srv.query("", "SHOW DATABASES", "GET"); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(filepath.Join(s.dir, "log"))
	s.t.Fatalf("influxd on %s not ready in 20 s:\n%s", s.httpAddr, out)
}

// kill stops influxd at once, as a crash would.
func (s *ownInfluxd) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// TestInfluxdAbsentKilledRestarted runs a backend against an influxd that
// is not there at first, then up, then killed and restarted: nothing
// panics, memory stays bounded (at most MaxQueuedFlushes flushes wait),
// every point is either in the database or counted as dropped, what is
// recorded after recovery arrives, and Close delivers the last flush.
func TestInfluxdAbsentKilledRestarted(t *testing.T) {
	srv := newOwnInfluxd(t)
	const maxQueued = 3
	var got pushtest.Errors
	b, err := New(Options{URL: srv.url(), Database: "faults", FlushInterval: time.Hour, MaxQueuedFlushes: maxQueued,
		Timeout: 2 * time.Second, ErrorHandler: got.Handle})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, err := reg.NewCounter(metrics.Opts{Name: "events", Help: "Events.", Labels: []string{"phase"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	flushDown := func(phase string, n int) {
		t.Helper()
		for i := range n {
			c.With("phase", phase).Add(1)
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := b.Flush(fctx)
			cancel()
			if !errors.Is(err, metrics.ErrDelivery) {
				t.Fatalf("%s flush %d while influxd is down: %v, want ErrDelivery", phase, i, err)
			}
			if q := b.Stats().Queued; q > maxQueued {
				t.Fatalf("%d payloads queued, more than MaxQueuedFlushes %d", q, maxQueued)
			}
		}
	}

	// Absent at start: 5 flushes, of which the 2 oldest are dropped.
	flushDown("absent", 5)
	if st := b.Stats(); st.DroppedQueueFull != 2 || st.Queued != 3 {
		t.Fatalf("stats while absent: %+v, want 2 dropped and 3 queued", st)
	}
	srv.start()
	sq := &server{url: srv.url()}
	if _, err := sq.query("", `CREATE DATABASE "faults"`, "POST"); err != nil {
		t.Fatal(err)
	}
	c.With("phase", "up").Add(1)
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("flush once influxd is up: %v", err)
	}

	// Killed mid-run, then restarted on the same data.
	srv.kill()
	flushDown("killed", 4)
	if st := b.Stats(); st.DroppedQueueFull != 3 || st.Queued != 3 {
		t.Fatalf("stats while killed: %+v, want 3 dropped in all and 3 queued", st)
	}
	srv.start()
	c.With("phase", "restarted").Add(1)
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("flush after the restart: %v", err)
	}
	c.With("phase", "closing").Add(1)
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st := b.Stats()
	total := sq.sumOf(t, "faults", "events", "count")
	// Recorded: 5 + 1 + 4 + 1 + 1 = 12 events, one point each.
	if float64(st.Sent) != total || st.Sent+st.Dropped() != 12 {
		t.Fatalf("database holds %v events, stats %+v: want sent = stored and sent + dropped = 12", total, st)
	}
	if st.DroppedQueueFull != 3 || st.DroppedClosed != 0 {
		t.Fatalf("stats %+v: want exactly the 3 oldest flushes dropped", st)
	}
	for _, phase := range []string{"up", "restarted", "closing"} {
		rs := sq.selectAll(t, "faults", fmt.Sprintf(`SELECT sum("count") FROM "events" WHERE "phase" = '%s'`, phase))
		if len(rs) != 1 {
			t.Errorf("phase %s did not arrive", phase)
		}
	}
	if errs := got.All(); len(errs) != 1 {
		t.Errorf("error handler called %d times, want 1 (rate-limited): %v", len(errs), errs)
	}
}
