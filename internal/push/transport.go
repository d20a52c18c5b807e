package push

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// Transport delivers payloads to a server. A Pusher calls Send for one
// payload at a time, in order, and Close once; Send returns an error when
// the payload was not delivered and should be retried.
type Transport interface {
	Send(ctx context.Context, payload []byte) error
	Close() error
}

// ContextCloser is implemented by a Transport whose Close may wait (for
// a request under way); Pusher.Close calls CloseContext with its own ctx
// instead of Close, so that it returns by the ctx's deadline.
type ContextCloser interface {
	CloseContext(ctx context.Context) error
}

// backoffResetter is implemented by transports that wait between
// reconnection attempts; an explicit Flush or Close skips the wait.
type backoffResetter interface{ ResetBackoff() }

// ErrBackoff reports a payload not sent because the transport is waiting
// before its next reconnection attempt.
var ErrBackoff = errors.New("waiting to reconnect")

// UDP sends each payload as one datagram to a fixed address. The socket
// is opened on the first Send, so a name that does not resolve yet is a
// delivery error, not a construction error.
type UDP struct {
	addr string
	mu   sync.Mutex
	conn net.Conn
}

// NewUDP returns a transport to addr (host:port).
func NewUDP(addr string) *UDP { return &UDP{addr: addr} }

// MaxDatagram is the largest payload a UDP datagram can carry over IPv4.
const MaxDatagram = 65507

// Send writes payload as one datagram. A payload no datagram can carry
// (a single line longer than MaxDatagram, or one the kernel refuses as
// too long) is refused with an error wrapping ErrRejected: sending it
// again would fail again.
func (u *UDP) Send(ctx context.Context, payload []byte) error {
	if len(payload) > MaxDatagram {
		return fmt.Errorf("%w: a datagram of %d bytes (the longest is %d): a line longer than a datagram", ErrRejected, len(payload), MaxDatagram)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.conn == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "udp", u.addr)
		if err != nil {
			return err
		}
		u.conn = c
	}
	if dl, ok := ctx.Deadline(); ok {
		u.conn.SetWriteDeadline(dl)
	} else {
		u.conn.SetWriteDeadline(time.Time{})
	}
	_, err := u.conn.Write(payload)
	if errors.Is(err, syscall.EMSGSIZE) {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return err
}

// Close closes the socket.
func (u *UDP) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.conn == nil {
		return nil
	}
	err := u.conn.Close()
	u.conn = nil
	return err
}

// TCPOptions configures a TCP transport. Zero fields take the defaults.
type TCPOptions struct {
	// DialTimeout bounds one connection attempt; default 5 s (and never
	// past the deadline of the flush's context).
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed attempts:
	// it starts at MinBackoff (default 100 ms), doubles on each failure up
	// to MaxBackoff (default 10 s), and is jittered to between half and
	// all of that.
	MinBackoff, MaxBackoff time.Duration
}

// TCP writes payloads to one TCP stream and reconnects after a failure
// with exponential backoff and jitter.
type TCP struct {
	addr string
	o    TCPOptions

	mu      sync.Mutex
	conn    net.Conn
	backoff Backoff // between failed dials
}

// NewTCP returns a transport to addr (host:port). It does not dial.
func NewTCP(addr string, o TCPOptions) *TCP {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	return &TCP{addr: addr, o: o, backoff: Backoff{Min: o.MinBackoff, Max: o.MaxBackoff}}
}

// ResetBackoff lets the next Send dial at once.
func (t *TCP) ResetBackoff() {
	t.mu.Lock()
	t.backoff.Reset()
	t.mu.Unlock()
}

// Send writes payload to the stream, dialling first when there is no
// connection. Before writing to an existing connection it checks,
// without blocking, that the server has not closed it, so that a payload
// is not written into a connection already known to be dead.
func (t *TCP) Send(ctx context.Context, payload []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil && !connAlive(t.conn) {
		t.conn.Close()
		t.conn = nil
	}
	if t.conn == nil {
		if err := t.dial(ctx); err != nil {
			return err
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		t.conn.SetWriteDeadline(dl)
	} else {
		t.conn.SetWriteDeadline(time.Time{})
	}
	// A write blocked on a server that does not read ends when ctx is
	// cancelled, not only at its deadline.
	conn := t.conn
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := conn.Write(payload)
	stop() // a deadline it set is replaced by the next Send
	if err != nil {
		// Part of the payload may have arrived; the server discards an
		// incomplete last line when the connection ends. Redial at once
		// on the next Send.
		t.conn.Close()
		t.conn = nil
		return err
	}
	return nil
}

func (t *TCP) dial(ctx context.Context) error {
	if !t.backoff.Due() {
		return fmt.Errorf("%w to %s (last error: %v)", ErrBackoff, t.addr, t.backoff.LastErr())
	}
	d := net.Dialer{Timeout: t.o.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		t.backoff.Failed(err)
		return err
	}
	t.conn = c
	t.backoff.Succeeded()
	return nil
}

// Close closes the connection.
func (t *TCP) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		return nil
	}
	err := t.conn.Close()
	t.conn = nil
	return err
}
