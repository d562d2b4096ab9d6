package sim

// Rules are the tunable numbers of the game, already converted to ticks and
// fixed-point units for one tick rate. Build them with NewRules.
type Rules struct {
	TickRate         uint32
	PlayerHalf       int32  // half the side of a player's square hitbox
	PlayerSpeed      int32  // per tick, along one axis
	PlayerDiagonal   int32  // per tick, along each axis when moving diagonally
	ProjectileSpeed  int32  // per tick
	ProjectileRadius int32  // added to a player's half size for hits
	ProjectileLife   uint32 // ticks
	FireInterval     uint32 // ticks between two shots of one player
	RespawnDelay     uint32 // ticks a dead player waits
	MaxHealth        uint8
	Damage           uint8
	// MaxRewind bounds lag compensation: a shot is judged against where its
	// targets were at most this many ticks ago. 0 turns it off.
	MaxRewind uint32
}

// NewRules derives the per-tick rules for tickRate ticks per second
// (1..240; out-of-range values are clamped): players move 200 units/s,
// projectiles 600 units/s for 1.5 s, a player fires at most 4 shots/s, a hit
// takes 25 of 100 health, the dead respawn after 2 s, and shots are judged
// against the past by at most 200 ms.
func NewRules(tickRate uint32) Rules {
	tickRate = min(max(tickRate, 1), 240)
	perTick := func(unitsPerSecond int32) int32 {
		return (unitsPerSecond*Scale + int32(tickRate)/2) / int32(tickRate)
	}
	ticks := func(ms uint32) uint32 { return max(1, (ms*tickRate+500)/1000) }
	speed := perTick(200)
	return Rules{
		TickRate:         tickRate,
		PlayerHalf:       12 * Scale,
		PlayerSpeed:      speed,
		PlayerDiagonal:   (speed*181 + 128) >> 8, // speed·√½
		ProjectileSpeed:  perTick(600),
		ProjectileRadius: 3 * Scale,
		ProjectileLife:   ticks(1500),
		FireInterval:     ticks(250),
		RespawnDelay:     ticks(2000),
		MaxHealth:        100,
		Damage:           25,
		MaxRewind:        ticks(200),
	}
}
