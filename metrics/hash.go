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

// hashString folds s into h.
func hashString(h uint64, s string) uint64 {
	p := unsafe.Slice(unsafe.StringData(s), len(s))
	for len(p) >= 8 {
		h = mix(h^binary.LittleEndian.Uint64(p), hashM1)
		p = p[8:]
	}
	var tail uint64
	for i, c := range p {
		tail |= uint64(c) << (8 * i)
	}
	return mix(h^tail^uint64(len(s))<<56, hashM2)
}
