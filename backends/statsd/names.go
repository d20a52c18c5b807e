package statsd

import (
	"github.com/obskit/obskit/internal/sanitize"
	"github.com/obskit/obskit/metrics"
)

// key renders a series' name and labels once, at Bind.
func (b *Backend) key(d *metrics.Desc, lv []string) string {
	buf := []byte(d.FullName("."))
	switch b.o.Labels {
	case TelegrafTags:
		for _, l := range d.ConstLabels {
			buf = appendTag(buf, l.Name, l.Value)
		}
		for i, n := range d.Labels {
			buf = appendTag(buf, n, lv[i])
		}
	default:
		for _, l := range d.ConstLabels {
			buf = append(buf, '.')
			buf = AppendSanitized(buf, l.Value, false)
		}
		for _, v := range lv {
			buf = append(buf, '.')
			buf = AppendSanitized(buf, v, false)
		}
	}
	return string(buf)
}

func appendTag(buf []byte, name, value string) []byte {
	buf = append(buf, ',')
	buf = append(buf, name...)
	buf = append(buf, '=')
	return AppendSanitized(buf, value, true)
}

// AppendSanitized appends label value v as it appears in a statsd line:
// ASCII letters, digits, '_' and '-' are kept (and '.' when dot is true,
// in the Telegraf tag form), every other character becomes one '_', and
// an empty value becomes "_".
func AppendSanitized(dst []byte, v string, dot bool) []byte { return sanitize.AppendNode(dst, v, dot) }

// Sanitize returns label value v as AppendSanitized writes it.
func Sanitize(v string, dot bool) string { return string(AppendSanitized(nil, v, dot)) }
