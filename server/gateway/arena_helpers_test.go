package gateway

import (
	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// The gateway's tests play the arena (a realistic game for the engine);
// these helpers speak its inputs and read its states.

// send sends one arena input on a protocol client.
func send(c *client.Conn, in sim.Input) (uint32, error) {
	return c.SendInput(arena.AppendInput(nil, in.Buttons, in.Aim), in.ViewTick)
}

// stateOf reads a decoded snapshot's table as an arena state.
func stateOf(t *game.Table) sim.State {
	var s sim.State
	if t != nil { // nil: no snapshot yet
		arena.StateOf(t, &s)
	}
	return s
}

// rawInput encodes an arena input whatever its values: in range, the
// arena's two bytes; out of range (unknown buttons, an aim past 1023), three
// bytes, which the arena refuses, as a hostile client could send.
func rawInput(buttons, aim uint32) []byte {
	if buttons <= uint32(sim.ButtonsMask) && aim < sim.AimSteps {
		return arena.AppendInput(nil, sim.Buttons(buttons), uint16(aim))
	}
	v := buttons<<10 | aim
	return []byte{byte(v), byte(v >> 8), byte(v >> 16)}
}

// batch is an InputBatch of raw arena inputs buttons[i], aim[i].
func batch(first uint32, buttons, aims []uint32) *sessionpb.InputBatch {
	b := &sessionpb.InputBatch{FirstSeq: first}
	for i := range buttons {
		aim := uint32(0)
		if i < len(aims) {
			aim = aims[i]
		}
		b.Inputs = append(b.Inputs, rawInput(buttons[i], aim))
	}
	return b
}

func withAck(b *sessionpb.InputBatch, tick uint32) *sessionpb.InputBatch {
	b.AckTick = tick
	return b
}

func withView(b *sessionpb.InputBatch, tick uint32) *sessionpb.InputBatch {
	b.ViewTick = tick
	return b
}

// rulesOf is the arena configuration a Joined describes.
func rulesOf(j *sessionpb.Joined) sim.Config {
	c, err := arena.NewClient(j.GetDescribe())
	if err != nil {
		panic(err)
	}
	return c.Config
}
