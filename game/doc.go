// Package game is the API a game is written against, and the only package
// of the engine a game needs: the server drives a Match on a room's
// goroutine, the client library predicts with a game's Client, the bots
// play with its Brain, and the engine replicates the Table a game fills.
//
// # A game in five parts
//
//   - A Def names the game and holds its constructors. Programs register
//     the games they offer in a Registry (server -game NAME).
//   - A Schema declares what the game replicates: kinds of entities, each
//     with integer fields. The engine keeps the history of replicated
//     states, encodes each member's delta against what that member
//     acknowledged (once per distinct baseline), and the client library
//     decodes it back into the same Table. No game writes delta code.
//   - A Match is one running match, owned by its room's goroutine: players
//     join, leave, are held while disconnected and come back; each gives
//     one input per tick (the game's own bytes); members send named events
//     (chat, ready, buy, vote) that the match answers; Step advances one
//     tick; Replicate writes what clients see; End reports a Result.
//   - A Client (optional) is the game's rules on the client side: it
//     predicts the own player by running the same step code on inputs the
//     server has not applied yet.
//   - A Brain (optional) plays for a bot; a renderer for the desktop
//     client lives in a package of the game's own (it links Ebiten).
//
// # Determinism
//
// A Match must be deterministic: the same Config, the same sequence of
// calls and the same inputs give the same state on every machine. No
// clocks, no map iteration whose order matters, no I/O, no goroutines and
// no global random source; the engine hands the game the tick and a seeded
// random source (Context.Rand), and saves that source with the match. This
// is what lets a client predict, a replay replay, and a saved match
// (Match.Save) continue bit for bit on another server.
//
// # Ownership
//
// The room goroutine owns the Match value: every method is called on it,
// one at a time. Nothing else may touch the match, and the match must not
// keep byte slices the engine passes in (inputs, event payloads) past the
// call. A Table the engine hands to Replicate or to a Client belongs to the
// engine once the call returns.
//
// game imports only the standard library, and must never import the
// server, the network code or a window toolkit.
package game
