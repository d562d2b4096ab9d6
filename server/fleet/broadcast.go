package fleet

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/arenaserver/arena/proto/sessionpb"
)

func (n *Node) channel() string { return n.cfg.Prefix + "broadcast" }

// outboundBroadcasts bounds the broadcasts waiting to be published; past
// it a broadcast is dropped (for the other servers) and counted.
const outboundBroadcasts = 256

// Broadcast publishes a server-wide event to the other servers of the
// fleet, which hand it to every session they hold (Config.Deliver). The
// caller delivers it here itself. It does not wait for Redis: broadcasts
// are published in order by one goroutine; one made while Redis is away,
// or while 256 wait already, is lost for the other servers (counted in
// Stats.BroadcastsDropped).
func (n *Node) Broadcast(name string, payload []byte) {
	b, err := proto.Marshal(&sessionpb.Event{Name: name, Payload: payload})
	if err != nil {
		return
	}
	select {
	case n.outbox <- n.id + "\n" + string(b):
	default:
		n.broadcastsDropped.Add(1)
	}
}

// publishLoop publishes queued broadcasts until Close.
func (n *Node) publishLoop() {
	for {
		select {
		case <-n.stop:
			return
		case msg := <-n.outbox:
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.OpTimeout)
			err := n.rdb.Publish(ctx, n.channel(), msg).Err()
			cancel()
			if err != nil {
				n.broadcastsDropped.Add(1)
				n.log.Debug("fleet: broadcast not published", "err", err)
				continue
			}
			n.broadcastsOut.Add(1)
		}
	}
}

// receive hands broadcasts from other nodes to Config.Deliver until Close.
// go-redis resubscribes by itself after a lost connection (it pings the
// subscription when nothing arrived for two heartbeats).
func (n *Node) receive() {
	ch := n.sub.Channel(redis.WithChannelHealthCheckInterval(2 * n.cfg.Heartbeat))
	var ev sessionpb.Event
	mine := n.nodeChannel(n.id)
	for m := range ch {
		if m.Channel == mine {
			n.notice(m.Payload)
			continue
		}
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
