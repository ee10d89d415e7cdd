package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/reghub/reghub/schemas/xroad"
)

// Inspect fetches GET baseURL/inspect from a running simulator.
func Inspect(ctx context.Context, baseURL string) (Inspection, error) {
	var in Inspection
	err := call(ctx, http.MethodGet, baseURL, "/inspect", nil, &in)
	return in, err
}

// FetchJSON decodes GET baseURL+path from a running simulator into out:
// the inspection endpoints of simulators built on the engine.
func FetchJSON(ctx context.Context, baseURL, path string, out any) error {
	return call(ctx, http.MethodGet, baseURL, path, nil, out)
}

// GetConfig fetches GET baseURL/config.
func GetConfig(ctx context.Context, baseURL string) (Config, error) {
	var c Config
	err := call(ctx, http.MethodGet, baseURL, "/config", nil, &c)
	return c, err
}

// SetConfig replaces a running simulator's configuration (PUT
// baseURL/config); its state is kept.
func SetConfig(ctx context.Context, baseURL string, cfg Config) error {
	body, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return call(ctx, http.MethodPut, baseURL, "/config", body, nil)
}

// Reset makes a running simulator forget its state (POST baseURL/reset).
func Reset(ctx context.Context, baseURL string) error {
	return call(ctx, http.MethodPost, baseURL, "/reset", nil, nil)
}

func call(ctx context.Context, method, baseURL, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(baseURL, "/")+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, res.StatusCode, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// PostSOAP sends payload (a generated request type) in a SOAP 1.1 envelope
// with the X-Road headers h to url, with the given SOAPAction (none if
// empty), and returns the HTTP status and body whatever the status. It is
// a raw client for tests that need to see faults and malformed answers.
func PostSOAP(ctx context.Context, url, action string, h xroad.Headers, payload any) (int, []byte, error) {
	body, err := MarshalEnvelope(&h, payload)
	if err != nil {
		return 0, nil, err
	}
	return PostRaw(ctx, url, action, body)
}

// PostRaw posts body as text/xml to url with the given SOAPAction and
// returns the HTTP status and body.
func PostRaw(ctx context.Context, url, action string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	if action != "" {
		req.Header.Set("SOAPAction", action)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}
