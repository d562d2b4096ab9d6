package room

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/game"
	"github.com/arenaserver/arena/games/arena"
	"github.com/arenaserver/arena/games/arena/sim"
	"github.com/arenaserver/arena/netcode/outbox"
)

// scriptedInput is player p's input for tick: a pure function, so two
// processes feed a match the same inputs.
func scriptedInput(tick uint32, p game.PlayerID) (game.Input, bool) {
	h := uint64(tick)*0x9e3779b97f4a7c15 ^ uint64(p)*0xbf58476d1ce4e5b9
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	h ^= h >> 29
	if h%5 == 0 {
		return game.Input{}, false // late: the player stands still this tick
	}
	in := arena.AppendInput(nil, sim.Buttons(h>>8%32), uint16(h>>16%sim.AimSteps))
	return game.Input{Data: in, ViewTick: tick - min(tick, uint32(h>>24%6))}, true
}

// playScripted runs ticks from..to of r (started or not: it drives tick
// directly), feeding every member its scripted input, and returns the
// match's hash after each tick.
func playScripted(r *Room, from, to uint32) []uint64 {
	var hashes []uint64
	for tick := from; tick <= to; tick++ {
		for _, m := range r.members {
			if in, ok := scriptedInput(tick, m.player); ok {
				m.inputs.add(tick, []game.Input{in})
			}
		}
		r.tick()
		hashes = append(hashes, r.hash())
	}
	return hashes
}

// scriptedRoom is a 16-player arena room (no goroutine) whose members'
// inputs come from scriptedInput.
func scriptedRoom(t testing.TB, players int) *Room {
	r, err := newRoom("saved", quietConfig(Config{Seed: 99}), nil)
	require.NoError(t, err)
	for i := range players {
		m := &Member{room: r, name: fmt.Sprintf("p%d", i+1), out: outbox.New(0)}
		m.init()
		require.NoError(t, r.add(m, 0))
		r.seats.Add(1)
	}
	return r
}

const (
	saveAt  = 700
	playTo  = 1500
	envSave = "ROOM_SAVED_MATCH"
)

// TestSavedRoomContinuesInAnotherProcess saves a 16-player arena match at
// tick 700, restores it in a new process (this test binary, run again) and
// plays both to tick 1500 with the same inputs: every tick's state hash
// must match. The saved bytes carry the match, its random source, the
// members and the inputs still queued.
func TestSavedRoomContinuesInAnotherProcess(t *testing.T) {
	r := scriptedRoom(t, 16)
	playScripted(r, 1, saveAt)
	// Inputs in flight when the match is saved travel with it.
	for _, m := range r.members[:4] {
		in, _ := scriptedInput(saveAt+1, m.player)
		m.inputs.add(saveAt+1, []game.Input{in})
	}
	saved, err := r.save(nil)
	require.NoError(t, err)
	want := playScripted(r, saveAt+1, playTo)
	require.Len(t, want, playTo-saveAt)

	path := filepath.Join(t.TempDir(), "match.saved")
	require.NoError(t, os.WriteFile(path, saved, 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreHelperProcess$", "-test.v")
	cmd.Env = append(os.Environ(), envSave+"="+path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "helper process: %s", out)
	var got []uint64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), "hash "); ok {
			v, err := strconv.ParseUint(h, 16, 64)
			require.NoError(t, err)
			got = append(got, v)
		}
	}
	require.Len(t, got, len(want), "the helper played every tick:\n%s", out)
	for i := range want {
		require.Equal(t, want[i], got[i], "tick %d differs after the restore", saveAt+1+i)
	}
}

// TestRestoreHelperProcess is the other process of
// TestSavedRoomContinuesInAnotherProcess; run alone it does nothing.
func TestRestoreHelperProcess(t *testing.T) {
	path := os.Getenv(envSave)
	if path == "" {
		return
	}
	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	r, err := restore("saved", quietConfig(Config{}), saved, nil)
	require.NoError(t, err)
	require.Len(t, r.members, 16)
	// The first scripted tick's inputs of the four members were queued
	// when the match was saved; the rest arrive now, as in the original.
	for i, m := range r.members {
		if i < 4 {
			require.Equal(t, 1, m.inputs.n, "queued inputs travel")
		}
	}
	for _, h := range playScripted(r, saveAt+1, playTo) {
		fmt.Printf("hash %x\n", h)
	}
}

func TestRestoreRefusesDamagedOrForeignSaves(t *testing.T) {
	r := scriptedRoom(t, 2)
	playScripted(r, 1, 10)
	saved, err := r.save(nil)
	require.NoError(t, err)
	_, err = restore("x", quietConfig(Config{}), saved, nil)
	require.NoError(t, err)
	for _, bad := range [][]byte{nil, saved[:len(saved)/2], append(append([]byte{}, saved...), 1), []byte("ARM\x09")} {
		_, err := restore("x", quietConfig(Config{}), bad, nil)
		assert.Error(t, err)
	}
	_, err = restore("x", quietConfig(Config{Game: tallyDef}), saved, nil)
	assert.ErrorIs(t, err, ErrSaved, "an arena save is not a tally match")
}

// TestSaveAndRestoreThroughRunningRooms: Save on a running room, Restore
// into a running one; the restored members are held with their seats.
func TestSaveAndRestoreThroughRunningRooms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New("live", quietConfig(Config{}), nil)
		require.NoError(t, err)
		join(t, r, newReceiver(t), false)
		join(t, r, newReceiver(t), true)
		time.Sleep(time.Second)
		synctest.Wait()
		saved, err := r.Save(context.Background())
		require.NoError(t, err)
		tick := r.Info().Tick
		r.Close(nil)
		<-r.Done()
		r2, err := Restore("live", quietConfig(Config{}), saved, nil)
		require.NoError(t, err)
		defer r2.Close(nil)
		info := r2.Info()
		assert.Equal(t, 1, info.Players)
		assert.Equal(t, 1, info.Spectators)
		assert.GreaterOrEqual(t, info.Tick, tick-1)
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Greater(t, r2.Info().Tick, tick+50, "the restored room ticks on")
	})
}

// BenchmarkSaveRestore16 measures saving and restoring a 16-player arena
// match in mid-fight, and reports its size.
func BenchmarkSaveRestore16(b *testing.B) {
	r := scriptedRoom(b, 16)
	playScripted(r, 1, 600)
	saved, err := r.save(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("save", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 8192)
		for b.Loop() {
			if buf, err = r.save(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(saved)), "bytes")
	})
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := restore("saved", quietConfig(Config{}), saved, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
