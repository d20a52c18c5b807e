package statsd_test

import (
	"fmt"
	"strconv"
	"strings"
)

// metric is one statsd line, parsed strictly.
type metric struct {
	name, typ string
	tags      [][2]string
	value     float64
	rate      float64
}

// parseLine parses one line of the statsd protocol as this package
// documents that it writes it, and rejects anything else:
// name[,k=v…]:value|type[|@rate], name in [A-Za-z0-9_.-], tag values in
// [A-Za-z0-9_.-], type c, g or ms, rate in (0, 1) and only on timers.
func parseLine(l string) (metric, error) {
	var m metric
	m.rate = 1
	key, rest, ok := strings.Cut(l, ":")
	if !ok {
		return m, fmt.Errorf("%q: no ':'", l)
	}
	parts := strings.Split(key, ",")
	m.name = parts[0]
	if !validChars(m.name, true) || m.name == "" || strings.Contains(m.name, "..") || strings.HasSuffix(m.name, ".") {
		return m, fmt.Errorf("%q: bad name %q", l, m.name)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || v == "" || !validChars(k, true) || !validChars(v, true) {
			return m, fmt.Errorf("%q: bad tag %q", l, p)
		}
		m.tags = append(m.tags, [2]string{k, v})
	}
	fields := strings.Split(rest, "|")
	if len(fields) < 2 || len(fields) > 3 {
		return m, fmt.Errorf("%q: %d fields", l, len(fields))
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return m, fmt.Errorf("%q: value: %v", l, err)
	}
	m.value, m.typ = v, fields[1]
	switch m.typ {
	case "c", "g", "ms":
	default:
		return m, fmt.Errorf("%q: type %q", l, m.typ)
	}
	if len(fields) == 3 {
		r, ok := strings.CutPrefix(fields[2], "@")
		if !ok || m.typ != "ms" {
			return m, fmt.Errorf("%q: bad rate field", l)
		}
		m.rate, err = strconv.ParseFloat(r, 64)
		if err != nil || m.rate <= 0 || m.rate >= 1 {
			return m, fmt.Errorf("%q: rate %q", l, r)
		}
	}
	return m, nil
}

func validChars(s string, dot bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.' && dot:
		default:
			return false
		}
	}
	return true
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
