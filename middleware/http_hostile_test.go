package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/obskit/obskit/middleware"
)

// TestHTTPHandlerHostileHeadersMemory: 1 000 requests whose User-Agent
// is 1 MB (each in memory of its own, as net/http reads it off the wire)
// and whose path and Host are 64 KB, through the handler with a recorder
// that keeps every span, as a batch queue does until export. The heap
// must stay flat: the spans keep only truncated copies.
func TestHTTPHandlerHostileHeadersMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 1 GB in total")
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {})
	h, err := middleware.NewHTTPHandler(mux, middleware.HTTPOptions{Tracer: tp.Tracer("hostile")})
	if err != nil {
		t.Fatal(err)
	}

	const requests = 1000
	ua := strings.Repeat("u", 1<<20)
	long := strings.Repeat("p", 64<<10)
	before := heapInUse()
	for range requests {
		r := httptest.NewRequest("BREW", "/"+long, nil)
		r.Header.Set("User-Agent", strings.Clone(ua))
		r.Host = strings.Clone(long) + ".example"
		r.Method = strings.Clone(r.Method + long)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	growth := int64(heapInUse()) - int64(before)
	spans := rec.Ended()
	if len(spans) != requests {
		t.Fatalf("%d spans, want %d", len(spans), requests)
	}
	// A span's request-derived attributes are at most 3 × 1 KB and a
	// 64-byte method: 1 000 of them about 3 MB.
	const limit = 16 << 20
	if growth > limit {
		t.Errorf("heap grew by %d MB over %d requests, want at most %d MB", growth>>20, requests, limit>>20)
	}
	for _, a := range spans[0].Attributes() {
		if n := len(a.Value.String()); n > middleware.MaxAttributeLen {
			t.Errorf("attribute %s is %d bytes, want at most %d", a.Key, n, middleware.MaxAttributeLen)
		}
	}
	runtime.KeepAlive(spans)
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
