package circonus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"
	"sync"
	"time"

	cgm "github.com/circonus-labs/circonus-gometrics"

	"github.com/obskit/obskit/internal/push"
)

// trap is the push.Transport that hands each payload to
// circonus-gometrics and has it submitted to the HTTPTrap.
//
// A payload is one flush in an internal line format, one line per series
// ("c\tname\t3", "g\tname\t2.5", "h\tname\tv:n v:n …"): it is loaded into
// the CirconusMetrics (Add, SetGauge, RecordCountForValue) and submitted
// with its Flush. circonus-gometrics' Flush reports nothing: it logs.
// It runs here with Debug on and a Logger of our own, and a submission
// counts as delivered only when it logged "N stats sent"; its [ERROR]
// and [WARN] lines are the error. Its own automatic flush is off
// (Interval "0"), so no other Flush can run at the same time and make
// ours return at once without sending; one submission runs at a time.
//
// circonus-gometrics retries a failed PUT 3 times, waiting 1 to 5 s, and
// its request has no deadline, so Flush may take seconds. It runs in a
// goroutine of its own: Send returns when it finishes or when the flush's
// context ends. In the second case the submission goes on; the next Send
// waits for it first, and when it is the same payload (the Pusher retries
// the oldest first) and the submission did deliver it, Send returns nil
// instead of submitting it twice.
type trap struct {
	m   *cgm.CirconusMetrics
	log *logCapture

	mu       sync.Mutex // one Send at a time
	inflight *submission
}

type submission struct {
	payload []byte
	done    chan struct{}
	err     error
}

func newTrap(cfg *cgm.Config) (*trap, error) {
	lc := &logCapture{}
	cfg.Log = log.New(lc, "", 0)
	cfg.Debug = true
	cfg.Interval = "0"
	m, err := cgm.New(cfg)
	if err != nil {
		return nil, err
	}
	return &trap{m: m, log: lc}, nil
}

// Send submits payload.
func (t *trap) Send(ctx context.Context, payload []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.inflight; s != nil {
		select {
		case <-s.done:
		case <-ctx.Done():
			return fmt.Errorf("the previous submission is still running: %w", ctx.Err())
		}
		t.inflight = nil
		if s.err == nil && bytes.Equal(s.payload, payload) {
			return nil // delivered after its flush had given up waiting
		}
	}
	if err := t.load(payload); err != nil {
		return fmt.Errorf("%w: %w", push.ErrRejected, err)
	}
	s := &submission{payload: bytes.Clone(payload), done: make(chan struct{})}
	t.inflight = s
	go func() {
		defer close(s.done)
		s.err = t.submit()
	}()
	select {
	case <-s.done:
		t.inflight = nil
		return s.err
	case <-ctx.Done():
		return fmt.Errorf("submission still running at the flush's deadline (circonus-gometrics retries): %w", ctx.Err())
	}
}

// load records one payload into the CirconusMetrics.
func (t *trap) load(payload []byte) error {
	for len(payload) > 0 {
		line, rest, _ := bytes.Cut(payload, []byte{'\n'})
		payload = rest
		kind, name, value, ok := cut3(string(line))
		if !ok {
			return fmt.Errorf("malformed line %q", line)
		}
		switch kind {
		case "c":
			n, err := strconv.ParseUint(value, 10, 64)
			if err != nil {
				return err
			}
			t.m.Add(name, n)
		case "g":
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return err
			}
			t.m.SetGauge(name, v)
		case "h":
			for _, bin := range strings.Fields(value) {
				vs, ns, ok := strings.Cut(bin, ":")
				if !ok {
					return fmt.Errorf("malformed bin %q", bin)
				}
				v, err := strconv.ParseFloat(vs, 64)
				if err != nil {
					return err
				}
				n, err := strconv.ParseInt(ns, 10, 64)
				if err != nil {
					return err
				}
				t.m.RecordCountForValue(name, v, n)
			}
		default:
			return fmt.Errorf("malformed line %q", line)
		}
	}
	return nil
}

func cut3(s string) (a, b, c string, ok bool) {
	a, rest, ok1 := strings.Cut(s, "\t")
	b, c, ok2 := strings.Cut(rest, "\t")
	return a, b, c, ok1 && ok2
}

// submit runs circonus-gometrics' Flush and reads its outcome from what
// it logged.
func (t *trap) submit() error {
	t.log.reset()
	t.m.Flush()
	lines := t.log.take()
	var problems []string
	sent := false
	for _, l := range lines {
		switch {
		case strings.Contains(l, "stats sent"):
			sent = true
		case strings.HasPrefix(l, "[ERROR]") || strings.HasPrefix(l, "[WARN]"):
			problems = append(problems, l)
		}
	}
	if sent && len(problems) == 0 {
		return nil
	}
	if len(problems) == 0 {
		problems = []string{"circonus-gometrics' Flush returned without submitting"}
	}
	err := errors.New(strings.Join(problems, "; "))
	for _, p := range problems {
		if i := strings.Index(p, "bad response code: "); i >= 0 && strings.HasPrefix(p[i+len("bad response code: "):], "4") {
			return fmt.Errorf("%w: %w", push.ErrRejected, err)
		}
	}
	return err
}

// Close waits a little for a submission still running, so that it is
// not cut short needlessly; circonus-gometrics gives it no deadline, so
// one to an unresponsive trap is abandoned after that.
func (t *trap) Close() error { return t.CloseContext(context.Background()) }

// CloseContext is Close that also gives up when ctx ends, so that the
// Backend's Close returns by its ctx's deadline.
func (t *trap) CloseContext(ctx context.Context) error {
	t.mu.Lock()
	s := t.inflight
	t.mu.Unlock()
	if s != nil {
		timer := time.NewTimer(closeWait)
		defer timer.Stop()
		select {
		case <-s.done:
		case <-timer.C:
		case <-ctx.Done():
		}
	}
	return nil
}

const closeWait = 2 * time.Second

// logCapture keeps the first line of each message circonus-gometrics
// logs (its %+v errors carry a stack trace on the following lines).
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (c *logCapture) Write(p []byte) (int, error) {
	line, _, _ := strings.Cut(string(p), "\n")
	c.mu.Lock()
	c.lines = append(c.lines, strings.TrimSpace(line))
	c.mu.Unlock()
	return len(p), nil
}

func (c *logCapture) reset() { c.mu.Lock(); c.lines = c.lines[:0]; c.mu.Unlock() }

func (c *logCapture) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}
