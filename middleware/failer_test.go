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

func TestCanFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"int", middleware.CanFail[int](), false},
		{"struct without Failed", middleware.CanFail[struct{}](), false},
		{"value receiver", middleware.CanFail[value](), true},
		{"pointer to value receiver", middleware.CanFail[*value](), true},
		{"pointer receiver", middleware.CanFail[*pointer](), true},
		{"value of pointer receiver", middleware.CanFail[pointer](), false},
		{"any", middleware.CanFail[any](), true},
		{"error interface", middleware.CanFail[error](), true},
	} {
		if tc.got != tc.want {
			t.Errorf("CanFail[%s]() = %v, want %v", tc.name, tc.got, tc.want)
		}
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
