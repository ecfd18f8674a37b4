// Package sourcev1 is the generated gRPC code of ../source.proto, the
// version 1 source plugin protocol. Only package plugins imports it: hosts
// and plugin authors use the Go interface there, never these types.
//
// Regenerate with `go generate ./plugins/proto/...` (needs protoc,
// protoc-gen-go v1.36.6 and protoc-gen-go-grpc v1.3.0, the last release
// whose output builds against google.golang.org/grpc v1.61).
package sourcev1

//go:generate protoc -I .. --go_out=.. --go_opt=module=github.com/tajo/tajo/plugins/proto --go-grpc_out=.. --go-grpc_opt=module=github.com/tajo/tajo/plugins/proto ../source.proto
