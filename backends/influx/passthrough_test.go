package influx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obskit/obskit/internal/push"
	"github.com/obskit/obskit/metrics"
)

// TestOptionsPassThrough checks, on a stand-in /write over HTTPS, that
// the database, retention policy, precision, write consistency, basic
// auth and TLS configuration reach the request, and that the body is one
// batch in the precision asked for.
func TestOptionsPassThrough(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	var body string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, body = r, string(b)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	b, err := New(Options{URL: srv.URL + "/influx/", Database: "db 1", RetentionPolicy: "short", Precision: "s",
		WriteConsistency: "quorum", Username: "u", Password: "p&w",
		TLSConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c", Help: "C."})
	c.Add(1)
	before := time.Now().Unix()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got == nil {
		t.Fatal("nothing written")
	}
	q := got.URL.Query()
	if got.Method != "POST" || got.URL.Path != "/influx/write" || q.Get("db") != "db 1" || q.Get("rp") != "short" ||
		q.Get("precision") != "s" || q.Get("consistency") != "quorum" {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	if u, p, ok := got.BasicAuth(); !ok || u != "u" || p != "p&w" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	var ts int64
	if _, err := fmt.Sscan(strings.TrimPrefix(body, "c count=1 "), &ts); err != nil || ts < before || ts > before+5 {
		t.Errorf("body %q: want a timestamp in seconds", body)
	}
}

// TestServerErrors: 5xx is kept for a retry, 4xx is dropped, both with
// the server's message.
func TestServerErrors(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		s := status
		mu.Unlock()
		if s == http.StatusNoContent {
			w.WriteHeader(s)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s)
		io.WriteString(w, `{"error":"the server says no"}`)
	}))
	defer srv.Close()
	set := func(s int) { mu.Lock(); status = s; mu.Unlock() }
	b, err := New(Options{URL: srv.URL, Database: "d", FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c", Help: "C."})
	c.Add(1)
	err = b.Flush(context.Background())
	if err == nil || errors.Is(err, push.ErrRejected) || !strings.Contains(err.Error(), "503 Service Unavailable: the server says no") {
		t.Fatalf("503: %v", err)
	}
	if st := b.Stats(); st.Queued != 1 {
		t.Fatalf("after 503: %+v, want the batch queued", st)
	}
	set(http.StatusBadRequest)
	err = b.Flush(context.Background())
	if !errors.Is(err, push.ErrRejected) || !strings.Contains(err.Error(), "400 Bad Request: the server says no") {
		t.Fatalf("400: %v", err)
	}
	if st := b.Stats(); st.Queued != 0 || st.DroppedRejected != 1 {
		t.Fatalf("after 400: %+v, want the batch dropped and counted", st)
	}
	set(http.StatusNoContent)
	c.Add(1)
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Sent != 1 || st.DroppedRejected != 1 {
		t.Fatalf("final %+v", st)
	}
}

// TestBackoff: while the server fails, the flush loop does not write on
// every flush but backs off; an explicit Flush writes at once.
func TestBackoff(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		requests++
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	count := func() int { mu.Lock(); defer mu.Unlock(); return requests }
	b, err := New(Options{URL: srv.URL, Database: "d", FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := metrics.New(b).NewCounter(metrics.Opts{Name: "c", Help: "C."})
	c.Add(1)
	time.Sleep(500 * time.Millisecond) // about 25 flushes of the loop
	if n, f := count(), b.Stats().Flushes; n != 1 || f < 5 {
		t.Fatalf("%d writes in %d flushes, want 1: the next waits at least a second", n, f)
	}
	b.Flush(context.Background())
	if n := count(); n != 2 {
		t.Fatalf("explicit Flush: %d writes, want 2", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b.Close(ctx)
}
