package prometheus

import (
	"fmt"
	"strings"

	"github.com/obskit/obskit/metrics"
)

// unitWord returns the base-unit word that Prometheus names in the UCUM
// unit u end with, and whether u is one obskit knows; any other unit is
// sanitised (see unitSuffix).
func unitWord(u metrics.Unit) (string, bool) {
	switch u {
	case "s":
		return "seconds", true
	case "ms":
		return "milliseconds", true
	case "us":
		return "microseconds", true
	case "ns":
		return "nanoseconds", true
	case "min":
		return "minutes", true
	case "h":
		return "hours", true
	case "d":
		return "days", true
	case "By":
		return "bytes", true
	case "KBy":
		return "kilobytes", true
	case "MBy":
		return "megabytes", true
	case "GBy":
		return "gigabytes", true
	case "KiBy":
		return "kibibytes", true
	case "MiBy":
		return "mebibytes", true
	case "GiBy":
		return "gibibytes", true
	case "bit":
		return "bits", true
	case "m":
		return "meters", true
	case "Hz":
		return "hertz", true
	case "Cel":
		return "celsius", true
	case "%":
		return "percent", true
	}
	return "", false
}

// metricName maps d to its Prometheus metric name; see the package
// documentation for the table it implements.
func metricName(d *metrics.Desc) string {
	name := sanitize(d.FullName("_"))
	if d.Kind == metrics.KindCounter && name != "total" {
		name = strings.TrimSuffix(name, "_total") // re-added after the unit
	}
	if suffix := unitSuffix(d.Kind, d.Unit); suffix != "" && !hasSuffixWord(name, suffix) {
		name += "_" + suffix
	}
	if d.Kind == metrics.KindCounter && !hasSuffixWord(name, "total") {
		name += "_total"
	}
	return name
}

// unitSuffix returns the word that names in unit u end with, or "" for
// none.
func unitSuffix(k metrics.Kind, u metrics.Unit) string {
	if u == metrics.UnitRatio {
		if k == metrics.KindCounter {
			return "" // a dimensionless counter counts things: _total says it
		}
		return "ratio"
	}
	if w, ok := unitWord(u); ok {
		return w
	}
	// UCUM annotations in braces ("{request}") name what is counted, not
	// a unit: Prometheus leaves them out.
	var b strings.Builder
	depth := 0
	for _, r := range string(u) {
		switch {
		case r == '{':
			depth++
		case r == '}':
			depth = max(depth-1, 0)
		case depth == 0:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if num, den, ok := strings.Cut(s, "/"); ok && den != "" {
		s = "per_" + wordFor(metrics.Unit(den), true)
		if num != "" {
			s = wordFor(metrics.Unit(num), false) + "_" + s
		}
	}
	s = sanitize(s)
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	return strings.Trim(s, "_")
}

// wordFor names one side of a unit ratio such as "By/s": the
// numerator plural, the denominator singular (bytes_per_second).
func wordFor(u metrics.Unit, singular bool) string {
	if w, ok := unitWord(u); ok {
		if singular && w != "celsius" && w != "hertz" {
			return strings.TrimSuffix(w, "s")
		}
		return w
	}
	return string(u)
}

// hasSuffixWord reports whether name ends with "_"+word or is word.
func hasSuffixWord(name, word string) bool {
	return name == word || strings.HasSuffix(name, "_"+word)
}

// labelName maps a declared label name to its Prometheus form.
func labelName(name string) string { return sanitize(name) }

// sanitize replaces every byte outside [a-zA-Z0-9_:] with '_'. The
// Registry has validated names, so for them it only turns '.' into '_'.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !nameByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == ':'
}

// validMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return false
		}
	}
	return true
}

// labelNames maps d's declared and const label names, and reports two
// that collide after mapping, or a name Prometheus reserves.
func labelNames(d *metrics.Desc) (declared []string, consts map[string]string, err error) {
	origin := make(map[string]string, len(d.Labels)+len(d.ConstLabels))
	check := func(name string) (string, error) {
		p := labelName(name)
		if prev, ok := origin[p]; ok {
			return "", fmt.Errorf("labels %q and %q both map to %q", prev, name, p)
		}
		if strings.HasPrefix(p, "__") || p == "le" || p == "quantile" || !validMetricName(p) || strings.Contains(p, ":") {
			return "", fmt.Errorf("label %q maps to %q, which Prometheus reserves or rejects", name, p)
		}
		origin[p] = name
		return p, nil
	}
	for _, l := range d.ConstLabels {
		p, err := check(l.Name)
		if err != nil {
			return nil, nil, err
		}
		if consts == nil {
			consts = make(map[string]string, len(d.ConstLabels))
		}
		consts[p] = l.Value
	}
	for _, l := range d.Labels {
		p, err := check(l)
		if err != nil {
			return nil, nil, err
		}
		declared = append(declared, p)
	}
	return declared, consts, nil
}
