package graphite_test

import (
	"fmt"
	"strconv"
	"strings"
)

// line is one plaintext line, parsed strictly.
type line struct {
	series string // path and tags as written
	path   string
	tags   map[string]string
	value  float64
	ts     int64
}

// parseLine parses "path[;tag=value…] value timestamp" as Graphite's
// carbon does, and rejects what this package documents it never writes:
// a path node that is empty or holds anything but [A-Za-z0-9_-] (the
// portable names and sanitised dotted values), a tag name outside
// [A-Za-z0-9_.], a tag value that is empty, starts with '~' or holds ';',
// a space, a control byte or non-ASCII, a repeated tag, and a value or
// timestamp that does not parse.
func parseLine(l string) (line, error) {
	var p line
	fields := strings.Split(l, " ")
	if len(fields) != 3 {
		return p, fmt.Errorf("%q: %d fields", l, len(fields))
	}
	v, err := strconv.ParseFloat(fields[1], 64)
	if err != nil || v != v {
		return p, fmt.Errorf("%q: value %q", l, fields[1])
	}
	ts, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return p, fmt.Errorf("%q: timestamp %q", l, fields[2])
	}
	p.value, p.ts = v, ts
	parts := strings.Split(fields[0], ";")
	p.series, p.path = fields[0], parts[0]
	for _, node := range strings.Split(p.path, ".") {
		if node == "" || !allowed(node, "_-") {
			return p, fmt.Errorf("%q: path node %q", l, node)
		}
	}
	p.tags = map[string]string{}
	for _, tag := range parts[1:] {
		k, v, ok := strings.Cut(tag, "=")
		if !ok || k == "" || !allowed(k, "_.") || v == "" || v[0] == '~' {
			return p, fmt.Errorf("%q: tag %q", l, tag)
		}
		for i := 0; i < len(v); i++ {
			if v[i] <= ' ' || v[i] > '~' {
				return p, fmt.Errorf("%q: tag value %q has byte %q", l, v, v[i])
			}
		}
		if _, dup := p.tags[k]; dup {
			return p, fmt.Errorf("%q: tag %q twice", l, k)
		}
		p.tags[k] = v
	}
	return p, nil
}

func allowed(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}
