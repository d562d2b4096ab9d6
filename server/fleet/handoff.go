package fleet

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hand-offs (a draining server gives its rooms to others) go through Redis:
//
//	handoff:<token>        string: a room's bundle, single use; expires
//	                       after handoffTTL
//	handoff:<token>:reply  list: the adopting node's answer, "ok" or
//	                       "err <why>"; expires after handoffTTL
//	node:<id>              pub/sub channel: tokens of bundles for that node
//
// The bundle is opaque here (the gateway's); its size is bounded by the
// caller and by Config.HandoffBytes.

var (
	//go:embed lua/handoff.lua
	luaHandoff    string
	scriptHandoff = redis.NewScript(luaHandoff)
)

var (
	// ErrRefused means the chosen server answered that it could not adopt
	// the room.
	ErrRefused = errors.New("fleet: the other server refused the room")
	// ErrTooBig means a bundle is over Config.HandoffBytes.
	ErrTooBig = errors.New("fleet: hand-off bundle too big")
)

// handoffTTL bounds how long a bundle or an answer stays in Redis when
// nobody takes it (a node that died mid-hand-off).
const handoffTTL = 30 * time.Second

// maxAdopting bounds the hand-offs a node adopts at once; past it a
// notice is answered "busy" at once and the sender keeps its room.
const maxAdopting = 8

func (n *Node) nodeChannel(id string) string { return n.cfg.Prefix + "node:" + id }

// Hand offers bundle (a room of this node's mode, with its sessions) to
// the least loaded other live node of the mode, waits for its answer
// until ctx ends, and returns its public address. It fails with
// ErrNoServer (none), ErrRefused, ErrTooBig, ErrUnavailable, or ctx's
// error. It implements gateway.Mover.
func (n *Node) Hand(ctx context.Context, roomID string, bundle []byte) (string, error) {
	if len(bundle) > n.cfg.HandoffBytes {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooBig, len(bundle), n.cfg.HandoffBytes)
	}
	tok := randomHex(16)
	res, err := scriptHandoff.Run(ctx, n.rdb, nil, n.cfg.Prefix, n.id, n.cfg.Mode, tok, bundle, handoffTTL.Milliseconds()).StringSlice()
	if err != nil {
		return "", n.unavailable(err)
	}
	if len(res) < 3 {
		return "", ErrNoServer
	}
	node, addr := res[0], res[1]
	if heard, _ := strconv.Atoi(res[2]); heard == 0 {
		return "", fmt.Errorf("%w: node %s does not listen for hand-offs", ErrNoServer, node)
	}
	wait := time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = max(time.Second, time.Until(d).Round(time.Second)) // BLPOP counts whole seconds; ctx cuts it
	}
	reply, err := n.rdb.BLPop(ctx, wait, n.cfg.Prefix+"handoff:"+tok+":reply").Result()
	if err != nil {
		// The bundle may still be adopted after this: delete it so that a
		// late node finds nothing (a room on two servers is worse than a
		// room that stays).
		dctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
		defer cancel()
		if deleted, derr := n.rdb.Del(dctx, n.cfg.Prefix+"handoff:"+tok).Result(); derr == nil && deleted == 0 {
			// Taken meanwhile: its answer may be on its way.
			if reply, err = n.rdb.BLPop(dctx, time.Second, n.cfg.Prefix+"handoff:"+tok+":reply").Result(); err == nil {
				return n.answer(roomID, node, addr, reply[1])
			}
		}
		if errors.Is(err, redis.Nil) {
			err = context.DeadlineExceeded
		}
		return "", fmt.Errorf("fleet: hand-off of %s to %s: no answer: %w", roomID, node, err)
	}
	return n.answer(roomID, node, addr, reply[1])
}

func (n *Node) answer(roomID, node, addr, reply string) (string, error) {
	if reply != "ok" {
		return "", fmt.Errorf("%w: %s (%s)", ErrRefused, strings.TrimPrefix(reply, "err "), node)
	}
	n.handedOut.Add(1)
	n.log.Debug("fleet: room handed off", "room", roomID, "to", node)
	// Its checkpoint here is stale now: were this server to die before its
	// next checkpoint, nobody must restore the room a second time.
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
	defer cancel()
	set := n.cfg.Prefix + "ckpt:" + n.id
	_, _ = n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SRem(ctx, set, roomID)
		p.Del(ctx, set+":"+roomID)
		return nil
	})
	return addr, nil
}

// adopt takes the bundle a notice names and hands it to Config.Adopt, then
// answers. It runs on a goroutine of its own (n.wg), at most maxAdopting
// at once.
func (n *Node) adopt(tok string) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
	defer cancel()
	answer := "ok"
	bundle, err := n.rdb.GetDel(ctx, n.cfg.Prefix+"handoff:"+tok).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return // the sender gave up and took it back: nobody waits
	case err != nil:
		answer = "err " + err.Error()
	case len(bundle) > n.cfg.HandoffBytes:
		answer = "err " + ErrTooBig.Error()
	default:
		if err := n.cfg.Adopt(bundle); err != nil {
			answer = "err " + err.Error()
		}
	}
	if answer == "ok" {
		n.adopted.Add(1)
	} else {
		n.adoptFailed.Add(1)
		n.log.Warn("fleet: could not adopt a room", "err", answer)
	}
	key := n.cfg.Prefix + "handoff:" + tok + ":reply"
	_, err = n.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, answer)
		p.PExpire(ctx, key, handoffTTL)
		return nil
	})
	if err != nil {
		n.log.Warn("fleet: could not answer a hand-off", "err", err)
	}
}

// notice handles a message on this node's own channel.
func (n *Node) notice(tok string) {
	if n.cfg.Adopt == nil || len(tok) != 32 {
		return
	}
	select {
	case n.adopting <- struct{}{}:
	default:
		n.adoptFailed.Add(1)
		n.answerBusy(tok)
		return
	}
	n.wg.Go(func() {
		defer func() { <-n.adopting }()
		n.adopt(tok)
	})
}

func (n *Node) answerBusy(tok string) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
	defer cancel()
	key := n.cfg.Prefix + "handoff:" + tok + ":reply"
	_ = n.rdb.Del(ctx, n.cfg.Prefix+"handoff:"+tok).Err()
	_ = n.rdb.LPush(ctx, key, "err busy adopting other rooms").Err()
	_ = n.rdb.PExpire(ctx, key, handoffTTL).Err()
}
