package grpcmw

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/obskit/obskit/middleware"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct{ target, addr, port string }{
		{"grpc.io:50051", "grpc.io", "50051"},
		{"127.0.0.1:8082", "127.0.0.1", "8082"},
		{"[::1]:8082", "::1", "8082"},
		{"localhost:8080", "localhost", "8080"},
		{"dns:///grpc.io:50051", "grpc.io", "50051"},
		{"dns://1.2.3.4/grpc.io:50051", "grpc.io", "50051"},
		{"dns:grpc.io:50051", "grpc.io", "50051"},
		{"passthrough:///bufconn", "bufconn", ""},
		{"unix:///run/containerd/containerd.sock", "/run/containerd/containerd.sock", ""},
		{"unix:relative.sock", "relative.sock", ""},
		{"zk://zookeeper:2181/my-server", "zk://zookeeper:2181/my-server", ""},
		{"ipv4:198.51.100.123:50051,198.51.100.124:50051", "ipv4:198.51.100.123:50051,198.51.100.124:50051", ""},
		{"grpc.io", "grpc.io", ""},
		{"grpc.io:https", "grpc.io:https", ""},
		{"dns:/:%00", ":\x00", ""},
	} {
		addr, port := parseTarget(tc.target)
		if addr != tc.addr || port != tc.port {
			t.Errorf("parseTarget(%q) = %q, %q; want %q, %q", tc.target, addr, port, tc.addr, tc.port)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"grpc.io:50051", "dns:///a:1", "unix:///x", "passthrough:///b", "zk://z:1/s", ":", "dns:%zz", "[::1]:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		addr, port := parseTarget(target)
		if target != "" && addr == "" && port == "" {
			// An empty address is allowed only for targets that name
			// none (":0", "dns:///:1"), never the loss of a whole target.
			if !strings.Contains(target, ":") {
				t.Errorf("parseTarget(%q) lost the target", target)
			}
		}
		if port != "" && !strings.Contains(target, port) {
			t.Errorf("parseTarget(%q) = port %q, not in the target", target, port)
		}
		if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 0 || n > 65535) {
			t.Errorf("parseTarget(%q) = port %q, not a port number", target, port)
		}
	})
}

func FuzzTruncate(f *testing.F) {
	for _, s := range []string{"", "abc", strings.Repeat("é", 200), strings.Repeat("x", 1023) + "日本", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := truncate(s)
		if len(got) > middleware.MaxAttributeLen || !strings.HasPrefix(s, got) {
			t.Fatalf("truncate(%q) = %q", s, got)
		}
		if len(s) <= middleware.MaxAttributeLen && got != s {
			t.Fatalf("truncate cut a short value: %q", got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("truncate(%q) split a rune: %q", s, got)
		}
		if len(s) > middleware.MaxAttributeLen && utf8.ValidString(s) && len(got) < middleware.MaxAttributeLen-utf8.UTFMax {
			t.Fatalf("truncate(%q) cut too much: %d bytes", s, len(got))
		}
	})
}

func TestCodeNames(t *testing.T) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		want := strings.ToUpper(c.String())
		if c == codes.Canceled {
			want = "CANCELLED" // the specification's spelling
		}
		if got := strings.ReplaceAll(codeName(codeIndex(c)), "_", ""); got != want {
			t.Errorf("codeName(%v) = %q", c, codeName(codeIndex(c)))
		}
	}
	if got := codeName(codeIndex(codes.Code(99))); got != StatusOther {
		t.Errorf("codeName(99) = %q, want %q", got, StatusOther)
	}
}
