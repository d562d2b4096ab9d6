// Package pollconn carries protocol frames over HTTP long-polling, for
// networks that refuse WebSocket upgrades. The frames are exactly those of
// the WebSocket transport, as application/octet-stream, each prefixed by
// its length as a uvarint (no base64):
//
//	POST /poll           open a channel; 201, its id in the Arena-Poll-Id header
//	                     and its key in Arena-Poll-Key
//	GET  /poll?sid=ID    frames queued since the last GET, or wait up to Wait
//	POST /poll?sid=ID    one or more client frames
//	DELETE /poll?sid=ID  close the channel
//
// Every request with ?sid= must carry the channel's key in the
// Arena-Poll-Key header: the id alone, which travels in the address (and
// so into proxy logs), is not a credential. A request without the right
// key is refused (403) and changes nothing.
//
// The server side drains an outbox link (the same one the WebSocket writer
// drains) into GET responses and hands POSTed frames to a handler; the
// client side does the reverse.
//
// pollconn knows nothing of rooms: it imports netcode and its outbox only.
package pollconn

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arenaserver/arena/netcode"
	"github.com/arenaserver/arena/netcode/outbox"
	"github.com/arenaserver/arena/proto/sessionpb"
)

// ServerOptions are the limits of the polling endpoint. Zero fields take
// the defaults named in their comments (Fill).
type ServerOptions struct {
	// MaxBody is the largest POST body. Default 16 KiB (a batch of inputs,
	// not a file upload).
	MaxBody int
	// MaxMessage is the largest frame in a body; a larger one gets
	// Error{TOO_LARGE}, like a WebSocket frame. Default 4 KiB.
	MaxMessage int
	// Wait is how long a GET waits for frames before answering empty.
	// Default 20 s (under the 60 s idle timeout of common proxies).
	Wait time.Duration
	// WriteTimeout cuts a GET whose response the client does not take in
	// time; the channel closes with it. Default 2 s.
	WriteTimeout time.Duration
	// PostRate and PostBurst bound POSTs per channel (a token bucket); past
	// them a POST gets 429 and its frames are not read. Default 200 per
	// second, burst 100.
	PostRate  float64
	PostBurst int
	// Linger keeps a closed channel's last frames (its close reason) for a
	// final GET. Default 5 s.
	Linger time.Duration
	// MaxChannels bounds open channels. Default 100000.
	MaxChannels int
	// BodyTimeout bounds reading one POST body: a client that sends its
	// body slowly (slowloris) is answered 408 and released. Default 5 s.
	BodyTimeout time.Duration
	// Logger receives per-channel debug logs; nil means slog.Default().
	Logger *slog.Logger
}

// Fill sets defaults for zero fields.
func (o *ServerOptions) Fill() {
	if o.MaxBody <= 0 {
		o.MaxBody = 16 << 10
	}
	if o.MaxMessage <= 0 {
		o.MaxMessage = 4 << 10
	}
	if o.Wait <= 0 {
		o.Wait = 20 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 2 * time.Second
	}
	if o.PostRate <= 0 {
		o.PostRate = 200
	}
	if o.PostBurst <= 0 {
		o.PostBurst = 100
	}
	if o.Linger <= 0 {
		o.Linger = 5 * time.Second
	}
	if o.MaxChannels <= 0 {
		o.MaxChannels = 100_000
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Handler receives one channel's frames: netcode.Handler, with Frame and
// Reject called under the channel's POST lock, one at a time.
type Handler = netcode.Handler

// Opener creates what a new channel needs for the request that opens it:
// the link its GETs drain, the handler of its frames, and release, called
// once when the channel is gone. An error refuses the channel: ErrTooMany
// with 429, anything else with 503 (shutting down).
type Opener func(r *http.Request) (link *outbox.Link, h Handler, release func(), err error)

var (
	// ErrTooMany refuses a channel because its client holds too many.
	ErrTooMany = errors.New("pollconn: too many connections from this address")
	// ErrShuttingDown refuses a channel because the server is shutting down.
	ErrShuttingDown = errors.New("pollconn: shutting down")
)

// Headers of the protocol.
const (
	// HeaderID carries a new channel's id.
	HeaderID = "Arena-Poll-Id"
	// HeaderKey carries a new channel's key in the answer that opens it,
	// and the key in every later request of the channel.
	HeaderKey = "Arena-Poll-Key"
	// HeaderErrorCode carries the ErrorCode number of a refused request or
	// a closed channel.
	HeaderErrorCode = "Arena-Error-Code"
	// ContentType is the type of frame bodies.
	ContentType = "application/octet-stream"
)

// Server serves the polling routes. It is an http.Handler.
type Server struct {
	opt  ServerOptions
	open Opener

	mu       sync.Mutex // guards channels and closed
	channels map[string]*channel
	closed   bool
	wg       sync.WaitGroup // channel watchers

	gets, posts, refused, badKeys atomic.Uint64
}

// NewServer returns a polling endpoint that opens channels with open.
func NewServer(opt ServerOptions, open Opener) *Server {
	opt.Fill()
	return &Server{opt: opt, open: open, channels: map[string]*channel{}}
}

type channel struct {
	id      string
	key     [sha256.Size]byte // SHA-256 of the channel's key, compared in constant time
	link    *outbox.Link
	h       Handler
	release func()

	getBusy   atomic.Bool
	delivered chan struct{} // closed when a GET wrote the closed link's last frames
	deliverMu sync.Once

	postMu sync.Mutex // serializes POSTs; guards the bucket
	tokens float64
	refill time.Time
	batch  outbox.Batch // owned by the GET holding getBusy
}

// Stats are the endpoint's counters.
type Stats struct {
	Channels             int
	Gets, Posts, Refused uint64
	BadKeys              uint64 // requests naming a channel without its key (counted in Refused too)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.channels)
	s.mu.Unlock()
	return Stats{Channels: n, Gets: s.gets.Load(), Posts: s.posts.Load(), Refused: s.refused.Load(), BadKeys: s.badKeys.Load()}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	sid := r.URL.Query().Get("sid")
	if sid == "" {
		if r.Method != http.MethodPost {
			s.fail(w, http.StatusBadRequest, 0, "pollconn: open a channel with POST, then use ?sid=")
			return
		}
		s.create(w, r)
		return
	}
	s.mu.Lock()
	ch := s.channels[sid]
	s.mu.Unlock()
	if ch == nil {
		s.fail(w, http.StatusNotFound, 0, "pollconn: unknown or expired poll channel id")
		return
	}
	if sum := sha256.Sum256([]byte(r.Header.Get(HeaderKey))); subtle.ConstantTimeCompare(sum[:], ch.key[:]) != 1 {
		// Whoever saw the id (a proxy log) without the key: nothing happens.
		s.badKeys.Add(1)
		s.fail(w, http.StatusForbidden, 0, "pollconn: the channel's key (header "+HeaderKey+") is missing or wrong")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.get(w, r, ch)
	case http.MethodPost:
		s.post(w, r, ch)
	case http.MethodDelete:
		ch.link.Close(nil, nil)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		s.fail(w, http.StatusMethodNotAllowed, 0, "pollconn: method not allowed")
	}
}

// fail answers with a status, an optional protocol error code and a text
// body.
func (s *Server) fail(w http.ResponseWriter, status int, code sessionpb.ErrorCode, msg string) {
	s.refused.Add(1)
	if code != 0 {
		w.Header().Set(HeaderErrorCode, strconv.Itoa(int(code)))
	}
	http.Error(w, msg, status)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	full := len(s.channels) >= s.opt.MaxChannels
	closed := s.closed
	s.mu.Unlock()
	switch {
	case closed:
		s.fail(w, http.StatusServiceUnavailable, sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "pollconn: shutting down")
		return
	case full:
		s.fail(w, http.StatusServiceUnavailable, sessionpb.ErrorCode_ERROR_CODE_SERVER_FULL, "pollconn: too many channels")
		return
	}
	link, h, release, err := s.open(r)
	if errors.Is(err, ErrTooMany) {
		s.fail(w, http.StatusTooManyRequests, sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED, err.Error())
		return
	}
	if err != nil {
		s.fail(w, http.StatusServiceUnavailable, sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "pollconn: shutting down")
		return
	}
	var b, k [16]byte
	_, _ = rand.Read(b[:])
	_, _ = rand.Read(k[:])
	key := hex.EncodeToString(k[:])
	ch := &channel{id: hex.EncodeToString(b[:]), key: sha256.Sum256([]byte(key)), link: link, h: h, release: release,
		delivered: make(chan struct{}), tokens: float64(s.opt.PostBurst), refill: time.Now()}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		link.Close(nil, nil)
		h.Closed(nil)
		release()
		s.fail(w, http.StatusServiceUnavailable, sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN, "pollconn: shutting down")
		return
	}
	s.channels[ch.id] = ch
	s.mu.Unlock()
	s.wg.Go(func() { s.watch(ch) })
	w.Header().Set(HeaderID, ch.id)
	w.Header().Set(HeaderKey, key)
	w.WriteHeader(http.StatusCreated)
}

// watch waits for the channel's link to close, tells the handler, keeps the
// channel until a GET took its last frames (or Linger passed), then forgets
// it. It exits then.
func (s *Server) watch(ch *channel) {
	<-ch.link.Done()
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.opt.Logger.Error("poll channel close handler panicked", "panic", p, "stack", string(debug.Stack()))
			}
		}()
		ch.h.Closed(ch.link.Reason())
	}()
	t := time.NewTimer(s.opt.Linger)
	select {
	case <-ch.delivered:
	case <-t.C:
	}
	t.Stop()
	s.mu.Lock()
	delete(s.channels, ch.id)
	s.mu.Unlock()
	ch.release()
}

// get answers one long-poll: the frames pending, or the first ones to come
// within Wait.
func (s *Server) get(w http.ResponseWriter, r *http.Request, ch *channel) {
	if !ch.getBusy.CompareAndSwap(false, true) {
		s.fail(w, http.StatusConflict, 0, "pollconn: another GET is already waiting on this channel")
		return
	}
	defer ch.getBusy.Store(false)
	s.gets.Add(1)
	wait := time.NewTimer(s.opt.Wait)
	defer wait.Stop()
	for {
		closed := ch.link.Take(&ch.batch)
		if len(ch.batch.Frames) > 0 || closed {
			if closed && len(ch.batch.Frames) == 0 {
				s.gone(w, ch)
				return
			}
			s.write(w, ch, closed)
			return
		}
		select {
		case <-ch.link.Ready():
		case <-wait.C:
			w.Header().Set("Content-Type", ContentType)
			w.WriteHeader(http.StatusOK)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// gone answers a request on a closed channel with why it closed.
func (s *Server) gone(w http.ResponseWriter, ch *channel) {
	ch.deliverMu.Do(func() { close(ch.delivered) })
	reason := ch.link.Reason()
	var pe *netcode.Error
	if errors.As(reason, &pe) {
		s.fail(w, http.StatusGone, pe.Code, "pollconn: channel closed: "+pe.Error())
		return
	}
	if errors.Is(reason, outbox.ErrReplaced) {
		s.fail(w, http.StatusGone, sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED, "pollconn: channel closed: the session moved to another connection")
		return
	}
	s.fail(w, http.StatusGone, 0, "pollconn: channel closed")
}

// write sends the batch as length-prefixed frames. A write that fails or
// times out closes the channel: frames were taken, so the stream has a
// hole that only a resume can fill.
func (s *Server) write(w http.ResponseWriter, ch *channel, closed bool) {
	size := 0
	for _, f := range ch.batch.Frames {
		size += binary.MaxVarintLen32 + len(f)
	}
	body := make([]byte, 0, size)
	for _, f := range ch.batch.Frames {
		body = binary.AppendUvarint(body, uint64(len(f)))
		body = append(body, f...)
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.opt.WriteTimeout))
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if closed {
		w.Header().Set("Connection", "close")
	}
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		ch.link.Close(nil, fmt.Errorf("pollconn: write: %w", err))
	}
	if closed {
		ch.deliverMu.Do(func() { close(ch.delivered) })
	}
}

// post reads a body of frames and hands them to the handler, in order.
func (s *Server) post(w http.ResponseWriter, r *http.Request, ch *channel) {
	if ch.link.Closed() {
		s.gone(w, ch)
		return
	}
	if !ch.postMu.TryLock() {
		s.fail(w, http.StatusConflict, 0, "pollconn: another POST is in progress on this channel; send one at a time")
		return
	}
	defer ch.postMu.Unlock()
	now := time.Now()
	ch.tokens = min(float64(s.opt.PostBurst), ch.tokens+now.Sub(ch.refill).Seconds()*s.opt.PostRate)
	ch.refill = now
	if ch.tokens < 1 {
		w.Header().Set("Retry-After", "1")
		s.fail(w, http.StatusTooManyRequests, 0, "pollconn: too many POSTs on this channel; batch frames")
		return
	}
	ch.tokens--
	s.posts.Add(1)
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.opt.BodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.opt.MaxBody)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(w, http.StatusRequestEntityTooLarge, 0, fmt.Sprintf("pollconn: body over %d bytes", s.opt.MaxBody))
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			s.fail(w, http.StatusRequestTimeout, 0, "pollconn: body not sent in time")
			return
		}
		s.fail(w, http.StatusBadRequest, 0, "pollconn: reading body: "+err.Error())
		return
	}
	s.handle(w, ch, body)
}

// handle hands a POST's frames to the channel's handler. A panic there
// ends this channel only (Error{INTERNAL}), never the process.
func (s *Server) handle(w http.ResponseWriter, ch *channel, body []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.opt.Logger.Error("poll channel handler panicked", "panic", p, "stack", string(debug.Stack()))
			e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_INTERNAL, "internal error")
			ch.link.Close(e.Frame(0), e)
			s.fail(w, http.StatusInternalServerError, e.Code, e.Error())
		}
	}()
	frames, err := Split(body)
	if err != nil {
		s.fail(w, http.StatusBadRequest, 0, "pollconn: "+err.Error())
		return
	}
	for _, f := range frames {
		if len(f) > s.opt.MaxMessage {
			e := netcode.Fatalf(sessionpb.ErrorCode_ERROR_CODE_TOO_LARGE, "frame of %d bytes over the limit of %d", len(f), s.opt.MaxMessage)
			ch.h.Reject(e)
			s.fail(w, http.StatusRequestEntityTooLarge, e.Code, e.Error())
			return
		}
		if err := ch.h.Frame(f); err != nil {
			var pe *netcode.Error
			if errors.As(err, &pe) {
				s.fail(w, Status(pe.Code), pe.Code, pe.Error())
				return
			}
			s.gone(w, ch)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// Status maps a fatal protocol error to an HTTP status, in one place.
func Status(code sessionpb.ErrorCode) int {
	switch code {
	case sessionpb.ErrorCode_ERROR_CODE_TOO_LARGE:
		return http.StatusRequestEntityTooLarge
	case sessionpb.ErrorCode_ERROR_CODE_RATE_LIMITED:
		return http.StatusTooManyRequests
	case sessionpb.ErrorCode_ERROR_CODE_SHUTTING_DOWN:
		return http.StatusServiceUnavailable
	case sessionpb.ErrorCode_ERROR_CODE_TOKEN_INVALID, sessionpb.ErrorCode_ERROR_CODE_TOKEN_EXPIRED,
		sessionpb.ErrorCode_ERROR_CODE_TOKEN_USED:
		return http.StatusUnauthorized
	case sessionpb.ErrorCode_ERROR_CODE_SESSION_EXPIRED, sessionpb.ErrorCode_ERROR_CODE_SESSION_MOVED, sessionpb.ErrorCode_ERROR_CODE_TIMEOUT:
		return http.StatusGone
	case sessionpb.ErrorCode_ERROR_CODE_INTERNAL:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// ErrBody means a body is not a sequence of length-prefixed frames.
var ErrBody = errors.New("malformed body: expected uvarint-length-prefixed frames")

// Split cuts a body into its frames (sub-slices of body). An empty body
// has none.
func Split(body []byte) ([][]byte, error) {
	var frames [][]byte
	for len(body) > 0 {
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(len(body)-k) {
			return nil, ErrBody
		}
		frames = append(frames, body[k:k+int(n)])
		body = body[k+int(n):]
	}
	return frames, nil
}

// Append appends frame with its length prefix to dst.
func Append(dst, frame []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(frame)))
	return append(dst, frame...)
}

// Close closes every channel and waits for their watchers.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	chans := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		chans = append(chans, ch)
	}
	s.mu.Unlock()
	for _, ch := range chans {
		ch.link.Close(nil, nil)
		ch.deliverMu.Do(func() { close(ch.delivered) })
	}
	s.wg.Wait()
}
