package fleet

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/proto/arenapb"
)

func (n *Node) channel() string { return n.cfg.Prefix + "broadcast" }

// Broadcast publishes a server-wide event to the other servers of the
// fleet, which hand it to every session they hold (Config.Deliver). The
// caller delivers it here itself. It does not wait for Redis: a broadcast
// made while Redis is away is lost for the other servers (and logged at
// debug level).
func (n *Node) Broadcast(name string, payload []byte) {
	b, err := proto.Marshal(&arenapb.Event{Name: name, Payload: payload})
	if err != nil {
		return
	}
	msg := n.id + "\n" + string(b)
	n.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
		defer cancel()
		if err := n.rdb.Publish(ctx, n.channel(), msg).Err(); err != nil {
			n.log.Debug("fleet: broadcast not published", "event", name, "err", err)
			return
		}
		n.broadcastsOut.Add(1)
	})
}

// receive hands broadcasts from other nodes to Config.Deliver until Close.
// go-redis resubscribes by itself after a lost connection (it pings the
// subscription when nothing arrived for two heartbeats).
func (n *Node) receive() {
	ch := n.sub.Channel(redis.WithChannelHealthCheckInterval(2 * n.cfg.Heartbeat))
	var ev arenapb.Event
	for m := range ch {
		from, body, ok := strings.Cut(m.Payload, "\n")
		if !ok || from == n.id {
			continue
		}
		if err := proto.Unmarshal([]byte(body), &ev); err != nil {
			continue
		}
		n.broadcastsIn.Add(1)
		if n.cfg.Deliver != nil {
			n.cfg.Deliver(ev.GetName(), ev.GetPayload())
		}
	}
}

// spawn runs f on a goroutine Close waits for; after Close it does nothing.
func (n *Node) spawn(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.wg.Go(f)
}
