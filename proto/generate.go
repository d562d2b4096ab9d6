// Package proto holds the wire schemas: session.proto, the game-independent
// session protocol (generated Go code in sessionpb), and one schema per
// game (arena.proto, in arenapb). `go generate ./proto` rebuilds the Go
// code with protoc and protoc-gen-go (see the README).
package proto

//go:generate protoc --go_out=. --go_opt=module=github.com/arenaserver/arena/proto session.proto arena.proto
