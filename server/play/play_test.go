package play

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fetch does one request without the transport's own gzip handling, so
// the test sees the bytes on the wire.
func fetch(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{DisableCompression: true, DisableKeepAlives: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestPlay(t *testing.T) {
	dir := t.TempDir()
	srv := httptest.NewServer(New(Config{Dir: dir}))
	defer srv.Close()

	// Not built: the page says how to build it.
	resp, body := fetch(t, srv.URL+"/play")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(body), "make build")
	assert.Contains(t, string(body), WasmFile)
	resp, _ = fetch(t, srv.URL+"/play/"+WasmFile)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	wasm := bytes.Repeat([]byte("\x00asm fake module "), 4096)
	require.NoError(t, os.WriteFile(filepath.Join(dir, WasmFile), wasm, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ExecFile), []byte("// the loader\n"), 0o644))

	resp, body = fetch(t, srv.URL+"/play")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	m := regexp.MustCompile(`/play/client\.wasm\?v=([0-9a-f]{16})`).FindStringSubmatch(string(body))
	require.NotNil(t, m, "the page names the module with its hash: %s", body)
	assert.Regexp(t, `/play/wasm_exec\.js\?v=[0-9a-f]{16}`, string(body))
	hash := m[1]

	// Compressed when asked, as it is when not.
	resp, body = fetch(t, srv.URL+"/play/"+WasmFile+"?v="+hash, "Accept-Encoding", "gzip, br")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Equal(t, "application/wasm", resp.Header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	assert.Less(t, len(body), len(wasm)/10)
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, wasm, plain)

	resp, body = fetch(t, srv.URL+"/play/"+WasmFile, "Accept-Encoding", "gzip;q=0")
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Equal(t, wasm, body)
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), "an old or missing hash is revalidated")

	// Revalidation.
	etag := resp.Header.Get("ETag")
	require.Equal(t, `"`+hash+`"`, etag)
	resp, body = fetch(t, srv.URL+"/play/"+WasmFile, "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	assert.Empty(t, body)

	// A rebuilt module is served at once, under a new hash.
	wasm2 := append(wasm, "v2"...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, WasmFile), wasm2, 0o644))
	require.NoError(t, os.Chtimes(filepath.Join(dir, WasmFile), time.Now(), time.Now().Add(time.Second)))
	resp, body = fetch(t, srv.URL+"/play/"+WasmFile, "If-None-Match", etag)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, wasm2, body)
	_, page := fetch(t, srv.URL+"/play?join=quick")
	assert.NotContains(t, string(page), hash)

	h := New(Config{Dir: dir})
	raw, gz, err := h.Sizes()
	require.NoError(t, err)
	assert.Equal(t, len(wasm2), raw)
	assert.Positive(t, gz)

	resp, _ = fetch(t, srv.URL+"/play/other.js")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = fetch(t, srv.URL+"/play/")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "/play/ redirects to /play")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/play", nil)
	r, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, r.StatusCode)
}

func TestConfigValidate(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	assert.ErrorIs(t, Config{Dir: f}.Validate(), ErrNotDir)
	assert.NoError(t, Config{Dir: filepath.Join(t.TempDir(), "missing")}.Validate())
	assert.NoError(t, Config{}.Validate())
}
