// Package proto holds the wire schema (arena.proto). The generated Go code is
// in the arenapb subpackage; `go generate ./proto` rebuilds it with protoc and
// protoc-gen-go (see the README).
package proto

//go:generate protoc --go_out=. --go_opt=module=github.com/arenaserver/arena/proto arena.proto
