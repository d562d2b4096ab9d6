package netcode

import (
	"fmt"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// SchemaProto describes s for Joined.
func SchemaProto(s *game.Schema) *sessionpb.Schema {
	out := &sessionpb.Schema{}
	for _, k := range s.Kinds {
		pk := &sessionpb.EntityKind{Name: k.Name, Players: k.Players, Immutable: k.Immutable}
		for _, f := range k.Fields {
			pk.Fields = append(pk.Fields, &sessionpb.Field{Name: f.Name, Signed: f.Signed, Max: f.Max, Wrap: f.Wrap,
				Interpolate: f.Interpolate, Predicted: f.Predicted, Tick: f.Tick, Jump: f.Jump})
		}
		out.Kinds = append(out.Kinds, pk)
	}
	return out
}

// SchemaFromProto rebuilds the schema a server sent in Joined and validates
// it: a client decodes every game's states with it.
func SchemaFromProto(p *sessionpb.Schema) (*game.Schema, error) {
	s := &game.Schema{}
	for _, pk := range p.GetKinds() {
		k := game.Kind{Name: pk.GetName(), Players: pk.GetPlayers(), Immutable: pk.GetImmutable()}
		for _, f := range pk.GetFields() {
			k.Fields = append(k.Fields, game.Field{Name: f.GetName(), Signed: f.GetSigned(), Max: f.GetMax(), Wrap: f.GetWrap(),
				Interpolate: f.GetInterpolate(), Predicted: f.GetPredicted(), Tick: f.GetTick(), Jump: f.GetJump()})
		}
		s.Kinds = append(s.Kinds, k)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("netcode: the server's schema: %w", err)
	}
	return s, nil
}
