package fleet

import (
	"context"
	_ "embed"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Crash checkpoints (issue 16) in Redis:
//
//	ckpt:<node>            set: the rooms node checkpointed; expires
//	ckpt:<node>:<room>     string: the room's latest bundle; expires
//	ckptnodes:<mode>       sorted set: node -> expiry of its checkpoints
//	sess:<session>         string: the public address of the node that holds
//	                       a session it adopted or restored; expires with
//	                       the session's hold
//
// Every CheckpointEvery a node replaces its checkpoints (one script). On
// every heartbeat a node looks for nodes of its mode whose heartbeat
// lapsed and whose checkpoints are still there, and restores up to
// claimPerBeat of their rooms (each taken once: live nodes share them). A
// node that stops on purpose deletes its checkpoints (Close), so only a
// crash (or a node cut off from Redis for longer than the TTL) leads to a
// restore.

var (
	//go:embed lua/checkpoint.lua
	luaCheckpoint string
	//go:embed lua/claim.lua
	luaClaim string
	//go:embed lua/peers.lua
	luaPeers string

	scriptCheckpoint = redis.NewScript(luaCheckpoint)
	scriptClaim      = redis.NewScript(luaClaim)
	scriptPeers      = redis.NewScript(luaPeers)
)

// claimPerBeat bounds the rooms a node restores per heartbeat.
const claimPerBeat = 4

// checkpointTTL is how long a checkpoint outlives its node's last one: past
// the directory's TTL (a dead node is noticed) plus time for the others to
// claim it.
func (n *Node) checkpointTTL() time.Duration {
	return max(10*n.cfg.CheckpointEvery, n.cfg.TTL+10*n.cfg.Heartbeat, 10*time.Second)
}

// checkpointLoop stores this node's checkpoints every CheckpointEvery until
// Close.
func (n *Node) checkpointLoop() {
	t := time.NewTicker(n.cfg.CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			n.checkpoint(n.cfg.Checkpoint())
		}
	}
}

// checkpoint replaces this node's checkpoints with rooms (none: deletes
// them).
func (n *Node) checkpoint(rooms map[string][]byte) {
	args := make([]any, 0, 5+2*len(rooms))
	args = append(args, n.cfg.Prefix, n.id, n.cfg.Mode, n.checkpointTTL().Milliseconds(), len(rooms))
	bytes := 0
	for id, b := range rooms {
		args = append(args, id, b)
		bytes += len(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
	defer cancel()
	if err := scriptCheckpoint.Run(ctx, n.rdb, nil, args...).Err(); err != nil {
		n.checkpointFailures.Add(1)
		return
	}
	n.checkpoints.Add(uint64(len(rooms)))
	n.checkpointBytes.Add(uint64(bytes))
}

// claim restores rooms of dead nodes of this mode from their checkpoints.
// It runs on the heartbeat goroutine.
func (n *Node) claim(ctx context.Context) {
	if n.cfg.Restore == nil || n.left.Load() || !n.healthy.Load() {
		return
	}
	res, err := scriptClaim.Run(ctx, n.rdb, nil, n.cfg.Prefix, n.id, n.cfg.Mode, claimPerBeat).StringSlice()
	if err != nil {
		return
	}
	for i := 0; i+2 < len(res); i += 3 {
		dead, roomID, bundle := res[i], res[i+1], res[i+2]
		if err := n.cfg.Restore([]byte(bundle)); err != nil {
			n.restoreFailed.Add(1)
			n.log.Warn("fleet: could not restore a dead node's room", "node", dead, "room", roomID, "err", err)
			continue
		}
		n.restored.Add(1)
		n.log.Info("fleet: restored a room of a node whose heartbeat lapsed", "node", dead, "room", roomID, "bytes", len(bundle))
	}
}

// refreshPeers reads the other live nodes' addresses (Peers).
func (n *Node) refreshPeers(ctx context.Context) {
	addrs, err := scriptPeers.Run(ctx, n.rdb, nil, n.cfg.Prefix, n.id).StringSlice()
	if err == nil {
		slices.Sort(addrs)
		n.peers.Store(&addrs)
	}
}

// Peers returns the public addresses of the other live servers of the
// fleet, as of the last heartbeat.
func (n *Node) Peers() []string {
	if p := n.peers.Load(); p != nil {
		return *p
	}
	return nil
}

// HoldSessions records in the directory that this server holds the
// sessions ids (adopted or restored) in room roomID, restored at tick, for
// ttl, so that any server can send their clients here (Locate).
func (n *Node) HoldSessions(ids []string, roomID string, tick uint32, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
	defer cancel()
	v := n.cfg.Addr + "\n" + roomID + "\n" + strconv.FormatUint(uint64(tick), 10)
	_, err := n.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Set(ctx, n.cfg.Prefix+"sess:"+id, v, ttl)
		}
		return nil
	})
	if err != nil {
		n.log.Warn("fleet: could not record adopted sessions", "err", err)
	}
}

// Locate returns the public address of the server that holds session id
// (HoldSessions), the room and the tick it was taken at; "" when none
// does.
func (n *Node) Locate(ctx context.Context, id string) (addr, roomID string, tick uint32, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.OpTimeout)
	defer cancel()
	v, err := n.rdb.Get(ctx, n.cfg.Prefix+"sess:"+id).Result()
	if err == redis.Nil {
		return "", "", 0, nil
	}
	if err != nil {
		return "", "", 0, n.unavailable(err)
	}
	parts := strings.SplitN(v, "\n", 3)
	if len(parts) == 3 {
		t, _ := strconv.ParseUint(parts[2], 10, 32)
		return parts[0], parts[1], uint32(t), nil
	}
	return parts[0], "", 0, nil
}
