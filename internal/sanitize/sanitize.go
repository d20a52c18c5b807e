// Package sanitize holds the label-value rules that more than one
// backend applies, so that the same rule is written, fuzzed and fixed
// once.
package sanitize

import "unicode/utf8"

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
