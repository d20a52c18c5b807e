package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

func TestAppendNode(t *testing.T) {
	for _, c := range []struct {
		in   string
		dot  bool
		want string
	}{
		{"", false, "_"},
		{"GET", false, "GET"},
		{"a.b", false, "a_b"},
		{"a.b", true, "a.b"},
		{"a b\nc|d:e,f=g;h#i", false, "a_b_c_d_e_f_g_h_i"},
		{"é日", false, "__"},
		{"\xff\xfe", false, "__"},
		{"a\x00b", true, "a_b"},
	} {
		if got := string(AppendNode(nil, c.in, c.dot)); got != c.want {
			t.Errorf("AppendNode(%q, %v) = %q, want %q", c.in, c.dot, got, c.want)
		}
	}
}

func FuzzAppendNode(f *testing.F) {
	for _, s := range []string{"", "a.b", "a\nb", "é", "\xff", "a b|c:d"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, v string, dot bool) {
		got := string(AppendNode(nil, v, dot))
		if got == "" || len(got) > len(v)+1 || utf8.RuneCountInString(got) != max(1, utf8.RuneCountInString(v)) {
			t.Fatalf("AppendNode(%q) = %q", v, got)
		}
		if strings.Trim(got, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != "" || !dot && strings.Contains(got, ".") {
			t.Fatalf("AppendNode(%q, %v) = %q holds a separator", v, dot, got)
		}
	})
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc"},
		{"héllo", 2, "h"}, // é is two bytes: cut before it, not inside
		{"héllo", 3, "hé"},
		{"", 3, ""},
	} {
		got := Cut(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if len(got) > 0 && unsafe.StringData(got) == unsafe.StringData(tc.in) {
			t.Errorf("Cut(%q, %d) shares its bytes with the input", tc.in, tc.n)
		}
	}
}
