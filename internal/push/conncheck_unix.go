//go:build unix

package push

import (
	"errors"
	"net"
	"syscall"
)

// connAlive reports whether the peer has not closed c, with one
// non-blocking read on its socket (the servers obskit pushes to never
// write back, so any byte read is discarded). A deadline in the past
// cannot do this: Go's poller then fails the read before trying it.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, err := syscall.Read(int(fd), buf[:])
		switch {
		case n == 0 && err == nil: // EOF
			alive = false
		case err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR):
			alive = false
		}
		return true
	})
	return alive && err == nil
}
