//go:build js

package pollconn

import (
	"context"
	"errors"
	"net/http"
	"syscall/js"
)

// fetchRequester is a requester on the browser's fetch: the browser owns
// the connections, TLS and the page's origin rules (the routes are
// same-origin with the page /play serves). A request's context aborts its
// fetch.
type fetchRequester struct{}

func newRequester(DialOptions) requester { return fetchRequester{} }

func (fetchRequester) close() {}

type fetched struct {
	a   answer
	err error
}

func (fetchRequester) do(ctx context.Context, method, url string, header http.Header, body []byte, limit int64) (answer, error) {
	g := js.Global()
	fetch := g.Get("fetch")
	if fetch.Type() != js.TypeFunction {
		return answer{}, errors.New("pollconn: this JavaScript host has no fetch")
	}
	abort := g.Get("AbortController").New()
	init := g.Get("Object").New()
	init.Set("method", method)
	init.Set("signal", abort.Get("signal"))
	init.Set("cache", "no-store")
	h := g.Get("Headers").New()
	for k, vs := range header {
		for _, v := range vs {
			h.Call("append", k, v)
		}
	}
	init.Set("headers", h)
	if body != nil {
		u8 := g.Get("Uint8Array").New(len(body))
		js.CopyBytesToJS(u8, body)
		init.Set("body", u8)
	}

	// The callbacks run on the browser's event loop: they only hand the
	// result over, never wait.
	done := make(chan fetched, 1)
	var a answer
	onErr := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "fetch failed"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		done <- fetched{err: errors.New("pollconn: " + msg)}
		return nil
	})
	onBody := js.FuncOf(func(_ js.Value, args []js.Value) any {
		buf := g.Get("Uint8Array").New(args[0])
		n := min(int64(buf.Length()), limit)
		a.body = make([]byte, n)
		js.CopyBytesToGo(a.body, buf)
		done <- fetched{a: a}
		return nil
	})
	onHeader := js.FuncOf(func(_ js.Value, kv []js.Value) any {
		a.header.Add(kv[1].String(), kv[0].String()) // forEach gives value, key
		return nil
	})
	onResp := js.FuncOf(func(_ js.Value, args []js.Value) any {
		r := args[0]
		a.status = r.Get("status").Int()
		a.header = http.Header{}
		r.Get("headers").Call("forEach", onHeader)
		r.Call("arrayBuffer").Call("then", onBody, onErr)
		return nil
	})
	defer func() {
		onErr.Release()
		onBody.Release()
		onHeader.Release()
		onResp.Release()
	}()
	fetch.Invoke(url, init).Call("then", onResp, onErr)
	select {
	case f := <-done:
		return f.a, f.err
	case <-ctx.Done():
		abort.Call("abort")
		<-done // the abort rejects the fetch: no callback may run after the release
		return answer{}, ctx.Err()
	}
}
