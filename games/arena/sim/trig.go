package sim

import "math"

// trigOne is the fixed-point 1.0 of the cosine table.
const trigOne = 1 << 14

// cosTable[a] is round(trigOne·cos(2π·a/AimSteps)). It is built once from
// math.Cos and rounded, so every platform gets the same integers; PROTOCOL.md
// gives the same formula for clients in other languages.
var cosTable = func() (t [AimSteps]int32) {
	for a := range t {
		t[a] = int32(math.Round(trigOne * math.Cos(2*math.Pi*float64(a)/AimSteps)))
	}
	return t
}()

// Dir returns the fixed-point unit vector (scaled by 1<<14) of aim.
func Dir(aim uint16) (dx, dy int32) {
	a := int(aim) % AimSteps
	return cosTable[a], cosTable[(a+3*AimSteps/4)%AimSteps]
}
