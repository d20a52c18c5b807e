package graphite

import (
	"strings"
	"unicode/utf8"

	"github.com/obskit/obskit/internal/sanitize"
	"github.com/obskit/obskit/metrics"
)

// tags renders a series' labels once, at Bind: ";k=v…" or ".k.v…".
func (b *Backend) tags(d *metrics.Desc, lv []string) string {
	var buf []byte
	add := func(name, value string) {
		if b.o.DottedPaths {
			buf = append(buf, '.')
			buf = append(buf, strings.ReplaceAll(name, ".", "_")...)
			buf = append(buf, '.')
			buf = AppendPathNode(buf, value)
			return
		}
		if value == "" {
			return // Graphite forbids empty tag values
		}
		buf = append(buf, ';')
		buf = append(buf, name...)
		buf = append(buf, '=')
		buf = AppendTagValue(buf, value)
	}
	for _, l := range d.ConstLabels {
		add(l.Name, l.Value)
	}
	for i, n := range d.Labels {
		add(n, lv[i])
	}
	return string(buf)
}

// AppendTagValue appends v as a Graphite tag value: printable ASCII is
// kept except ';' anywhere and '~' at the start; every other byte or
// character becomes '_'. v must not be empty.
func AppendTagValue(dst []byte, v string) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			_, n := utf8.DecodeRuneInString(v[i:])
			dst = append(dst, '_')
			i += n
			continue
		}
		if c <= ' ' || c > '~' || c == ';' || c == '~' && i == 0 {
			c = '_'
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// AppendPathNode appends v as one node of a dotted Graphite path: ASCII
// letters, digits, '_' and '-' are kept, every other character becomes
// '_', and an empty value is "_" (the rule statsd applies to labels in
// the name).
func AppendPathNode(dst []byte, v string) []byte { return sanitize.AppendNode(dst, v, false) }

// SanitizeTagValue returns v as it arrives as a tag value ("" for an
// omitted tag).
func SanitizeTagValue(v string) string { return string(AppendTagValue(nil, v)) }

// SanitizePathNode returns v as it arrives as a path node.
func SanitizePathNode(v string) string { return string(AppendPathNode(nil, v)) }
