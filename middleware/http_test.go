package middleware_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
)

type httpFixture struct {
	backend *metricstest.Backend
	spans   *tracetest.SpanRecorder
	tp      *sdktrace.TracerProvider
	logs    *syncBuffer
	server  *httptest.Server
	client  *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHTTPFixture serves mux through NewHTTPHandler on a real server, and
// returns a client whose transport is NewTransport: both record into the
// same backend and span recorder.
func newHTTPFixture(t *testing.T, mux http.Handler) *httpFixture {
	t.Helper()
	f := &httpFixture{backend: metricstest.New(), spans: tracetest.NewSpanRecorder(), logs: &syncBuffer{}}
	f.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	opts := middleware.HTTPOptions{
		Registry: metrics.New(f.backend),
		Tracer:   f.tp.Tracer("test"),
		Logger:   slog.New(slog.NewTextHandler(f.logs, nil)),
	}
	h, err := middleware.NewHTTPHandler(mux, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.server = httptest.NewServer(h)
	t.Cleanup(f.server.Close)
	rt, err := middleware.NewTransport(f.server.Client().Transport, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.client = &http.Client{Transport: rt}
	return f
}

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "item "+r.PathValue("id"))
	})
	mux.HandleFunc("/any", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad", http.StatusBadRequest)
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		panic("kaboom")
	})
	mux.HandleFunc("GET /panic-late", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic(errBoom{})
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})
	return mux
}

type errBoom struct{}

func (errBoom) Error() string { return "boom" }

func TestHTTPHandlerLabels(t *testing.T) {
	f := newHTTPFixture(t, testMux())
	for _, tc := range []struct {
		method, path string
		wantStatus   int // 0: the request fails
		wantLabels   []string
		wantSpanName string
		wantSpanErr  bool
	}{
		{"GET", "/items/1", 200, []string{"http.request.method", "GET", "http.response.status_code", "200", "http.route", "/items/{id}", "error.type", ""}, "GET /items/{id}", false},
		{"GET", "/items/2", 200, []string{"http.request.method", "GET", "http.response.status_code", "200", "http.route", "/items/{id}", "error.type", ""}, "GET /items/{id}", false},
		{"FROB", "/any", 200, []string{"http.request.method", "_OTHER", "http.response.status_code", "200", "http.route", "/any", "error.type", ""}, "_OTHER /any", false},
		{"POST", "/fail", 503, []string{"http.request.method", "POST", "http.response.status_code", "503", "http.route", "/fail", "error.type", "503"}, "POST /fail", true},
		{"GET", "/bad", 400, []string{"http.request.method", "GET", "http.response.status_code", "400", "http.route", "/bad", "error.type", ""}, "GET /bad", false},
		{"GET", "/nowhere/42", 404, []string{"http.request.method", "GET", "http.response.status_code", "404", "http.route", "", "error.type", ""}, "GET", false},
		{"GET", "/panic", 500, []string{"http.request.method", "GET", "http.response.status_code", "500", "http.route", "/panic", "error.type", "string"}, "GET /panic", true},
		{"GET", "/panic-late", 0, []string{"http.request.method", "GET", "http.response.status_code", "200", "http.route", "/panic-late", "error.type", "middleware_test.errBoom"}, "GET /panic-late", true},
		{"GET", "/abort", 0, []string{"http.request.method", "GET", "http.response.status_code", "", "http.route", "/abort", "error.type", "http.ErrAbortHandler"}, "GET /abort", true},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			f.spans.Reset()
			before := f.backend.Histogram("http.server.request.duration", tc.wantLabels...).Count
			req, _ := http.NewRequest(tc.method, f.server.URL+tc.path, nil)
			resp, err := f.client.Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tc.wantStatus == 0 {
				if err == nil {
					t.Errorf("request succeeded with %d, want it aborted", resp.StatusCode)
				}
			} else if err != nil || resp.StatusCode != tc.wantStatus {
				t.Fatalf("response = %v, %v; want status %d", resp, err, tc.wantStatus)
			}
			if got := f.backend.Histogram("http.server.request.duration", tc.wantLabels...).Count - before; got != 1 {
				var all []string
				for _, s := range f.backend.Series("http.server.request.duration") {
					all = append(all, fmt.Sprint(s.Labels))
				}
				t.Errorf("series %v counted %d, want 1; series: %v", tc.wantLabels, got, all)
			}
			server := serverSpan(t, f.spans.Ended())
			if server == nil {
				return
			}
			if server.Name() != tc.wantSpanName {
				t.Errorf("server span %q, want %q", server.Name(), tc.wantSpanName)
			}
			if (server.Status().Code == codes.Error) != tc.wantSpanErr {
				t.Errorf("server span status %v, want error %v", server.Status(), tc.wantSpanErr)
			}
			if tc.wantStatus != 0 && attr(server, "http.response.status_code") != attribute.IntValue(tc.wantStatus) {
				t.Errorf("server span status code %v, want %d", attr(server, "http.response.status_code"), tc.wantStatus)
			}
		})
	}
	for _, s := range f.backend.Series("http.server.active_requests") {
		if s.Value() != 0 {
			t.Errorf("active requests %v = %v after all requests, want 0", s.Labels, s.Value())
		}
	}
	if got := f.backend.Counter("http.server.panics", "http.route", "/panic", "error.type", "string"); got != 1 {
		t.Errorf("panics{/panic} = %v, want 1", got)
	}
	if got := f.backend.Counter("http.server.panics", "http.route", "/panic-late", "error.type", "middleware_test.errBoom"); got != 1 {
		t.Errorf("panics{/panic-late} = %v, want 1", got)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "http handler panic") || !strings.Contains(logs, "panic=kaboom") || !strings.Contains(logs, "goroutine ") {
		t.Errorf("panic log without the panic or its stack:\n%s", logs)
	}
	if strings.Count(logs, "http handler panic") != 2 {
		t.Errorf("want 2 panics logged (none for ErrAbortHandler):\n%s", logs)
	}
	// The raw path never becomes a label.
	for _, s := range f.backend.Series("http.server.request.duration") {
		if r, _ := s.Label("http.route"); strings.Contains(r, "42") || strings.Contains(r, "/items/1") {
			t.Errorf("raw path in a route label: %v", s.Labels)
		}
	}
}

func serverSpan(t *testing.T, spans []sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if s.SpanKind() == trace.SpanKindServer {
			return s
		}
	}
	t.Errorf("no server span among %d", len(spans))
	return nil
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// A panic is answered with 500 and the server goes on serving.
func TestHTTPHandlerRecoverKeepsServing(t *testing.T) {
	f := newHTTPFixture(t, testMux())
	for i, want := range []int{500, 200, 500, 200} {
		path := "/items/1"
		if want == 500 {
			path = "/panic"
		}
		resp, err := f.client.Get(f.server.URL + path)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d to %s: %d %q, want %d", i, path, resp.StatusCode, body, want)
		}
	}
}

// A trace crosses the HTTP hop: the client span is the server span's
// parent, and the server span is the parent of spans the handler starts.
func TestHTTPTraceAcrossHop(t *testing.T) {
	var f *httpFixture
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sum/{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		_, span := f.tp.Tracer("test").Start(r.Context(), "inner")
		span.End()
	})
	f = newHTTPFixture(t, mux)
	ctx, root := f.tp.Tracer("test").Start(context.Background(), "root")
	req, _ := http.NewRequestWithContext(ctx, "GET", f.server.URL+"/sum/1/2", nil)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	root.End()
	if len(req.Header) != 0 {
		t.Errorf("the transport modified the caller's request headers: %v", req.Header)
	}

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range f.spans.Ended() {
		byName[s.Name()] = s
	}
	for child, parent := range map[string]string{"GET": "root", "GET /sum/{a}/{b}": "GET", "inner": "GET /sum/{a}/{b}"} {
		c, p := byName[child], byName[parent]
		if c == nil || p == nil {
			t.Fatalf("missing span %q or %q among %v", child, parent, byName)
		}
		if c.Parent().SpanID() != p.SpanContext().SpanID() || c.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %q: parent %v, want %q (%v)", child, c.Parent().SpanID(), parent, p.SpanContext().SpanID())
		}
	}
	client, server := byName["GET"], byName["GET /sum/{a}/{b}"]
	if client.SpanKind() != trace.SpanKindClient || server.SpanKind() != trace.SpanKindServer {
		t.Errorf("kinds: client %v, server %v", client.SpanKind(), server.SpanKind())
	}
	if !server.Parent().IsRemote() {
		t.Error("the server span's parent is not remote")
	}
	for span, want := range map[sdktrace.ReadOnlySpan]map[string]attribute.Value{
		server: {
			"http.request.method":       attribute.StringValue("GET"),
			"http.route":                attribute.StringValue("/sum/{a}/{b}"),
			"url.path":                  attribute.StringValue("/sum/1/2"),
			"http.response.status_code": attribute.IntValue(200),
		},
		client: {
			"http.request.method":       attribute.StringValue("GET"),
			"server.address":            attribute.StringValue("127.0.0.1"),
			"http.response.status_code": attribute.IntValue(200),
		},
	} {
		for k, v := range want {
			if got := attr(span, k); got != v {
				t.Errorf("span %q: %s = %v, want %v", span.Name(), k, got.String(), v.String())
			}
		}
	}
	if n := f.backend.Histogram("http.client.request.duration", "http.request.method", "GET",
		"http.response.status_code", "200", "server.address", "127.0.0.1", "error.type", "").Count; n != 1 {
		t.Errorf("http.client.request.duration count = %d, want 1", n)
	}
}

func TestTransportErrors(t *testing.T) {
	f := newHTTPFixture(t, testMux())
	resp, err := f.client.Get(f.server.URL + "/bad")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := f.backend.Histogram("http.client.request.duration", "http.request.method", "GET",
		"http.response.status_code", "400", "server.address", "127.0.0.1", "error.type", "400").Count; n != 1 {
		t.Errorf("4xx: count = %d, want 1 with error.type 400", n)
	}
	f.server.Close()
	if _, err := f.client.Get(f.server.URL + "/items/1"); err == nil {
		t.Fatal("request to a closed server succeeded")
	}
	var found bool
	for _, s := range f.backend.Series("http.client.request.duration") {
		if et, _ := s.Label("error.type"); strings.HasPrefix(et, "*") {
			found = true
		}
	}
	if !found {
		t.Error("no series with the type of a transport error as error.type")
	}
}

// The wrapped ResponseWriter keeps the optional interfaces of the one it
// wraps, and no more.
func TestHTTPHandlerInterfaces(t *testing.T) {
	type got struct{ flusher, hijacker, readerFrom bool }
	check := func(w http.ResponseWriter) got {
		_, f := w.(http.Flusher)
		_, h := w.(http.Hijacker)
		_, rf := w.(io.ReaderFrom)
		return got{f, h, rf}
	}
	var seen got
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = check(w)
		if seen.hijacker {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
			buf.Flush()
			return
		}
		w.(http.Flusher).Flush()
	})
	h, err := middleware.NewHTTPHandler(inner, middleware.HTTPOptions{Registry: metrics.New(metricstest.New())})
	if err != nil {
		t.Fatal(err)
	}

	// A real server's writer is a Flusher, a Hijacker and a ReaderFrom.
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := (got{true, true, true}); seen != want || string(body) != "hi" {
		t.Errorf("real server: writer %+v, body %q; want %+v, hijacked body \"hi\"", seen, body, want)
	}

	// A ResponseRecorder is a Flusher only.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if want := (got{true, false, false}); seen != want {
		t.Errorf("recorder: writer %+v, want %+v", seen, want)
	}
	if !rec.Flushed {
		t.Error("Flush did not reach the recorder")
	}
}

func TestNewHTTPErrors(t *testing.T) {
	if _, err := middleware.NewHTTPHandler(nil, middleware.HTTPOptions{}); err == nil {
		t.Error("nil handler: no error")
	}
	reg := metrics.New(metricstest.New())
	if _, err := reg.NewCounter(metrics.Opts{Name: "http.server.request.duration"}); err != nil {
		t.Fatal(err)
	}
	_, err := middleware.NewHTTPHandler(http.NotFoundHandler(), middleware.HTTPOptions{Registry: reg})
	if err == nil || !strings.HasPrefix(err.Error(), "middleware: http handler:") {
		t.Errorf("conflicting instrument: err = %v", err)
	}
	if _, err := reg.NewCounter(metrics.Opts{Name: "http.client.request.duration"}); err != nil {
		t.Fatal(err)
	}
	_, err = middleware.NewTransport(nil, middleware.HTTPOptions{Registry: reg})
	if err == nil || !strings.HasPrefix(err.Error(), "middleware: http transport:") {
		t.Errorf("conflicting instrument: err = %v", err)
	}
}
