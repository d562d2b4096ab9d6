// Package sim holds the rules of the arena shooter: the World, its players
// and projectiles, and one deterministic Step per tick.
//
// Everything is integer, fixed-point arithmetic: positions are in 1/Scale of
// a world unit, angles in 1/AimSteps of a turn. The same Config, the same
// inputs and the same sequence of AddPlayer/RemovePlayer calls give
// bit-identical states on every machine, so a client can predict its own
// player with this code and a snapshot fully describes a world.
//
// sim imports only the standard library and uses no goroutines, clocks, I/O
// or global random source. It must never import the network, the server or
// the client.
package sim
