package circonus

import (
	"encoding/base64"
	"sort"
	"strings"

	"github.com/obskit/obskit/metrics"
)

// metricName renders a series' Circonus metric name once, at Bind: the
// full name, then the labels as stream tags, "name|ST[k1:v1,k2:v2]",
// sorted by category, values encoded by AppendTagValue.
func metricName(d *metrics.Desc, lv []string) string {
	name := d.FullName(".")
	if len(d.ConstLabels)+len(lv) == 0 {
		return name
	}
	tags := make([]metrics.Label, 0, len(d.ConstLabels)+len(lv))
	tags = append(tags, d.ConstLabels...)
	for i, n := range d.Labels {
		tags = append(tags, metrics.Label{Name: n, Value: lv[i]})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
	var b strings.Builder
	b.WriteString(name)
	b.WriteString("|ST[")
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.Name)
		b.WriteByte(':')
		b.Write(AppendTagValue(nil, t.Value))
	}
	b.WriteByte(']')
	return b.String()
}

// AppendTagValue appends label value v as a stream tag value: as it is
// when every byte is plain (see below), else base64-encoded (standard
// alphabet, padded) inside b"…", which Circonus' stream tag rules accept
// for any value. A byte is plain when it is printable ASCII other than
// space and , : [ ] | " ' ` \ (the delimiters of a name and its tags,
// and the quotes and escapes Circonus' agents strip), so a value with a
// delimiter, a control character or a non-ASCII letter is always encoded
// and can never add a tag or end the tag list. The empty value is written
// as nothing ("k:").
func AppendTagValue(dst []byte, v string) []byte {
	plain := true
	for i := 0; i < len(v); i++ {
		if !plainByte(v[i]) {
			plain = false
			break
		}
	}
	if plain {
		return append(dst, v...)
	}
	dst = append(dst, `b"`...)
	dst = base64.StdEncoding.AppendEncode(dst, []byte(v))
	return append(dst, '"')
}

// plainByte reports whether c may appear in a stream tag value as it is:
// printable ASCII except space and , : [ ] | " ` \ (delimiters of the
// name and its tags, or characters Circonus' agents strip).
func plainByte(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case ',', ':', '[', ']', '|', '"', '`', '\\', '\'':
		return false
	}
	return true
}
