// Package apitest holds tests that look at the kit's public API as a
// whole rather than one package at a time. Its zero_test.go calls every
// exported constructor of every package of the module with zero and nil
// arguments, and checks from the source that none is missing from its
// table, so that a new constructor cannot be left out. The package has
// no code of its own.
package apitest
