// Package benchmarks measures obskit side by side with its peers. It is a
// module of its own so that the peers never enter the kit's go.mod.
//
// Each scenario is one benchmark with one sub-benchmark per library, so
// that benchstat compares libraries on the same scenario:
//
//	cd benchmarks && go test -run=NONE -bench=. -benchmem
package benchmarks
