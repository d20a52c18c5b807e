package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obskit/obskit/metrics"
)

// Flusher formats one flush: it reads and resets the backend's series and
// adds one line per value to the Batch. A backend that delivers through
// its own client instead does that here and returns the delivery error.
type Flusher interface {
	AppendFlush(b *Batch) error
}

// FlusherFunc adapts a function to a Flusher.
type FlusherFunc func(b *Batch) error

// AppendFlush calls f.
func (f FlusherFunc) AppendFlush(b *Batch) error { return f(b) }

// Defaults of Options.
const (
	DefaultMaxPacketSize    = 1432
	DefaultMaxQueuedFlushes = 10
	DefaultErrorInterval    = 30 * time.Second
)

// Options configures a Pusher.
type Options struct {
	// Name prefixes error messages ("statsd", "graphite").
	Name string
	// FlushInterval is the time between two flushes of the loop.
	// Required.
	FlushInterval time.Duration
	// Timeout bounds a flush of the loop, and a Flush or Close whose
	// context has no deadline; 0 means FlushInterval.
	Timeout time.Duration
	// MaxPayloadSize bounds a payload (a datagram, or one write to a
	// stream); 0 means DefaultMaxPacketSize.
	MaxPayloadSize int
	// MaxQueuedFlushes is the number of flushes whose unsent payloads
	// are kept for the next attempt; 0 means DefaultMaxQueuedFlushes, and
	// a negative value keeps none (a payload that fails is dropped).
	MaxQueuedFlushes int
	// ErrorHandler receives delivery errors, which wrap
	// metrics.ErrDelivery, at most once per ErrorInterval (0 means
	// DefaultErrorInterval). It is called from the flushing goroutine
	// and must not block for long. Nil drops them; Stats still counts.
	ErrorHandler  func(error)
	ErrorInterval time.Duration
	// Now returns the time of a flush; nil means time.Now.
	Now func() time.Time
}

// ErrClosed is returned by Flush after Close. It wraps
// metrics.ErrDelivery: nothing was delivered.
var ErrClosed = fmt.Errorf("backend closed: %w", metrics.ErrDelivery)

// NotNew returns the error that every method of a backend's Backend not
// made by its New (new(Backend), a zero Backend, a nil *Backend) returns
// instead of panicking. It wraps metrics.ErrInvalidOption and starts with
// name, the backend's package name.
func NotNew(name string) error {
	return fmt.Errorf("%s: %w: Backend not made by New", name, metrics.ErrInvalidOption)
}

// ErrRejected, wrapped in an error from Transport.Send, says that the
// server refused the payload for good (an HTTP 4xx): it is dropped and
// counted in Stats.DroppedRejected instead of being retried, and the
// next payload is sent.
var ErrRejected = errors.New("rejected by the server")

// Pusher runs a backend's flushes: on an interval in its own goroutine,
// and on Flush and Close. It is safe for concurrent use.
type Pusher struct {
	o     Options
	store *Store
	f     Flusher
	t     Transport

	stop chan struct{}
	done chan struct{}
	// loopCtx is the parent of the loop's flushes; Close cancels it so
	// that a flush stuck on a server that never reads ends at once.
	loopCtx    context.Context
	cancelLoop context.CancelFunc

	closeOnce sync.Once
	closeDone chan struct{} // closed when the first Close returns
	closed    atomic.Bool

	sem     chan struct{} // one flush at a time; held guards what follows
	final   bool          // Close's flush is running
	queue   [][]payload   // unsent payloads of whole flushes, oldest first
	free    [][]byte
	scratch []byte
	limit   ReportLimiter // of the errors handed to ErrorHandler

	flushes, flushErrors, sent, bytes atomic.Uint64
	droppedQueue, droppedClosed       atomic.Uint64
	droppedSampled, droppedRejected   atomic.Uint64
	droppedWrite                      atomic.Uint64 // see wireclient.go
	queued                            atomic.Int64
	lastErr                           atomic.Pointer[error]
}

// New returns a Pusher that flushes f's lines through t every
// o.FlushInterval until Close. store, when not nil, is closed by Close
// and its recordings after Close are counted. t may be nil when f
// delivers by itself.
func New(store *Store, f Flusher, t Transport, o Options) (*Pusher, error) {
	if o.FlushInterval <= 0 {
		return nil, fmt.Errorf("%s: flush interval %v ≤ 0: %w", o.Name, o.FlushInterval, metrics.ErrInvalidOption)
	}
	if o.MaxPayloadSize < 0 {
		return nil, fmt.Errorf("%s: max packet size %d < 0: %w", o.Name, o.MaxPayloadSize, metrics.ErrInvalidOption)
	}
	if o.MaxPayloadSize == 0 {
		o.MaxPayloadSize = DefaultMaxPacketSize
	}
	if o.MaxQueuedFlushes == 0 {
		o.MaxQueuedFlushes = DefaultMaxQueuedFlushes
	}
	if o.ErrorInterval <= 0 {
		o.ErrorInterval = DefaultErrorInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = o.FlushInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Pusher{o: o, store: store, f: f, t: t, stop: make(chan struct{}), done: make(chan struct{}),
		closeDone: make(chan struct{}), sem: make(chan struct{}, 1), limit: ReportLimiter{Interval: o.ErrorInterval}}
	p.loopCtx, p.cancelLoop = context.WithCancel(context.Background())
	go p.loop()
	return p, nil
}

func (p *Pusher) loop() {
	defer close(p.done)
	tick := time.NewTicker(p.o.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(p.loopCtx, p.o.Timeout)
			if p.lock(ctx) == nil {
				if !p.closed.Load() {
					p.flush(ctx, false)
				}
				p.unlock()
			}
			cancel()
		}
	}
}

// lock takes the flush lock, or returns ctx's error when ctx ends first:
// a Flush never waits past its own deadline for another flush.
func (p *Pusher) lock(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w: waiting for another flush: %w", p.o.Name, metrics.ErrDelivery, ctx.Err())
	}
}

func (p *Pusher) unlock() { <-p.sem }

// Flush delivers everything recorded so far, and what earlier flushes
// left queued, and returns when it is written or failed. The error wraps
// metrics.ErrDelivery. A ctx already done takes nothing from the series
// (the next flush sends it); a ctx that ends while another flush runs
// ends the wait. After Close it returns ErrClosed.
func (p *Pusher) Flush(ctx context.Context) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w: %w", p.o.Name, metrics.ErrDelivery, err)
	}
	// Close cancels a Flush under way, so that it can take the lock at
	// once; what the Flush leaves queued, Close delivers.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.loopCtx, cancel)
	defer stop()
	if err := p.lock(ctx); err != nil {
		return err
	}
	defer p.unlock()
	if p.closed.Load() {
		return ErrClosed
	}
	return p.flush(ctx, true)
}

// Close stops recording (later recordings are counted in DroppedClosed),
// cancels any flush under way, flushes a last time, stops the
// loop and closes the Transport. What it cannot deliver is counted in
// DroppedClosed and the error returned. Another Close, concurrent or
// later, waits for the first (or its own ctx) and returns nil.
func (p *Pusher) Close(ctx context.Context) error {
	first := false
	p.closeOnce.Do(func() { first = true })
	if !first {
		select {
		case <-p.closeDone:
		case <-ctx.Done():
		}
		return nil
	}
	defer close(p.closeDone)
	p.closed.Store(true)
	if p.store != nil {
		p.store.Close()
	}
	close(p.stop)
	p.cancelLoop()
	<-p.done

	// Every other flush has been cancelled: the lock comes at once, and
	// the final flush runs (and counts what it cannot deliver) even when
	// ctx has ended meanwhile.
	p.sem <- struct{}{}
	defer p.unlock()
	p.final = true
	err := p.flush(ctx, true)
	var lost uint64
	for _, f := range p.queue {
		for _, pl := range f {
			lost += uint64(pl.lines)
		}
	}
	p.queue = nil
	p.queued.Store(0)
	p.droppedClosed.Add(lost)
	if p.t != nil {
		var cerr error
		if cc, ok := p.t.(ContextCloser); ok {
			cerr = cc.CloseContext(ctx)
		} else {
			cerr = p.t.Close()
		}
		if cerr != nil && err == nil {
			err = p.fail(fmt.Errorf("close: %w", cerr))
		}
	}
	return err
}

// flush runs one flush with the flush lock held. A ctx without a deadline gets
// Options.Timeout, so that a server that accepts but never reads cannot
// hold Flush or Close forever.
func (p *Pusher) flush(ctx context.Context, explicit bool) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.o.Timeout)
		defer cancel()
	}
	p.flushes.Add(1)
	b := p.batch()
	ferr := p.f.AppendFlush(b)
	p.scratch = b.scratch
	if ferr != nil {
		ferr = p.fail(ferr)
	}
	if p.t == nil {
		p.recycle(b.payloads)
		return ferr
	}
	if len(b.payloads) > 0 {
		p.queue = append(p.queue, b.payloads)
	}
	if len(p.queue) == 0 {
		return ferr
	}
	// A flush with nothing new still retries what earlier ones left.
	if explicit {
		if r, ok := p.t.(backoffResetter); ok {
			r.ResetBackoff()
		}
	}
	err := p.send(ctx)
	if limit := max(p.o.MaxQueuedFlushes, 0); len(p.queue) > limit {
		// The newest flush is not dropped while it waits alone unless the
		// queue keeps nothing at all.
		n := len(p.queue) - limit
		var lost uint64
		for _, f := range p.queue[:n] {
			for _, pl := range f {
				lost += uint64(pl.lines)
			}
			p.recycle(f)
		}
		p.queue = slices.Delete(p.queue, 0, n)
		p.droppedQueue.Add(lost)
		p.report(fmt.Errorf("%s: %w: %d values dropped: %d flushes are waiting already (MaxQueuedFlushes)", p.o.Name, metrics.ErrDelivery, lost, limit))
	}
	var q int64
	for _, f := range p.queue {
		q += int64(len(f))
	}
	p.queued.Store(q)
	if err != nil {
		if !p.final && p.loopCtx.Err() != nil {
			// Close cancelled this flush: what it did not send stays
			// queued for Close's own flush, which reports.
			return errors.Join(ferr, fmt.Errorf("%s: %w: %w", p.o.Name, metrics.ErrDelivery, err))
		}
		err = p.fail(err)
	}
	return errors.Join(ferr, err)
}

// send delivers the queue, oldest first, until a payload fails; a
// rejected payload (ErrRejected) is dropped and the next one sent, and
// of a partly rejected one (PartialError) only the lines refused are
// counted as dropped.
func (p *Pusher) send(ctx context.Context) (rejected error) {
	for len(p.queue) > 0 {
		f := p.queue[0]
		for len(f) > 0 {
			if err := p.t.Send(ctx, f[0].b); err != nil {
				if errors.Is(err, ErrRejected) {
					lost := f[0].lines
					var pe *PartialError
					if errors.As(err, &pe) && pe.Dropped >= 0 && pe.Dropped < lost {
						lost = pe.Dropped
						p.sent.Add(uint64(f[0].lines - lost))
						p.bytes.Add(uint64(len(f[0].b)))
					}
					p.droppedRejected.Add(uint64(lost))
					p.free = append(p.free, f[0].b)
					f = f[1:]
					rejected = errors.Join(rejected, err)
					continue
				}
				p.queue[0] = f
				return errors.Join(rejected, err)
			}
			p.sent.Add(uint64(f[0].lines))
			p.bytes.Add(uint64(len(f[0].b)))
			p.free = append(p.free, f[0].b)
			f = f[1:]
		}
		p.queue = slices.Delete(p.queue, 0, 1)
	}
	return rejected
}

func (p *Pusher) batch() *Batch {
	return &Batch{Now: p.o.Now(), max: p.o.MaxPayloadSize, free: &p.free, scratch: p.scratch}
}

func (p *Pusher) recycle(f []payload) {
	for _, pl := range f {
		p.free = append(p.free, pl.b)
	}
}

// fail counts a failed flush, keeps err as the last error and reports it
// (rate-limited); it returns err wrapped in metrics.ErrDelivery.
func (p *Pusher) fail(err error) error {
	if !errors.Is(err, metrics.ErrDelivery) {
		err = fmt.Errorf("%s: %w: %w", p.o.Name, metrics.ErrDelivery, err)
	}
	p.flushErrors.Add(1)
	p.lastErr.Store(&err)
	p.report(err)
	return err
}

// report passes err to the ErrorHandler unless one was passed less than
// ErrorInterval ago; the errors held back are counted in the next one.
func (p *Pusher) report(err error) {
	if p.o.ErrorHandler == nil {
		return
	}
	if err = p.limit.Pass(time.Now(), err); err != nil {
		p.o.ErrorHandler(err)
	}
}

// WriteTo runs one flush and writes its lines to w instead of the
// Transport, leaving the queue alone. It returns the bytes written.
func (p *Pusher) WriteTo(w io.Writer) (int64, error) {
	p.sem <- struct{}{}
	defer p.unlock()
	p.flushes.Add(1)
	b := p.batch()
	ferr := p.f.AppendFlush(b)
	p.scratch = b.scratch
	var n int64
	var err error
	for i, pl := range b.payloads {
		var m int
		m, err = w.Write(pl.b)
		n += int64(m)
		if err != nil {
			for _, rest := range b.payloads[i:] {
				p.droppedQueue.Add(uint64(rest.lines))
			}
			break
		}
		p.sent.Add(uint64(pl.lines))
		p.bytes.Add(uint64(m))
	}
	p.recycle(b.payloads)
	return n, errors.Join(ferr, err)
}

// CountSampled adds n to Stats.DroppedSampled: raw values a backend
// represented by a sample rate instead of sending them.
func (p *Pusher) CountSampled(n uint64) { p.droppedSampled.Add(n) }

// CountRejected adds n to Stats.DroppedRejected.
func (p *Pusher) CountRejected(n uint64) { p.droppedRejected.Add(n) }

// Stats returns the delivery report.
func (p *Pusher) Stats() Stats {
	s := Stats{
		Flushes:          p.flushes.Load(),
		FlushErrors:      p.flushErrors.Load(),
		Sent:             p.sent.Load(),
		BytesSent:        p.bytes.Load(),
		Queued:           int(p.queued.Load()),
		DroppedQueueFull: p.droppedQueue.Load(),
		DroppedRejected:  p.droppedRejected.Load(),
		DroppedSampled:   p.droppedSampled.Load(),
		DroppedWrite:     p.droppedWrite.Load(),
		DroppedClosed:    p.droppedClosed.Load(),
	}
	if p.store != nil {
		s.DroppedClosed += p.store.DroppedClosed()
	}
	if e := p.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}
