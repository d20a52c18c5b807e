// Package sanitize holds the label-value rules that more than one
// backend applies, and the bound that more than one middleware puts on
// attribute values a peer chooses, so that the same rule is written,
// fuzzed and fixed once.
package sanitize

import (
	"strings"
	"unicode/utf8"
)

// AppendNode appends v as one node of a dotted name (statsd's labels in
// the name, Graphite's dotted paths): ASCII letters, digits, '_' and '-'
// are kept, '.' too when dot is true; every other byte, a multi-byte
// UTF-8 character or invalid byte counting once, becomes '_'; an empty
// value becomes "_". The result can hold no separator of any line
// protocol obskit writes.
func AppendNode(dst []byte, v string, dot bool) []byte {
	if v == "" {
		return append(dst, '_')
	}
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			_, n := utf8.DecodeRuneInString(v[i:])
			dst = append(dst, '_')
			i += n
			continue
		}
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.' && dot:
		default:
			c = '_'
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// Cut returns s cut to at most n bytes, at a UTF-8 boundary, in memory
// of its own. Copying matters as much as cutting: a header value, path
// or method name can share its bytes with the whole request it came in,
// which a span holding a substring would keep alive until it is
// exported.
func Cut(s string, n int) string { return strings.Clone(Prefix(s, n)) }

// Prefix returns s cut to at most n bytes, at a UTF-8 boundary, sharing
// s's memory: for a caller that copies what it keeps.
func Prefix(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}
