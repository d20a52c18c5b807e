package expvar

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/obskit/obskit/metrics"
)

// FormatKey returns the key under which a series appears in its
// instrument's JSON object: the const labels (sorted by name, as
// metrics.Desc holds them), then each declared label name with its value,
// as name=value pairs joined by ','. In values, '\', ',' and '=' are
// escaped by a preceding '\'; label names never hold them. No labels at
// all give "". values has one entry per name in labels.
func FormatKey(constLabels []metrics.Label, labels, values []string) string {
	var b strings.Builder
	pair := func(name, value string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteByte('=')
		for i := 0; i < len(value); i++ {
			switch c := value[i]; c {
			case '\\', ',', '=':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
	}
	for _, l := range constLabels {
		pair(l.Name, l.Value)
	}
	for i, name := range labels {
		if i < len(values) {
			pair(name, values[i])
		}
	}
	return b.String()
}

// ErrBadKey reports a series key that FormatKey cannot have produced.
var ErrBadKey = errors.New("expvar: malformed series key")

// ParseKey splits a series key made by FormatKey back into its labels,
// in key order, with their values unescaped exactly.
func ParseKey(key string) ([]metrics.Label, error) {
	if key == "" {
		return nil, nil
	}
	var out []metrics.Label
	for i := 0; i < len(key); {
		eq := strings.IndexByte(key[i:], '=')
		if eq <= 0 {
			return nil, fmt.Errorf("%w: %q: no label name and '=' at byte %d", ErrBadKey, key, i)
		}
		name := key[i : i+eq]
		if strings.ContainsAny(name, `\,`) {
			return nil, fmt.Errorf("%w: %q: label name %q", ErrBadKey, key, name)
		}
		i += eq + 1
		var v strings.Builder
	value:
		for ; i < len(key); i++ {
			switch c := key[i]; c {
			case ',':
				i++
				if i == len(key) {
					return nil, fmt.Errorf("%w: %q: ends with ','", ErrBadKey, key)
				}
				break value
			case '=':
				return nil, fmt.Errorf("%w: %q: unescaped '=' at byte %d", ErrBadKey, key, i)
			case '\\':
				if i+1 == len(key) {
					return nil, fmt.Errorf("%w: %q: ends with '\\'", ErrBadKey, key)
				}
				i++
				switch e := key[i]; e {
				case '\\', ',', '=':
					v.WriteByte(e)
				default:
					return nil, fmt.Errorf("%w: %q: unknown escape \\%c at byte %d", ErrBadKey, key, e, i-1)
				}
			default:
				v.WriteByte(c)
			}
		}
		out = append(out, metrics.Label{Name: name, Value: v.String()})
	}
	return out, nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		// Cannot happen: a string always marshals; the registry only
		// passes valid UTF-8, and json replaces anything else.
		return append(b, `""`...)
	}
	return append(b, q...)
}
