package client

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/netcode/wsconn"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// inputRecorder is the server side of a WebSocket that welcomes a client
// and records the input batches it sends.
type inputRecorder struct {
	link    *outbox.Link
	mu      sync.Mutex
	batches []*sessionpb.InputBatch
}

func (h *inputRecorder) Frame(data []byte) error {
	var m sessionpb.ClientMessage
	if err := netcode.DecodeClient(data, &m); err != nil {
		return err
	}
	switch b := m.Body.(type) {
	case *sessionpb.ClientMessage_Hello:
		h.link.Send(netcode.Marshal(&sessionpb.ServerMessage{Body: &sessionpb.ServerMessage_Welcome{
			Welcome: &sessionpb.Welcome{ResumeToken: []byte("t"), TickRate: 60, SnapshotRate: 30}}}))
	case *sessionpb.ClientMessage_Inputs:
		h.mu.Lock()
		h.batches = append(h.batches, b.Inputs)
		h.mu.Unlock()
	}
	return nil
}

func (h *inputRecorder) Reject(*netcode.Error) {}
func (h *inputRecorder) Closed(error)          {}

func (h *inputRecorder) recorded() []*sessionpb.InputBatch {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*sessionpb.InputBatch(nil), h.batches...)
}

// TestInputBatchHoldsEveryOtherInput: with InputBatch 2 a client sends a
// frame for every second input, carrying the held one (and the resends);
// with the default it sends one per input.
func TestInputBatchHoldsEveryOtherInput(t *testing.T) {
	for _, batch := range []int{0, 2} {
		rec := &inputRecorder{link: outbox.NewLink()}
		up := wsconn.NewUpgrader(wsconn.ServerOptions{Logger: quietLogger()})
		var wg sync.WaitGroup
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wg.Add(1)
			defer wg.Done()
			_ = up.Serve(w, r, rec.link, rec)
		}))
		c, err := Dial(context.Background(), Config{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws",
			Transport: "ws", Name: "b", InputBatch: batch})
		require.NoError(t, err)
		for i := range 10 {
			seq, err := c.SendInput([]byte{byte(i + 1)}, 0)
			require.NoError(t, err)
			assert.Equal(t, uint32(i+1), seq)
		}
		want := 10
		if batch == 2 {
			want = 5
		}
		require.Eventually(t, func() bool { return len(rec.recorded()) == want }, 5*time.Second, 5*time.Millisecond)
		for i, b := range rec.recorded() {
			ins := b.GetInputs()
			require.NotEmpty(t, ins)
			newest := b.GetFirstSeq() + uint32(len(ins)) - 1
			if batch == 2 {
				assert.Equal(t, uint32(2*i+2), newest, "frame %d ends with the even input", i)
				assert.Len(t, ins, min(2*i+2, 4), "the held input and two resends ride along")
			} else {
				assert.Equal(t, uint32(i+1), newest)
				assert.Len(t, ins, min(i+1, 3))
			}
			for k, in := range ins {
				assert.Equal(t, []byte{byte(b.GetFirstSeq()) + byte(k)}, in)
			}
		}
		c.Close()
		rec.link.Close(nil, nil)
		srv.Close()
		wg.Wait()
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
