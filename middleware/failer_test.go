package middleware_test

import (
	"errors"
	"testing"

	"github.com/obskit/obskit/middleware"
)

type value struct{ err error }

func (v value) Failed() error { return v.err }

type pointer struct{ err error }

func (p *pointer) Failed() error { return p.err }

func TestFailedFunc(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		f    func() error // calls FailedFunc's function with a failing value; nil when it has none
		want bool
	}{
		{"int", nilFunc(middleware.FailedFunc[int]()), false},
		{"struct without Failed", nilFunc(middleware.FailedFunc[struct{}]()), false},
		{"value receiver", call(middleware.FailedFunc[value](), value{boom}), true},
		{"pointer to value receiver", call(middleware.FailedFunc[*value](), &value{boom}), true},
		{"pointer receiver", call(middleware.FailedFunc[*pointer](), &pointer{boom}), true},
		{"value of pointer receiver", nilFunc(middleware.FailedFunc[pointer]()), false},
		{"any", call[any](middleware.FailedFunc[any](), &pointer{boom}), true},
		{"Failer interface", call[middleware.Failer](middleware.FailedFunc[middleware.Failer](), &pointer{boom}), true},
		{"Failed with another signature", nilFunc(middleware.FailedFunc[otherFailed]()), false},
	} {
		if (tc.f != nil) != tc.want {
			t.Errorf("FailedFunc[%s]() != nil is %v, want %v", tc.name, tc.f != nil, tc.want)
			continue
		}
		if tc.f != nil && tc.f() != boom {
			t.Errorf("FailedFunc[%s]()(failing value) = %v, want boom", tc.name, tc.f())
		}
	}
}

type otherFailed struct{}

func (otherFailed) Failed() bool { return true }

func call[R any](f func(R) error, r R) func() error {
	if f == nil {
		return nil
	}
	return func() error { return f(r) }
}

func nilFunc[R any](f func(R) error) func() error {
	var zero R
	return call(f, zero)
}

// FailedFunc's function does not box a value response.
func TestFailedFuncAllocs(t *testing.T) {
	f := middleware.FailedFunc[value]()
	v := value{errors.New("boom")}
	if n := testing.AllocsPerRun(100, func() { _ = f(v) }); n != 0 {
		t.Errorf("%v allocs, want 0", n)
	}
}

func TestBusinessError(t *testing.T) {
	boom := errors.New("boom")
	if err := middleware.BusinessError(value{boom}); err != boom {
		t.Errorf("BusinessError(value) = %v, want boom", err)
	}
	if err := middleware.BusinessError[any](&pointer{boom}); err != boom {
		t.Errorf("BusinessError[any](*pointer) = %v, want boom", err)
	}
	if err := middleware.BusinessError[any](nil); err != nil {
		t.Errorf("BusinessError[any](nil) = %v, want nil", err)
	}
	if err := middleware.BusinessError(3); err != nil {
		t.Errorf("BusinessError(3) = %v, want nil", err)
	}
}
