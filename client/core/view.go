package core

import (
	"github.com/arenaserver/arena/game"
)

// RoomInfo is one room of the server's list.
type RoomInfo struct {
	ID                string
	Game              string // the game the room plays
	Players, Capacity int
}

// View is everything the shell draws for one frame: the lobby, the status
// line, the net graph, and the room's Scene, which the game's renderer
// draws. Update rebuilds it; it belongs to the game loop, and its slices,
// tables and map are reused by the next Update.
type View struct {
	Phase  Phase
	Status string
	Name   string
	Busy   bool       // a lobby action is in flight
	Rooms  []RoomInfo // from the last ListRooms
	// RoomID and Game are the room played or watched and its game; empty
	// outside a room.
	RoomID, Game string
	// Membership counts the rooms joined or watched: it changes whenever a
	// new membership starts, so a renderer that keeps state across frames
	// (a kill feed) is made anew for each.
	Membership uint64
	// Ready is true once there is a state to draw (Scene.Ready).
	Ready bool
	// Scene is the room as the client sees it now; nil outside a room.
	Scene *game.Scene
	Net   *NetStats
}

// View returns the frame's view. The pointer stays valid; its content
// changes at each Update.
func (s *Session) View() *View { return &s.view }

// buildView rebuilds the view and, in a room, its scene: Newest as
// received, Shown interpolated at the render tick, Predicted with the own
// pending inputs (and what is left of a smoothed correction).
func (s *Session) buildView() {
	v := &s.view
	v.Phase, v.Status, v.Name, v.Busy = s.phase, s.status, s.name, s.busy.Load()
	v.Rooms = append(v.Rooms[:0], s.rooms...)
	v.Net = &s.net
	v.Membership = s.memberships
	v.RoomID, v.Game, v.Ready, v.Scene = "", "", false, nil
	if s.joined == nil {
		return
	}
	v.RoomID, v.Game = s.joined.GetRoom().GetId(), s.joined.GetGame()
	sc := &s.scene
	*sc = game.Scene{Game: v.Game, Describe: s.joined.GetDescribe(), Client: s.client, Self: s.self, Names: s.names}
	v.Scene = sc
	if s.tl == nil || s.tl.n == 0 || !s.haveNewest {
		return
	}
	v.Ready, sc.Ready = true, true
	sc.Newest = &s.newest
	a, b, alpha := s.tl.bracket()
	s.interp.interpolate(&s.shown, a, b, alpha)
	sc.Shown = &s.shown
	sc.RenderTick, sc.PredictedTick = s.tl.render, s.tl.render
	if s.phase == PhasePlaying && s.pred != nil && s.pred.predOK {
		sc.Predicted = s.pred.shown()
		sc.PredictedTick = float64(s.pred.baseTick + s.pred.pending())
	}
}
