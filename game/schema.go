package game

import (
	"errors"
	"fmt"
	"math"
)

// Schema declares what a game replicates: kinds of entities, each entity a
// row of integer fields. It is declared once (a package-level value of the
// game) and never changed; the engine sends it to clients in Joined, so a
// client decodes snapshots without knowing the game.
type Schema struct {
	// Kinds are encoded in this order; a snapshot has one section per kind.
	// At most MaxKinds.
	Kinds []Kind
}

// Kind is one kind of entity (players, shots, cells).
type Kind struct {
	// Name is 1..32 bytes, unique within the schema.
	Name string
	// Fields are a row's values, in this order; at most MaxFields. An
	// entity's id is not a field.
	Fields []Field
	// Players marks the kind whose entity ids are PlayerIDs: the client
	// predicts its own entity of this kind. At most one kind has it.
	Players bool
	// Immutable promises that an entity never changes once it appears (a
	// projectile that follows from its origin and age). Deltas then carry
	// only which entities left and which arrived, in full, without field
	// masks. An entity that does change anyway is sent as removed and
	// added again: correct, only larger.
	Immutable bool
}

// Field is one integer value of an entity.
type Field struct {
	// Name is 1..32 bytes, unique within the kind.
	Name string
	// Signed fields hold int32 values. Others hold uint32 values no larger
	// than Max (0: no bound below 2^32-1); a decoder refuses any other.
	Signed bool
	Max    uint32
	// Wrap, when non-zero, makes the field an angle: values 0..Wrap-1 that
	// wrap around (interpolated the short way round). Only for unsigned
	// fields; it implies Max = Wrap-1.
	Wrap uint32
	// Interpolate asks clients to draw the field between two snapshots
	// (positions, angles) instead of jumping to each new value.
	Interpolate bool
	// Predicted marks a field of the player kind that the game's Client
	// predicts for the own player: a snapshot that disagrees with the
	// prediction while no unpredicted field changed is a correction.
	Predicted bool
	// Tick marks an unsigned field that holds a tick number (a spawn tick):
	// a new entity carries it as an age, snapshot tick − value, which is
	// short on the wire.
	Tick bool
	// Jump marks a field whose change means the entity jumped (died,
	// respawned, teleported): a client does not interpolate the entity
	// across a snapshot where it changed, and does not smooth a prediction
	// over it.
	Jump bool
}

// Limits of a schema.
const (
	MaxKinds  = 16
	MaxFields = 64
	maxName   = 32
)

// ErrSchema is wrapped by Validate's errors.
var ErrSchema = errors.New("game: invalid schema")

// Validate reports whether s is well formed. The engine validates a game's
// schema once, when the game is registered.
func (s *Schema) Validate() error {
	if s == nil || len(s.Kinds) == 0 || len(s.Kinds) > MaxKinds {
		return fmt.Errorf("%w: 1..%d kinds", ErrSchema, MaxKinds)
	}
	players := 0
	kinds := map[string]bool{}
	for _, k := range s.Kinds {
		if k.Name == "" || len(k.Name) > maxName || kinds[k.Name] {
			return fmt.Errorf("%w: kind name %q empty, too long or repeated", ErrSchema, k.Name)
		}
		kinds[k.Name] = true
		if k.Players {
			players++
		}
		if len(k.Fields) > MaxFields {
			return fmt.Errorf("%w: kind %s has more than %d fields", ErrSchema, k.Name, MaxFields)
		}
		fields := map[string]bool{}
		for _, f := range k.Fields {
			if f.Name == "" || len(f.Name) > maxName || fields[f.Name] {
				return fmt.Errorf("%w: field name %q of kind %s empty, too long or repeated", ErrSchema, f.Name, k.Name)
			}
			fields[f.Name] = true
			if f.Signed && (f.Max != 0 || f.Wrap != 0 || f.Tick) {
				return fmt.Errorf("%w: signed field %s.%s cannot have Max, Wrap or Tick", ErrSchema, k.Name, f.Name)
			}
			if f.Wrap != 0 && f.Max != 0 && f.Max != f.Wrap-1 {
				return fmt.Errorf("%w: field %s.%s: Wrap implies Max = Wrap-1", ErrSchema, k.Name, f.Name)
			}
			if f.Predicted && !k.Players {
				return fmt.Errorf("%w: field %s.%s is predicted outside the player kind", ErrSchema, k.Name, f.Name)
			}
		}
	}
	if players > 1 {
		return fmt.Errorf("%w: more than one player kind", ErrSchema)
	}
	return nil
}

// Kind returns the index of the kind named name, or -1.
func (s *Schema) Kind(name string) int {
	for i := range s.Kinds {
		if s.Kinds[i].Name == name {
			return i
		}
	}
	return -1
}

// PlayerKind returns the index of the player kind, or -1 when there is none.
func (s *Schema) PlayerKind() int {
	for i := range s.Kinds {
		if s.Kinds[i].Players {
			return i
		}
	}
	return -1
}

// Field returns the index of field name in kind k, or -1.
func (k *Kind) Field(name string) int {
	for i := range k.Fields {
		if k.Fields[i].Name == name {
			return i
		}
	}
	return -1
}

// Range is the smallest and largest value the field may hold.
func (f *Field) Range() (lo, hi int64) {
	switch {
	case f.Signed:
		return math.MinInt32, math.MaxInt32
	case f.Wrap != 0:
		return 0, int64(f.Wrap) - 1
	case f.Max != 0:
		return 0, int64(f.Max)
	}
	return 0, math.MaxUint32
}

// Equal reports whether s and o declare the same kinds and fields (a client
// checks the schema a server sent against the game it was built with).
func (s *Schema) Equal(o *Schema) bool {
	if len(s.Kinds) != len(o.Kinds) {
		return false
	}
	for i := range s.Kinds {
		a, b := &s.Kinds[i], &o.Kinds[i]
		if a.Name != b.Name || a.Players != b.Players || a.Immutable != b.Immutable || len(a.Fields) != len(b.Fields) {
			return false
		}
		for j := range a.Fields {
			if a.Fields[j] != b.Fields[j] {
				return false
			}
		}
	}
	return true
}
