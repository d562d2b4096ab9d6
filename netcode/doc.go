// Package netcode holds what both ends of a connection share: the protocol
// version, frame helpers, the delta encoding of world states, and the
// bookkeeping of input sequence numbers. Its subpackages hold the outbox,
// the transports and the client.
//
// netcode imports sim and proto; it never imports the server, the desktop
// client or the bots, and knows nothing of rooms or windows.
package netcode

// ProtocolVersion is the version of PROTOCOL.md this code speaks. A client
// sends it in Hello; the server refuses any other.
const ProtocolVersion = 3
