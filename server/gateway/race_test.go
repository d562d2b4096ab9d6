//go:build race

package gateway

// raceEnabled scales the heaviest attack tests down under the race
// detector, which slows the server several times.
const raceEnabled = true
