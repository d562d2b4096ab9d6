package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/client"
	"github.com/arenaserver/arena/proto/sessionpb"
	"github.com/arenaserver/arena/server/fleet"
	"github.com/arenaserver/arena/server/room"
)

// fakeDir is a Directory whose answers the test scripts (the real one,
// over Redis, is tested in server/fleet and server/e2e).
type fakeDir struct {
	mu         sync.Mutex
	place      func(fleet.Want) (fleet.Placement, error)
	redeem     func(roomID, reservation string) (fleet.Ticket, error)
	wants      []fleet.Want
	settled    []string
	broadcasts []string
}

func (d *fakeDir) Rooms(context.Context) ([]fleet.Room, error) {
	return []fleet.Room{{ID: "rfar", Addr: "ws://far/ws", Mode: "arena", Players: 3, Capacity: 4}}, nil
}

func (d *fakeDir) Place(_ context.Context, w fleet.Want) (fleet.Placement, error) {
	d.mu.Lock()
	d.wants = append(d.wants, w)
	f := d.place
	d.mu.Unlock()
	return f(w)
}

func (d *fakeDir) Redeem(_ context.Context, roomID, reservation string) (fleet.Ticket, error) {
	return d.redeem(roomID, reservation)
}

func (d *fakeDir) Settle(roomID, reservation string) {
	d.mu.Lock()
	d.settled = append(d.settled, roomID+"/"+reservation)
	d.mu.Unlock()
}

func (d *fakeDir) Broadcast(name string, payload []byte) {
	d.mu.Lock()
	d.broadcasts = append(d.broadcasts, name+"="+string(payload))
	d.mu.Unlock()
}

func (d *fakeDir) log() (wants []fleet.Want, settled, broadcasts []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append(wants, d.wants...), append(settled, d.settled...), append(broadcasts, d.broadcasts...)
}

func noRedeem(string, string) (fleet.Ticket, error) {
	return fleet.Ticket{}, fleet.ErrReservationInvalid
}

// twoServers: a quick join at a is placed in room "rx" on b.
func twoServers(t *testing.T, redeem func(roomID, reservation string) (fleet.Ticket, error)) (a, b *testServer, da, db *fakeDir) {
	da, db = &fakeDir{redeem: noRedeem}, &fakeDir{redeem: redeem}
	b = startServer(t, room.Config{Capacity: 4}, Config{Fleet: db})
	da.place = func(w fleet.Want) (fleet.Placement, error) {
		return fleet.Placement{RoomID: "rx", Addr: b.url, Reservation: "tok", Expires: time.Now().Add(10 * time.Second)}, nil
	}
	db.place = func(w fleet.Want) (fleet.Placement, error) {
		return fleet.Placement{RoomID: "rlocal", Local: true, Create: true, Capacity: 4, Reservation: "tok2"}, nil
	}
	a = startServer(t, room.Config{Capacity: 4}, Config{Fleet: da})
	return a, b, da, db
}

func TestClientFollowsRedirect(t *testing.T) {
	for _, transport := range []string{"ws", "poll"} {
		t.Run(transport, func(t *testing.T) {
			a, b, da, db := twoServers(t, func(roomID, reservation string) (fleet.Ticket, error) {
				if roomID == "rx" && reservation == "tok" {
					return fleet.Ticket{RoomID: "rx", Create: true, Capacity: 3, Reservation: reservation}, nil
				}
				return fleet.Ticket{}, fleet.ErrReservationInvalid
			})
			snaps := make(chan struct{}, 1)
			c, err := client.Dial(context.Background(), client.Config{URL: a.url, Name: "far", Transport: transport,
				OnSnapshot: func(*client.Snapshot) {
					select {
					case snaps <- struct{}{}:
					default:
					}
				}})
			require.NoError(t, err)
			defer c.Close()
			j, err := c.Join(context.Background(), "", false)
			require.NoError(t, err)
			assert.Equal(t, "rx", j.GetRoom().GetId())
			assert.EqualValues(t, 3, j.GetRoom().GetCapacity(), "opened with the capacity the directory chose")
			assert.Equal(t, b.url, c.URL())
			assert.Equal(t, transport, c.Transport())
			assert.EqualValues(t, 1, c.Stats().Moves)
			select {
			case <-snaps:
			case <-time.After(5 * time.Second):
				t.Fatal("no snapshot from the room on the other server")
			}
			require.NotNil(t, b.lob.Room("rx"))
			assert.Nil(t, a.lob.Room("rx"))
			wants, _, _ := da.log()
			require.Len(t, wants, 1)
			assert.False(t, wants[0].LocalOnly, "the reference client follows redirects")
			_, settled, _ := db.log()
			assert.Equal(t, []string{"rx/tok"}, settled)
			// The old session said goodbye: nothing is held on a.
			require.Eventually(t, func() bool { return a.gw.Stats().Sessions == 0 }, 2*time.Second, 10*time.Millisecond)
			assert.EqualValues(t, 1, b.gw.Stats().Sessions)
			// The session on b is a full one: requests, events, leave.
			rooms, err := c.ListRooms(context.Background())
			require.NoError(t, err)
			require.Len(t, rooms, 1)
			assert.Equal(t, "ws://far/ws", rooms[0].GetAddress(), "listings come from the directory")
			require.NoError(t, c.Leave(context.Background()))
		})
	}
}

func TestRefusedReservationQuickJoinsAgain(t *testing.T) {
	_, b, _, db := twoServers(t, func(string, string) (fleet.Ticket, error) { return fleet.Ticket{}, fleet.ErrReservationUsed })
	a2 := startServer(t, room.Config{Capacity: 4}, Config{Fleet: &fakeDir{redeem: noRedeem, place: func(fleet.Want) (fleet.Placement, error) {
		return fleet.Placement{RoomID: "rx", Addr: b.url, Reservation: "tok"}, nil
	}}})
	c, err := client.Dial(context.Background(), client.Config{URL: a2.url, Name: "late"})
	require.NoError(t, err)
	defer c.Close()
	j, err := c.Join(context.Background(), "", false)
	require.NoError(t, err, "a spent reservation is not the end of a quick join")
	assert.Equal(t, "rlocal", j.GetRoom().GetId(), "placed again by the server it was sent to")
	assert.Equal(t, b.url, c.URL())
	// The server settles the reservation once the room has seated the
	// player, which the Joined frame may outrun.
	assert.Eventually(t, func() bool { _, settled, _ := db.log(); return len(settled) == 1 }, 2*time.Second, time.Millisecond)
	_, settled, _ := db.log()
	assert.Equal(t, []string{"rlocal/tok2"}, settled)

	// A join by id is not retried: the refusal is the answer.
	c2, err := client.Dial(context.Background(), client.Config{URL: a2.url, Name: "byid"})
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.Join(context.Background(), "rx", false)
	var pe *netcode.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_RESERVATION_USED, pe.Code)
}

func TestDirectoryUnavailableJoinsHere(t *testing.T) {
	d := &fakeDir{redeem: noRedeem, place: func(fleet.Want) (fleet.Placement, error) {
		return fleet.Placement{}, errors.Join(fleet.ErrUnavailable, errors.New("connection refused"))
	}}
	ts := startServer(t, room.Config{Capacity: 4}, Config{Fleet: d})
	c, err := client.Dial(context.Background(), client.Config{URL: ts.url, Name: "alone"})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Join(context.Background(), "relsewhere", false)
	var pe *netcode.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, sessionpb.ErrorCode_ERROR_CODE_FLEET_UNAVAILABLE, pe.Code, "a room that may be on another server")
	j, err := c.Join(context.Background(), "", false)
	require.NoError(t, err, "quick join falls back to this server's rooms")
	assert.NotNil(t, ts.lob.Room(j.GetRoom().GetId()))
	assert.EqualValues(t, 0, c.Stats().Moves)
}

func TestEmitAllGoesToTheFleet(t *testing.T) {
	d := &fakeDir{redeem: noRedeem, place: func(fleet.Want) (fleet.Placement, error) {
		return fleet.Placement{RoomID: "rhere", Local: true, Create: true, Capacity: 4}, nil
	}}
	ts := startServer(t, room.Config{}, Config{Fleet: d})
	got := make(chan string, 4)
	c, err := client.Dial(context.Background(), client.Config{URL: ts.url, Name: "p"})
	require.NoError(t, err)
	defer c.Close()
	c.On("announce", func(p []byte) ([]byte, error) { got <- string(p); return nil, nil })
	j, err := c.Join(context.Background(), "", false)
	require.NoError(t, err)
	// The Joined frame may reach the client a moment before the gateway
	// has recorded the seat: retry until the room has its member.
	assert.Eventually(t, func() bool { return ts.gw.EmitRoom(j.GetRoom().GetId(), "round", []byte("2"), nil) == 1 },
		2*time.Second, time.Millisecond)
	_, err = c.EmitAck(context.Background(), room.ChatEvent, []byte("gg"))
	require.NoError(t, err)
	assert.Equal(t, 1, ts.gw.EmitAll("announce", []byte("all")))
	assert.Equal(t, 1, ts.gw.EmitLocal("announce", []byte("here")))
	for _, want := range []string{"all", "here"} {
		select {
		case g := <-got:
			assert.Equal(t, want, g)
		case <-time.After(3 * time.Second):
			t.Fatalf("no %q", want)
		}
	}
	_, _, broadcasts := d.log()
	assert.Equal(t, []string{"announce=all"}, broadcasts, "EmitAll publishes to the fleet; EmitLocal, rooms and chat do not")
}
