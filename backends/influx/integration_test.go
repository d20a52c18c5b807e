package influx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/backends/backendtest"
	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/internal/pushtest"
	"github.com/obskit/obskit/metrics"
)

// reader reads the conformance workload back through InfluxQL.
type reader struct {
	t  *testing.T
	s  *server
	db string
}

func (r reader) rows(d *metrics.Desc, sel string) ([]series, error) {
	return r.s.query(r.db, fmt.Sprintf(`SELECT %s FROM %q GROUP BY *`, sel, d.FullName(".")), "GET")
}

func (r reader) find(d *metrics.Desc, sel string, labels map[string]string) (series, error) {
	rs, err := r.rows(d, sel)
	if err != nil {
		return series{}, err
	}
	for _, s := range rs {
		match := true
		for _, n := range d.Labels {
			if s.Tags[n] != labels[n] {
				match = false
			}
		}
		if match {
			return s, nil
		}
	}
	return series{}, fmt.Errorf("no series of %s with %v among %d", d.FullName("."), labels, len(rs))
}

func (r reader) Value(d *metrics.Desc, labels map[string]string) (float64, error) {
	if d.Kind == metrics.KindCounter {
		s, err := r.find(d, `sum("count") AS v`, labels)
		if err != nil {
			return 0, err
		}
		return s.column("v")
	}
	s, err := r.find(d, `last("value") AS v`, labels)
	if err != nil {
		return 0, err
	}
	return s.column("v")
}

func (r reader) Histogram(d *metrics.Desc, labels map[string]string) (backendtest.HistogramReading, error) {
	s, err := r.find(d, `sum("count") AS c, sum("sum") AS s, last("p50") AS p50, last("p90") AS p90, last("p95") AS p95, last("p99") AS p99`, labels)
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	c, err := s.column("c")
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	sum, err := s.column("s")
	if err != nil {
		return backendtest.HistogramReading{}, err
	}
	return backendtest.HistogramReading{Count: uint64(c), Sum: sum, Quantile: func(q float64) (float64, error) {
		col := map[float64]string{0.5: "p50", 0.9: "p90", 0.95: "p95", 0.99: "p99"}[q]
		if col == "" {
			return 0, fmt.Errorf("no field for quantile %v", q)
		}
		return s.column(col)
	}}, nil
}

func (r reader) Series(d *metrics.Desc) ([]map[string]string, error) {
	sel := `last("value")`
	switch d.Kind {
	case metrics.KindCounter:
		sel = `sum("count")`
	case metrics.KindHistogram:
		sel = `sum("count")`
	}
	rs, err := r.rows(d, sel)
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, s := range rs {
		l := map[string]string{}
		for _, n := range d.Labels {
			l[n] = s.Tags[n]
		}
		out = append(out, l)
	}
	return out, nil
}

func TestConformance(t *testing.T) {
	s := sharedServer(t)
	db := s.newDatabase(t)
	backendtest.Run(t, backendtest.Harness{
		New: func(t *testing.T) metrics.Backend {
			b, err := New(Options{URL: s.url, Database: db, FlushInterval: time.Hour,
				ErrorHandler: func(err error) { t.Errorf("delivery: %v", err) }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close(context.Background()) })
			return b
		},
		Collect: func(t *testing.T, mb metrics.Backend, _ []*metrics.Desc) backendtest.Reader {
			b := mb.(*Backend)
			if err := b.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if st := b.Stats(); st.Dropped() != 0 || st.Sent == 0 {
				t.Fatalf("stats after flush: %+v", st)
			}
			return reader{t: t, s: s, db: db}
		},
		CheckQuantile:      backendtest.RelativeError(0.0101),
		SanitizeLabelValue: SanitizeTagValue,
	})
}

func TestDatabaseDroppedMidRun(t *testing.T) {
	s := sharedServer(t)
	db := s.newDatabase(t)
	var got pushtest.Errors
	b, err := New(Options{URL: s.url, Database: db, FlushInterval: time.Hour, ErrorHandler: got.Handle})
	if err != nil {
		t.Fatal(err)
	}
	reg := metrics.New(b)
	c, err := reg.NewCounter(metrics.Opts{Name: "jobs", Help: "Jobs."})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.Add(1)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.query("", fmt.Sprintf("DROP DATABASE %q", db), "POST"); err != nil {
		t.Fatal(err)
	}
	c.Add(10)
	err = b.Flush(ctx)
	if !errors.Is(err, metrics.ErrDelivery) || !errors.Is(err, push.ErrRejected) || !strings.Contains(err.Error(), "database not found") {
		t.Fatalf("Flush into a dropped database = %v, want a rejection with the server's message", err)
	}
	if st := b.Stats(); st.DroppedRejected != 1 || st.Queued != 0 {
		t.Fatalf("stats after the rejection: %+v, want 1 point rejected and nothing queued", st)
	}
	if errs := got.All(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "database not found") {
		t.Fatalf("reported %v, want one error naming the missing database", errs)
	}
	if _, err := s.query("", fmt.Sprintf("CREATE DATABASE %q", db), "POST"); err != nil {
		t.Fatal(err)
	}
	c.Add(100)
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close after recovery: %v", err)
	}
	if v := s.sumOf(t, db, "jobs", "count"); v != 100 {
		t.Fatalf("after recovery the database holds %v, want 100 (recorded after it was created again)", v)
	}
	st := b.Stats()
	if st.Sent != 2 || st.DroppedRejected != 1 || st.DroppedClosed != 0 {
		t.Fatalf("final stats %+v", st)
	}
}

func TestFieldTypeConflictReportedOnce(t *testing.T) {
	s := sharedServer(t)
	db := s.newDatabase(t)
	// Another writer owns "temperature" with a string field "value".
	if err := writeLines(s.url, db, `temperature value="hot"`); err != nil {
		t.Fatal(err)
	}
	var got pushtest.Errors
	b, err := New(Options{URL: s.url, Database: db, FlushInterval: time.Hour, ErrorHandler: got.Handle})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	reg := metrics.New(b)
	g, err := reg.NewGauge(metrics.Opts{Name: "temperature", Help: "Temperature."})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := reg.NewCounter(metrics.Opts{Name: "ok", Help: "Written beside it."})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		g.Set(20 + float64(i))
		ok.Add(1)
		err := b.Flush(context.Background())
		if !errors.Is(err, push.ErrRejected) || !strings.Contains(err.Error(), "field type conflict") {
			t.Fatalf("flush %d = %v, want a field type conflict", i, err)
		}
	}
	st := b.Stats()
	if st.DroppedRejected != 3 || st.Sent != 3 || st.Queued != 0 || st.FlushErrors != 3 {
		t.Fatalf("stats %+v: want the 3 gauge points rejected, the 3 counter points written, nothing queued", st)
	}
	if errs := got.All(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "field type conflict") {
		t.Fatalf("reported %d errors (%v), want one naming the field type conflict", len(errs), errs)
	}
	if v := s.sumOf(t, db, "ok", "count"); v != 3 {
		t.Fatalf("the other points of the batches: %v, want 3", v)
	}
}

// writeLines writes line protocol as another client would.
func writeLines(base, db, lines string) error {
	h, err := newHTTPTransport(&Options{URL: base, Database: db, Precision: "ns"})
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Send(context.Background(), []byte(lines+"\n"))
}

// TestRetentionPolicy writes into a retention policy that is not the
// database's default, and reads the point back from it (and not from
// the default one).
func TestRetentionPolicy(t *testing.T) {
	s := sharedServer(t)
	db := s.newDatabase(t)
	if _, err := s.query(db, fmt.Sprintf(`CREATE RETENTION POLICY "short" ON %q DURATION 2h REPLICATION 1`, db), "POST"); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{URL: s.url, Database: db, RetentionPolicy: "short", Precision: "ms", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	g, err := metrics.New(b).NewGauge(metrics.Opts{Name: "queue.depth", Help: "Depth."})
	if err != nil {
		t.Fatal(err)
	}
	g.Set(7)
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rs := s.selectAll(t, db, `SELECT last("value") AS v FROM "short"."queue.depth"`)
	if len(rs) != 1 {
		t.Fatalf("no point in the retention policy: %v", rs)
	}
	if v, err := rs[0].column("v"); err != nil || v != 7 {
		t.Fatalf("value %v, %v; want 7", v, err)
	}
	if rs := s.selectAll(t, db, `SELECT last("value") FROM "autogen"."queue.depth"`); len(rs) != 0 {
		t.Fatalf("the point is in the default retention policy too: %v", rs)
	}
}
