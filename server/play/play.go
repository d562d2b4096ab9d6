// Package play serves the browser client on the server's public address:
// GET /play is a page (embedded in the binary) that loads the client
// compiled to WebAssembly, /play/client.wasm, with Go's loader
// /play/wasm_exec.js. Both files come from a folder that `make build` fills
// (bin/play); the server builds and runs without them, and /play then says
// how to build them.
//
// Files are read once (again when they change on disk), gzip-compressed
// once, and served with a content hash: the page names each file with
// ?v=HASH, so a file asked for by its current hash is cached for a year
// (immutable), and anything else is revalidated (ETag, 304).
//
// The page is same-origin with /ws and /poll, so the server's default
// -allowed-origins admits it.
//
// play imports only the standard library.
package play

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

var (
	pageT    = template.Must(template.ParseFS(static, "static/play.html"))
	missingT = template.Must(template.ParseFS(static, "static/missing.html"))
)

// The files /play serves from Config.Dir.
const (
	WasmFile = "client.wasm"
	ExecFile = "wasm_exec.js"
)

// maxFile bounds what is read from Config.Dir into memory.
const maxFile = 64 << 20

// Config configures the handler. Zero fields take defaults.
type Config struct {
	// Dir is the folder holding client.wasm and wasm_exec.js. Default
	// "bin/play" (where make build writes them), relative to the working
	// directory.
	Dir string
	// Logger receives a line when a file is (re)loaded; nil means
	// slog.Default().
	Logger *slog.Logger
}

// ErrNotDir means Config.Dir exists and is not a folder.
var ErrNotDir = errors.New("play: not a folder")

// Validate rejects a Dir that exists but is not a folder (a missing one is
// fine: the page says how to build the client).
func (c Config) Validate() error {
	if c.Dir == "" {
		return nil
	}
	if st, err := os.Stat(c.Dir); err == nil && !st.IsDir() {
		return fmt.Errorf("%w: %s", ErrNotDir, c.Dir)
	}
	return nil
}

// Handler serves /play, /play/client.wasm and /play/wasm_exec.js. It is
// safe for concurrent use.
type Handler struct {
	cfg Config

	mu    sync.Mutex // guards files; held while a file loads
	files map[string]*file
}

// file is one served file as loaded.
type file struct {
	mod  time.Time
	size int64
	raw  []byte
	gz   []byte
	hash string // hex, 16 digits of the SHA-256 of raw
}

// New returns a handler for cfg.
func New(cfg Config) *Handler {
	if cfg.Dir == "" {
		cfg.Dir = "bin/play"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg, files: map[string]*file{}}
}

// Sizes reports the WebAssembly file's size as stored and gzip-compressed
// as served (0, 0 and the error when it cannot be read).
func (h *Handler) Sizes() (raw, gz int, err error) {
	f, err := h.load(WasmFile)
	if err != nil {
		return 0, 0, err
	}
	return len(f.raw), len(f.gz), nil
}

// load returns the current content of name, reading and compressing it
// when it is new or changed on disk.
func (h *Handler) load(name string) (*file, error) {
	path := filepath.Join(h.cfg.Dir, name)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.files[name]; f != nil && f.mod.Equal(st.ModTime()) && f.size == st.Size() {
		return f, nil
	}
	if st.Size() > maxFile {
		return nil, fmt.Errorf("play: %s is %d bytes, over %d", path, st.Size(), maxFile)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	sum := sha256.Sum256(raw)
	f := &file{mod: st.ModTime(), size: st.Size(), raw: raw, gz: buf.Bytes(), hash: hex.EncodeToString(sum[:8])}
	h.files[name] = f
	h.cfg.Logger.Info("browser client file loaded", "file", path, "bytes", len(raw), "gzip_bytes", len(f.gz), "hash", f.hash)
	return f, nil
}

// ServeHTTP routes /play and its two files.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/play":
		h.page(w, r)
	case "/play/":
		u := *r.URL
		u.Path = "/play"
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
	case "/play/" + WasmFile:
		h.serveFile(w, r, WasmFile, "application/wasm")
	case "/play/" + ExecFile:
		h.serveFile(w, r, ExecFile, "text/javascript; charset=utf-8")
	default:
		http.NotFound(w, r)
	}
}

// page serves the HTML that starts the client, or explains what is
// missing.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	wasm, werr := h.load(WasmFile)
	exec, eerr := h.load(ExecFile)
	if werr != nil || eerr != nil {
		missing := WasmFile
		if werr == nil {
			missing = ExecFile
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = missingT.Execute(w, map[string]string{"Dir": h.cfg.Dir, "Missing": missing})
		return
	}
	_ = pageT.Execute(w, map[string]string{
		"WasmVersion": wasm.hash, "ExecVersion": exec.hash,
		"Size": fmt.Sprintf("%.1f MB", float64(len(wasm.gz))/1e6),
	})
}

// serveFile serves a loaded file: gzip-compressed when the client takes
// it, immutable for a year when asked for by its current hash, else
// revalidated with its ETag.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name, ctype string) {
	f, err := h.load(name)
	if err != nil {
		http.Error(w, "the browser client is not built: run make build", http.StatusNotFound)
		return
	}
	hd := w.Header()
	etag := `"` + f.hash + `"`
	hd.Set("ETag", etag)
	hd.Set("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == f.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || strings.Contains(match, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.raw
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = f.gz
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.Copy(w, bytes.NewReader(body))
	}
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip (and
// does not refuse it with q=0).
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) != "gzip" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
