package pushtest

import (
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// VerifyTestMain runs a backend package's tests and fails them when a
// goroutine outlives them, except the idle keep-alive connections of
// net/http's shared transport that readers of real servers leave.
func VerifyTestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
}

// Errors keeps what an ErrorHandler receives; Handle is the handler.
type Errors struct {
	mu   sync.Mutex
	errs []error
}

// Handle keeps err. It is safe for concurrent use.
func (e *Errors) Handle(err error) { e.mu.Lock(); e.errs = append(e.errs, err); e.mu.Unlock() }

// All returns the errors received so far.
func (e *Errors) All() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.errs...)
}
