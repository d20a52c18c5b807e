package metrics

import (
	"fmt"
	"unicode/utf8"
)

const maxNameLen = 255

// ValidName reports whether name is a portable metric name: segments
// joined by '.', each a letter followed by letters, digits or '_', at
// most 255 bytes in all.
func ValidName(name string) bool { return validName(name) == nil }

func validName(name string) error {
	if err := validDotted(name, false); err != nil {
		return fmt.Errorf("%w: %q: %s", ErrInvalidName, name, err)
	}
	return nil
}

// validDotted checks the grammar shared by metric and label names.
// leadingUnderscore allows a segment to start with '_'.
func validDotted(s string, leadingUnderscore bool) error {
	if s == "" {
		return errString("empty")
	}
	if len(s) > maxNameLen {
		return errString("longer than 255 bytes")
	}
	segStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if segStart {
				return fmt.Errorf("empty segment at byte %d", i)
			}
			segStart = true
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case c == '_':
			if segStart && !leadingUnderscore {
				return fmt.Errorf("segment starts with '_' at byte %d", i)
			}
		case '0' <= c && c <= '9':
			if segStart {
				return fmt.Errorf("segment starts with a digit at byte %d", i)
			}
		default:
			return fmt.Errorf("byte %d is %q, want a letter, digit, '_' or '.'", i, c)
		}
		segStart = false
	}
	if segStart {
		return errString("ends with '.'")
	}
	return nil
}

func validLabelName(name string) error {
	if err := validDotted(name, true); err != nil {
		return fmt.Errorf("%w: name %q: %s", ErrInvalidLabel, name, err)
	}
	switch {
	case len(name) >= 2 && name[:2] == "__":
		return fmt.Errorf("%w: name %q: names starting with \"__\" are reserved", ErrInvalidLabel, name)
	case name == "le" || name == "quantile":
		return fmt.Errorf("%w: name %q is reserved for histogram buckets and quantiles", ErrInvalidLabel, name)
	}
	return nil
}

func validLabelValue(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: value %q is not valid UTF-8", ErrInvalidLabel, v)
	}
	return nil
}

func validUnit(u Unit) error {
	if len(u) > 63 {
		return fmt.Errorf("%w: unit %q longer than 63 bytes", ErrInvalidOption, u)
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] > '~' {
			return fmt.Errorf("%w: unit %q has byte %q, want printable ASCII without spaces", ErrInvalidOption, u, u[i])
		}
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }
