package influx

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/influxdata/influxdb1-client/models"

	"github.com/obskit/obskit/metrics"
)

// seriesKey renders a series' measurement and tags once, at Bind, with
// the client library's escaping (models.MakeKey): the measurement is the
// full name, the tags the const labels and the declared labels, sorted
// by key as InfluxDB wants them; a label with an empty value is left out.
func seriesKey(d *metrics.Desc, lv []string) string {
	tags := make(map[string]string, len(d.ConstLabels)+len(lv))
	for _, l := range d.ConstLabels {
		if l.Value != "" {
			tags[l.Name] = SanitizeTagValue(l.Value)
		}
	}
	for i, n := range d.Labels {
		if lv[i] != "" {
			tags[n] = SanitizeTagValue(lv[i])
		}
	}
	return string(models.MakeKey([]byte(d.FullName(".")), models.NewTags(tags)))
}

// SanitizeTagValue returns label value v as it is written in a tag: the
// line protocol cannot carry a line break or other control character in a
// tag value, nor a backslash that ends the value or stands before ',',
// ' ' or '=' (the server would read it as escaping the delimiter); each
// of those becomes '_'. Everything else, non-ASCII letters included, is
// kept; the client library escapes ',', ' ' and '='.
func SanitizeTagValue(v string) string {
	if !needsSanitizing(v) {
		return v
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); {
		c := v[i]
		if c >= utf8.RuneSelf {
			_, n := utf8.DecodeRuneInString(v[i:])
			out = append(out, v[i:i+n]...)
			i += n
			continue
		}
		switch {
		case c < 0x20 || c == 0x7f:
			c = '_'
		case c == '\\' && (i+1 == len(v) || v[i+1] == ',' || v[i+1] == ' ' || v[i+1] == '='):
			c = '_'
		}
		out = append(out, c)
		i++
	}
	return string(out)
}

func needsSanitizing(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			return true
		}
	}
	return false
}

// field is one field of a point.
type field struct {
	key string
	v   float64
}

// appendPoint appends one point in line protocol, byte for byte as the
// client library's Point.PrecisionString writes it: key, fields as
// floats, the timestamp in precision units. NaN and ±Inf fields, which
// InfluxDB cannot store, are left out; it returns false when none is
// left.
func appendPoint(dst []byte, key string, fields []field, t time.Time, mult int64) ([]byte, bool) {
	dst = append(dst, key...)
	dst = append(dst, ' ')
	n := 0
	for _, f := range fields {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f.key...)
		dst = append(dst, '=')
		dst = strconv.AppendFloat(dst, f.v, 'f', -1, 64)
		n++
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, t.UnixNano()/mult, 10)
	return dst, n > 0
}
