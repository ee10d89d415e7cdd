package soapclient

import (
	"io"
	"net"
	"net/http"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

// NewHTTPClient returns the HTTP client tuned for many concurrent calls to
// few hosts: keep-alive, up to 64 idle connections per host. It sets no
// overall timeout; each call is bounded by its context (Config.Timeout).
func NewHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the security server is reached directly
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	tr.IdleConnTimeout = 90 * time.Second
	tr.TLSHandshakeTimeout = 5 * time.Second
	tr.ExpectContinueTimeout = 0
	return &http.Client{Transport: tr}
}

// keepAlive adapts an *http.Client to gowsdl's soap.HTTPClient, undoing the
// req.Close = true gowsdl sets on every request, so connections are reused.
type keepAlive struct {
	hc *http.Client
}

var _ soap.HTTPClient = keepAlive{}

func (k keepAlive) Do(req *http.Request) (*http.Response, error) {
	req.Close = false
	res, err := k.hc.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body = drainOnClose{res.Body}
	return res, nil
}

// maxDrain bounds what Close reads of an unread rest of a body (trailing
// white space after the envelope, typically) to keep the connection.
const maxDrain = 64 << 10

// drainOnClose reads what the XML decoder left of a body before closing it:
// only a body read to its end lets the transport reuse the connection.
type drainOnClose struct {
	io.ReadCloser
}

func (d drainOnClose) Close() error {
	_, _ = io.Copy(io.Discard, io.LimitReader(d.ReadCloser, maxDrain))
	return d.ReadCloser.Close()
}
