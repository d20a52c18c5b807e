// Package pb holds the protobuf messages and gRPC service of addsvc,
// generated from addsvc.proto. Regenerate them with scripts/genproto,
// which installs protoc and the pinned plugins when missing:
//
//	go generate ./examples/addsvc/pb
package pb

//go:generate ../../../scripts/genproto addsvc.proto
