package failer_test

import (
	"errors"
	"testing"

	"github.com/obskit/obskit/internal/failer"
)

type value struct{ err error }

func (v value) Failed() error { return v.err }

type pointer struct{ err error }

func (p *pointer) Failed() error { return p.err }

func TestPossible(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"int", failer.Possible[int](), false},
		{"struct without Failed", failer.Possible[struct{}](), false},
		{"value receiver", failer.Possible[value](), true},
		{"pointer to value receiver", failer.Possible[*value](), true},
		{"pointer receiver", failer.Possible[*pointer](), true},
		{"value of pointer receiver", failer.Possible[pointer](), false},
		{"any", failer.Possible[any](), true},
		{"error interface", failer.Possible[error](), true},
	} {
		if tc.got != tc.want {
			t.Errorf("Possible[%s]() = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestErr(t *testing.T) {
	boom := errors.New("boom")
	if err := failer.Err(value{boom}); err != boom {
		t.Errorf("Err(value) = %v, want boom", err)
	}
	if err := failer.Err[any](&pointer{boom}); err != boom {
		t.Errorf("Err[any](*pointer) = %v, want boom", err)
	}
	if err := failer.Err[any](nil); err != nil {
		t.Errorf("Err[any](nil) = %v, want nil", err)
	}
	if err := failer.Err(3); err != nil {
		t.Errorf("Err(3) = %v, want nil", err)
	}
}
