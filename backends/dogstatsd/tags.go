package dogstatsd

import "unicode/utf8"

// Tag returns the DogStatsD tag "name:value" for a label, with value
// sanitised by AppendTagValue. name is an obskit label name, which needs
// no sanitising.
func Tag(name, value string) string {
	buf := make([]byte, 0, len(name)+1+len(value))
	buf = append(buf, name...)
	buf = append(buf, ':')
	return string(AppendTagValue(buf, value))
}

// AppendTagValue appends label value v as it appears in a DogStatsD tag:
// ',', '|', '#' and the control characters (U+0000–U+001F, U+007F and
// the C1 controls U+0080–U+009F) become '_', and so does each byte of
// invalid UTF-8; every other character is kept.
func AppendTagValue(dst []byte, v string) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == ',' || c == '|' || c == '#' {
				c = '_'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
			dst = append(dst, '_')
		} else {
			dst = append(dst, v[i:i+n]...)
		}
		i += n
	}
	return dst
}

// SanitizeTagValue returns label value v as AppendTagValue writes it.
func SanitizeTagValue(v string) string { return string(AppendTagValue(nil, v)) }
