// Package arena is the module root of the arena game server. The programs
// are ./server, ./client and ./bots; see README.md and PROTOCOL.md.
//
// This package holds no code, only repository-wide tests such as the import
// graph check in deps_test.go.
package arena
