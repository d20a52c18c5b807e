package middleware

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/felixge/httpsnoop"
)

// http1Writer is every optional interface that the ResponseWriter of
// net/http's HTTP/1 server implements (its unexported *http.response),
// beside http.ResponseWriter itself.
type http1Writer interface {
	http.ResponseWriter
	http.Flusher
	FlushError() error
	CloseNotify() <-chan bool // http.CloseNotifier, deprecated but implemented by net/http's writer
	http.Hijacker
	io.ReaderFrom
	io.StringWriter
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	EnableFullDuplex() error
}

// wrapWriter returns the ResponseWriter that the handler's next sees,
// which records the response in the returned state, and implements
// exactly the optional interfaces of w.
//
// net/http's HTTP/1 writer, the one nearly every request comes with,
// gets statusWriter: one allocation per request. Any other, such as the
// HTTP/2 server's (a Pusher) or a test's recorder, is wrapped by
// httpsnoop, which builds the wrapper of the exact combination of
// interfaces from closures: about twenty allocations per request, which
// under load made a tenth of the HTTP middleware's garbage.
func wrapWriter(w http.ResponseWriter) (http.ResponseWriter, *responseState) {
	if hw, ok := w.(http1Writer); ok {
		if _, push := w.(http.Pusher); !push {
			sw := &statusWriter{w: hw}
			return sw, &sw.st
		}
	}
	st := new(responseState)
	return httpsnoop.Wrap(w, st.hooks()), st
}

// statusWriter wraps a writer that implements http1Writer and nothing
// more (no http.Pusher), and records its response in st as the hooks of
// responseState do.
type statusWriter struct {
	w  http1Writer
	st responseState
}

var _ http1Writer = (*statusWriter)(nil)

func (s *statusWriter) Header() http.Header { return s.w.Header() }

func (s *statusWriter) WriteHeader(code int) {
	s.st.header(code)
	s.w.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.st.wrote()
	return s.w.Write(b)
}

func (s *statusWriter) WriteString(str string) (int, error) {
	s.st.wrote()
	return s.w.WriteString(str)
}

func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	s.st.wrote()
	return s.w.ReadFrom(src)
}

func (s *statusWriter) Flush() {
	s.st.wrote()
	s.w.Flush()
}

func (s *statusWriter) FlushError() error {
	s.st.wrote()
	return s.w.FlushError()
}

func (s *statusWriter) CloseNotify() <-chan bool { return s.w.CloseNotify() }

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := s.w.Hijack()
	if err == nil {
		s.st.hijacked = true
	}
	return c, rw, err
}

func (s *statusWriter) SetReadDeadline(t time.Time) error  { return s.w.SetReadDeadline(t) }
func (s *statusWriter) SetWriteDeadline(t time.Time) error { return s.w.SetWriteDeadline(t) }
func (s *statusWriter) EnableFullDuplex() error            { return s.w.EnableFullDuplex() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.w }
