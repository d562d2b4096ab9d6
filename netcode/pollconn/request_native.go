//go:build !js

package pollconn

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// httpRequester is a requester on net/http, with the channel's own
// connections (a long-poll GET and a POST at a time), dialled with
// DialOptions.DialContext.
type httpRequester struct {
	tr *http.Transport
	hc *http.Client
}

func newRequester(opt DialOptions) requester {
	dial := opt.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr := &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 4, IdleConnTimeout: 60 * time.Second,
		ResponseHeaderTimeout: opt.PollTimeout}
	return &httpRequester{tr: tr, hc: &http.Client{Transport: tr}}
}

func (r *httpRequester) do(ctx context.Context, method, url string, header http.Header, body []byte, limit int64) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return answer{}, err
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (r *httpRequester) close() { r.tr.CloseIdleConnections() }
