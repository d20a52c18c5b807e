package influx

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obskit/obskit/internal/push"
)

// httpTransport posts each payload to InfluxDB's /write endpoint. The
// client library's Write takes no context and keeps only the body of a
// failed answer, not its status; the status is what tells a write to
// retry (5xx) from one to drop (4xx), so the request is made here, with
// the same parameters the library sends.
type httpTransport struct {
	client   *http.Client
	url      string // …/write?db=…&rp=…&precision=…&consistency=…
	user     string
	password string

	// After a 5xx or a connection error, no write is tried until the
	// backoff is due. An explicit Flush or Close tries at once
	// (ResetBackoff).
	mu      sync.Mutex
	backoff push.Backoff
}

// maxBackoff bounds the wait between two attempts after failures.
const maxBackoff = time.Minute

func newHTTPTransport(o *Options) (*httpTransport, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("URL %q is not http(s)://host[:port]", o.URL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/write"
	q := url.Values{}
	q.Set("db", o.Database)
	q.Set("rp", o.RetentionPolicy)
	q.Set("precision", o.Precision)
	q.Set("consistency", o.WriteConsistency)
	u.RawQuery = q.Encode()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.TLSConfig != nil {
		tr.TLSClientConfig = o.TLSConfig.Clone()
	} else {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &httpTransport{
		client:   &http.Client{Transport: tr},
		url:      u.String(),
		user:     o.Username,
		password: o.Password,
		backoff:  push.Backoff{Min: max(o.FlushInterval, time.Second), Max: max(o.FlushInterval, maxBackoff)},
	}, nil
}

// Send writes one payload. An answer other than 2xx returns an error with
// the server's message; a 4xx one wraps push.ErrRejected (the same
// payload would be refused again), anything else is retried.
func (h *httpTransport) Send(ctx context.Context, payload []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.backoff.Due() {
		return fmt.Errorf("%w (last error: %v)", push.ErrBackoff, h.backoff.LastErr())
	}
	err := h.write(ctx, payload)
	if err == nil || errors.Is(err, push.ErrRejected) {
		h.backoff.Succeeded()
		return err
	}
	h.backoff.Failed(err)
	return err
}

// ResetBackoff lets the next Send write at once.
func (h *httpTransport) ResetBackoff() {
	h.mu.Lock()
	h.backoff.Reset()
	h.mu.Unlock()
}

func (h *httpTransport) write(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "obskit")
	if h.user != "" {
		req.SetBasicAuth(h.user, h.password)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// An error echoes the line it could not parse, which can be as long
	// as the batch: read it all (bounded) so that the reason at its end
	// is kept, and shorten the message.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg := serverMessage(body)
	if resp.StatusCode/100 == 4 {
		err := fmt.Errorf("%s: %s", resp.Status, msg)
		if m := droppedRE.FindStringSubmatch(msg); m != nil && strings.HasPrefix(msg, "partial write") {
			if n, perr := strconv.Atoi(m[1]); perr == nil {
				return &push.PartialError{Dropped: n, Err: err}
			}
		}
		return fmt.Errorf("%w: %w", push.ErrRejected, err)
	}
	return fmt.Errorf("%s: %s", resp.Status, msg)
}

// droppedRE finds the number of points a partial write dropped.
var droppedRE = regexp.MustCompile(`dropped=(\d+)`)

// maxErrorBody bounds what is read of an error answer; maxMessage bounds
// the message passed on, whose middle (the echoed line) is cut.
const (
	maxErrorBody = 4 << 20
	maxMessage   = 512
)

// serverMessage extracts InfluxDB's {"error": "…"} message, or returns
// the body as it is, shortened to its first and last 256 bytes.
func serverMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if msg == "" {
		return "(no message)"
	}
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage/2]+" … "+msg[len(msg)-maxMessage/2:], "")
	}
	return msg
}

// Close releases idle connections.
func (h *httpTransport) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
