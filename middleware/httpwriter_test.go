package middleware_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/metrics"
	"github.com/obskit/obskit/metrics/metricstest"
	"github.com/obskit/obskit/middleware"
)

// writerInterfaces names the optional interfaces a ResponseWriter
// implements.
func writerInterfaces(w http.ResponseWriter) map[string]bool {
	_, flush := w.(http.Flusher)
	_, flushErr := w.(interface{ FlushError() error })
	_, closeNotify := w.(interface{ CloseNotify() <-chan bool }) // http.CloseNotifier, deprecated
	_, hijack := w.(http.Hijacker)
	_, readFrom := w.(io.ReaderFrom)
	_, writeString := w.(io.StringWriter)
	_, push := w.(http.Pusher)
	_, deadlines := w.(interface {
		SetReadDeadline(time.Time) error
		SetWriteDeadline(time.Time) error
	})
	_, duplex := w.(interface{ EnableFullDuplex() error })
	return map[string]bool{
		"Flusher": flush, "FlushError": flushErr, "CloseNotifier": closeNotify,
		"Hijacker": hijack, "ReaderFrom": readFrom, "StringWriter": writeString,
		"Pusher": push, "deadlines": deadlines, "EnableFullDuplex": duplex,
	}
}

// The wrapped writer implements exactly the optional interfaces of the
// one it wraps, on HTTP/1 (statusWriter), HTTP/2 and a recorder
// (httpsnoop), and records the status whichever way it is written.
func TestHTTPHandlerWriterInterfaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
		want  string // the status label recorded
	}{
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }, "202"},
		{"Write", func(w http.ResponseWriter) { w.Write([]byte("x")) }, "200"},
		{"WriteString", func(w http.ResponseWriter) { io.WriteString(w, "x"); w.WriteHeader(http.StatusTeapot) }, "200"},
		{"ReadFrom", func(w http.ResponseWriter) {
			if rf, ok := w.(io.ReaderFrom); ok {
				rf.ReadFrom(strings.NewReader("x"))
			} else {
				w.Write([]byte("x"))
			}
			w.WriteHeader(http.StatusTeapot)
		}, "200"},
		{"ResponseController", func(w http.ResponseWriter) {
			rc := http.NewResponseController(w)
			rc.SetWriteDeadline(time.Now().Add(time.Minute))
			rc.Flush()
			w.WriteHeader(http.StatusTeapot)
		}, "200"},
		{"1xx then 201", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, "201"},
	} {
		for _, server := range []string{"http1", "http2", "recorder"} {
			t.Run(tc.name+"/"+server, func(t *testing.T) {
				be := metricstest.New()
				var outer, inner map[string]bool
				h, err := middleware.NewHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					inner = writerInterfaces(w)
					tc.write(w)
				}), middleware.HTTPOptions{Registry: metrics.New(be)})
				if err != nil {
					t.Fatal(err)
				}
				top := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					outer = writerInterfaces(w)
					h.ServeHTTP(w, r)
				})
				switch server {
				case "recorder":
					top.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
				default:
					srv := httptest.NewUnstartedServer(top)
					// The cases that write a status after the body make
					// net/http log "superfluous WriteHeader call".
					srv.Config.ErrorLog = log.New(io.Discard, "", 0)
					if server == "http2" {
						srv.EnableHTTP2 = true
						srv.StartTLS()
					} else {
						srv.Start()
					}
					defer srv.Close()
					resp, err := srv.Client().Get(srv.URL)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if (server == "http2") != (resp.ProtoMajor == 2) {
						t.Fatalf("served over %s", resp.Proto)
					}
				}
				for k, v := range outer {
					if inner[k] != v {
						t.Errorf("%s: wrapped writer %v, original %v", k, inner[k], v)
					}
				}
				if server == "http1" && !outer["Hijacker"] {
					t.Errorf("HTTP/1 writer is not a Hijacker: %v", outer)
				}
				var status string
				for _, s := range be.Series("http.server.request.duration") {
					status, _ = s.Label("http.response.status_code")
				}
				if status != tc.want {
					t.Errorf("status recorded %q, want %q", status, tc.want)
				}
			})
		}
	}
}
