package metrics

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// The child cache hashes label values with a seeded multiply-mix hash
// (wyhash's mixing step). It is inlined-friendly and several times
// cheaper than hash/maphash for the short strings labels hold; the
// per-registry random seed keeps label values chosen by an outsider from
// aiming at one slot, and the cardinality limit bounds the table anyway.

const (
	hashM1 = 0xa0761d6478bd642f
	hashM2 = 0xe7037ed1a0b428db
)

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashString folds s into h. Strings shorter than 8 bytes, most label
// values, are read in at most three loads, as wyhash does.
func hashString(h uint64, s string) uint64 {
	n := len(s)
	p := unsafe.Slice(unsafe.StringData(s), n)
	var a, b uint64
	switch {
	case n >= 8:
		for len(p) > 8 {
			h = mix(h^binary.LittleEndian.Uint64(p), hashM1)
			p = p[8:]
		}
		a = binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[n-8:]), 8))
	case n >= 4:
		a = uint64(binary.LittleEndian.Uint32(p))
		b = uint64(binary.LittleEndian.Uint32(p[n-4:]))
	case n > 0:
		a = uint64(p[0])<<16 | uint64(p[n>>1])<<8 | uint64(p[n-1])
	}
	return mix(h^a, hashM2^b^uint64(n)<<32)
}

// hashShort is hashString, the same result, with the strings shorter
// than 8 bytes that most label values are hashed without a call.
func hashShort(h uint64, s string) uint64 {
	n := len(s)
	if n >= 8 {
		return hashString(h, s)
	}
	p := unsafe.StringData(s)
	var a, b uint64
	if n >= 4 {
		a = uint64(binary.LittleEndian.Uint32(unsafe.Slice(p, 4)))
		b = uint64(binary.LittleEndian.Uint32(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(p), n-4)), 4)))
	} else if n > 0 {
		a = uint64(*p)<<16 | uint64(*(*byte)(unsafe.Add(unsafe.Pointer(p), n>>1)))<<8 | uint64(*(*byte)(unsafe.Add(unsafe.Pointer(p), n-1)))
	}
	return mix(h^a, hashM2^b^uint64(n)<<32)
}

// sameString reports whether a and b are equal. Strings at the same
// address (constants) compare without a call; short ones (labels hold
// mostly fewer than 9 bytes) in at most two loads per string, as
// hashString reads them.
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || sameBytes(a, b))
}

// sameBytes compares two strings of the same length.
func sameBytes(a, b string) bool {
	n := len(a)
	if n > 8 || n == 0 {
		return a == b
	}
	x, y := unsafe.Slice(unsafe.StringData(a), n), unsafe.Slice(unsafe.StringData(b), n)
	if n < 4 {
		return x[0] == y[0] && x[n>>1] == y[n>>1] && x[n-1] == y[n-1]
	}
	return binary.LittleEndian.Uint32(x) == binary.LittleEndian.Uint32(y) &&
		binary.LittleEndian.Uint32(x[n-4:]) == binary.LittleEndian.Uint32(y[n-4:])
}
