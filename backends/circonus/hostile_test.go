package circonus

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/internal/pushtest"
)

// counterSink shows a receiver's counters as "value name" lines, one per
// series, for pushtest.
type counterSink struct{ r *receiver }

func (s counterSink) Addr() string { return s.r.url() }

func (s counterSink) Lines() []string {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	var out []string
	for n, v := range s.r.counters {
		out = append(out, fmt.Sprintf("%d %s", v, n))
	}
	slices.Sort(out)
	return out
}

func parseCounter(l string) (float64, bool) {
	v, name, ok := strings.Cut(l, " ")
	if !ok {
		return 0, false
	}
	if _, _, err := parseName(name); err != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

func TestHostileLabelValues(t *testing.T) {
	rcv := newReceiver(t, false)
	b, err := New(Options{URL: rcv.url(), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(t.Context())
	pushtest.Hostile(t, b, counterSink{rcv}, parseCounter)
}

func TestRecordingRacesFlushAndClose(t *testing.T) {
	rcv := newReceiver(t, false)
	b, err := New(Options{URL: rcv.url(), FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.Race(t, b, counterSink{rcv}, parseCounter)
}

// Close returns by its ctx's deadline also while circonus-gometrics'
// submission (which takes no ctx) waits on the server; that submission
// ends when the server goes away, and goleak checks it does.
func TestServerThatNeverReads(t *testing.T) {
	var b *Backend
	t.Cleanup(func() { // runs after the server's cleanup has closed it
		b.trap.mu.Lock()
		s := b.trap.inflight
		b.trap.mu.Unlock()
		if s != nil {
			select {
			case <-s.done:
			case <-time.After(20 * time.Second):
				t.Error("abandoned submission still running 20 s after the server went away")
			}
		}
	})
	addr := pushtest.NeverReads(t)
	var err error
	b, err = New(Options{URL: "http://" + addr + "/module/httptrap/x/y", FlushInterval: time.Hour, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	pushtest.NeverRead(t, b)
}
