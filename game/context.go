package game

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
)

// Host is what a Context reaches of the engine: the room implements it, and
// so does a test harness.
type Host interface {
	// Emit queues a reliable event to player p (dropped when p is not a
	// member).
	Emit(p PlayerID, name string, payload []byte)
	// Broadcast queues a reliable event to every member, players and
	// spectators, except player except (0: none).
	Broadcast(name string, payload []byte, except PlayerID)
	// Name is p's display name ("" when p is not a member).
	Name(p PlayerID) string
}

// Context is a match's link to the engine during a call: the tick, the
// seeded random source, events to members, and the end of the match. The
// engine owns it; a game uses it only during the call it was given in.
type Context struct {
	tick  uint32
	pcg   rand.PCG
	rand  *rand.Rand
	host  Host
	ended bool
	res   Result
}

// NewContext returns the context of a new match on host, its random source
// seeded from seed. Engine side.
func NewContext(host Host, seed uint64) *Context {
	c := &Context{host: host}
	c.pcg = *rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	c.rand = rand.New(&c.pcg)
	return c
}

// Tick is the match's tick: during Step the tick being stepped to, and
// between steps the tick of the last Step.
func (c *Context) Tick() uint32 { return c.tick }

// Rand is the match's random source: seeded from Config.Seed and saved
// with the match, so draws are the same on every replay and after a
// restore. Use it, never a global source.
func (c *Context) Rand() *rand.Rand { return c.rand }

// Emit sends a reliable, ordered event to player p.
func (c *Context) Emit(p PlayerID, name string, payload []byte) { c.host.Emit(p, name, payload) }

// Broadcast sends a reliable event to every member except player except (0
// for none).
func (c *Context) Broadcast(name string, payload []byte, except PlayerID) {
	c.host.Broadcast(name, payload, except)
}

// Name is player p's display name.
func (c *Context) Name(p PlayerID) string { return c.host.Name(p) }

// End ends the match after the current call with result r: members get it,
// the room closes, the lobby reports it. Later calls to End are ignored.
func (c *Context) End(r Result) {
	if !c.ended {
		c.ended, c.res = true, r
	}
}

// Ended returns the result once End was called. Engine side.
func (c *Context) Ended() (Result, bool) { return c.res, c.ended }

// Advance moves the tick on by one before Step. Engine side.
func (c *Context) Advance() { c.tick++ }

// contextVersion prefixes a saved context.
const contextVersion = 1

// AppendBinary appends the context's tick and random state to dst (a
// saved match holds them). Engine side.
func (c *Context) AppendBinary(dst []byte) ([]byte, error) {
	dst = append(dst, contextVersion)
	dst = binary.BigEndian.AppendUint32(dst, c.tick)
	if c.ended {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	return c.pcg.AppendBinary(dst)
}

// ErrSavedContext means saved context bytes do not decode.
var ErrSavedContext = errors.New("game: malformed saved context")

// RestoreContext returns the context AppendBinary saved, on host. Engine
// side.
func RestoreContext(host Host, data []byte) (*Context, error) {
	if len(data) < 6 || data[0] != contextVersion {
		return nil, ErrSavedContext
	}
	c := &Context{host: host, tick: binary.BigEndian.Uint32(data[1:5]), ended: data[5] == 1}
	if err := c.pcg.UnmarshalBinary(data[6:]); err != nil {
		return nil, ErrSavedContext
	}
	c.rand = rand.New(&c.pcg)
	return c, nil
}
