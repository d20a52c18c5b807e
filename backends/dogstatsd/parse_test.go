package dogstatsd_test

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// datagramLine is one metric line of a DogStatsD datagram, parsed
// strictly.
type datagramLine struct {
	name   string
	values []float64
	typ    string
	rate   float64
	tags   [][2]string
	// container and external are the origin-detection fields datadog-go
	// may add ("|c:…", "|e:…").
	container, external string
}

// parseDatagram splits a datagram into lines (each ends in '\n', as
// datadog-go writes them) and parses each with parseMetricLine.
func parseDatagram(p string) ([]datagramLine, error) {
	if !strings.HasSuffix(p, "\n") {
		return nil, fmt.Errorf("datagram %q does not end in a newline", p)
	}
	var out []datagramLine
	for _, l := range strings.Split(strings.TrimSuffix(p, "\n"), "\n") {
		m, err := parseMetricLine(l)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// parseMetricLine parses one line of Datadog's metric datagram format,
//
//	name:value[:value…]|type[|@rate][|#tag[,tag…]][|c:container][|e:external]
//
// and rejects anything else: a name of [A-Za-z0-9_.] segments, values
// written as datadog-go writes them (decimal, no exponent, no NaN or
// Inf), several values only for d, h and ms, type c, g, d, h or ms (no
// sets, events or service checks), rate in (0, 1), a tag "key:value" with
// a non-empty key of [A-Za-z0-9_.] and a value without ',', '|', '#' or
// control characters, in valid UTF-8, and the fields in that order, at
// most once each.
func parseMetricLine(l string) (datagramLine, error) {
	m := datagramLine{rate: 1}
	if !utf8.ValidString(l) {
		return m, fmt.Errorf("%q: invalid UTF-8", l)
	}
	name, rest, ok := strings.Cut(l, ":")
	if !ok {
		return m, fmt.Errorf("%q: no ':'", l)
	}
	if !validName(name) {
		return m, fmt.Errorf("%q: bad name %q", l, name)
	}
	m.name = name
	fields := strings.Split(rest, "|")
	if len(fields) < 2 {
		return m, fmt.Errorf("%q: no type", l)
	}
	m.typ = fields[1]
	switch m.typ {
	case "c", "g", "d", "h", "ms":
	default:
		return m, fmt.Errorf("%q: type %q", l, m.typ)
	}
	vals := strings.Split(fields[0], ":")
	if len(vals) > 1 && m.typ != "d" && m.typ != "h" && m.typ != "ms" {
		return m, fmt.Errorf("%q: several values for type %q", l, m.typ)
	}
	for _, v := range vals {
		f, err := parseValue(v, m.typ == "c")
		if err != nil {
			return m, fmt.Errorf("%q: value %q: %v", l, v, err)
		}
		m.values = append(m.values, f)
	}
	order := 0 // index of the last optional field seen: @ 1, # 2, c: 3, e: 4
	for _, f := range fields[2:] {
		var at int
		switch {
		case strings.HasPrefix(f, "@"):
			at = 1
			r, err := strconv.ParseFloat(f[1:], 64)
			if err != nil || r <= 0 || r >= 1 || strings.ContainsAny(f[1:], "eE") {
				return m, fmt.Errorf("%q: rate %q", l, f)
			}
			m.rate = r
		case strings.HasPrefix(f, "#"):
			at = 2
			for _, t := range strings.Split(f[1:], ",") {
				k, v, ok := strings.Cut(t, ":")
				if !ok || !validName(k) || !validTagValue(v) {
					return m, fmt.Errorf("%q: bad tag %q", l, t)
				}
				m.tags = append(m.tags, [2]string{k, v})
			}
		case strings.HasPrefix(f, "c:"):
			at, m.container = 3, f[2:]
		case strings.HasPrefix(f, "e:"):
			at, m.external = 4, f[2:]
		default:
			return m, fmt.Errorf("%q: unknown field %q", l, f)
		}
		if at <= order {
			return m, fmt.Errorf("%q: field %q out of order or repeated", l, f)
		}
		order = at
	}
	return m, nil
}

func parseValue(v string, integer bool) (float64, error) {
	if v == "" {
		return 0, fmt.Errorf("empty")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || c == '-' && i == 0 || c == '.' && !integer) {
			return 0, fmt.Errorf("byte %q", c)
		}
	}
	return strconv.ParseFloat(v, 64)
}

func validName(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validTagValue(v string) bool {
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == ',' || r == '|' || r == '#' {
			return false
		}
	}
	return true
}
