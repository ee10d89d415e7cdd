// Package webhook tells clients of their actions' status changes by HTTP
// POST, signed with the client's secret. It is an outbox Sender: the relay
// brings it the notifications queued with each status change and retries
// them with backoff like any delivery, so retries live in that one layer and
// the HTTP client here makes exactly one attempt per call.
//
// Signature: header Reghub-Signature "t=<unix seconds>,v1=<hex HMAC-SHA256
// over "<t>.<body>" with the secret>"; Reghub-Event-Id is the notification's
// id, the same on every resend, so a receiver can drop duplicates.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/reghub/reghub/outbox"
)

// Targets finds where a client's notifications go; an empty url means the
// client has no webhook (any more).
type Targets interface {
	WebhookTarget(ctx context.Context, clientID string) (url, secret string, err error)
}

// Sender posts notifications.
type Sender struct {
	targets Targets
	http    *resty.Client
	now     func() time.Time
}

var _ outbox.Sender = (*Sender)(nil)

// New builds a sender; timeout bounds each POST.
func New(targets Targets, timeout time.Duration) *Sender {
	c := resty.New().
		SetTimeout(timeout).
		SetRetryCount(0). // the relay retries, with backoff and a budget
		SetHeader("User-Agent", "reghub-webhook").
		SetRedirectPolicy(resty.NoRedirectPolicy())
	return &Sender{targets: targets, http: c, now: time.Now}
}

// Sign returns the Reghub-Signature header value for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a Reghub-Signature header against body, accepting
// timestamps within tolerance of now: what a receiver does.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts int64
	var sig string
	if _, err := fmt.Sscanf(header, "t=%d,v1=%s", &ts, &sig); err != nil {
		return fmt.Errorf("malformed signature header: %w", err)
	}
	t := time.Unix(ts, 0)
	if now.Sub(t) > tolerance || t.Sub(now) > tolerance {
		return errors.New("signature timestamp outside tolerance")
	}
	want := Sign(secret, t, body)
	if !hmac.Equal([]byte(want), []byte(header)) {
		return errors.New("signature does not match")
	}
	return nil
}

type notification struct {
	ClientID string `json:"client_id"`
}

// Send posts one notification. 2xx acknowledges it; 408, 429 and 5xx and
// transport failures are retried; any other answer is permanent (dead, for
// operators), as is a client that no longer has a webhook.
func (s *Sender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	var n notification
	if err := json.Unmarshal(m.Body, &n); err != nil || n.ClientID == "" {
		return outbox.Reply{}, outbox.Permanent(outbox.ClassMapping, fmt.Errorf("notification %s has no client: %v", m.ID, err))
	}
	url, secret, err := s.targets.WebhookTarget(ctx, n.ClientID)
	if err != nil {
		return outbox.Reply{}, outbox.Transient(outbox.ClassTransport, fmt.Errorf("look up webhook of %s: %w", n.ClientID, err))
	}
	if url == "" {
		return outbox.Reply{}, outbox.Permanent(outbox.ClassNoSender, fmt.Errorf("client %s has no webhook any more", n.ClientID))
	}
	resp, err := s.http.R().
		SetContext(ctx).
		SetHeader("Content-Type", "application/json").
		SetHeader("Reghub-Event-Id", m.ID.String()).
		SetHeader("Reghub-Signature", Sign(secret, s.now(), m.Body)).
		SetBody(m.Body).
		Post(url)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return outbox.Reply{}, outbox.Transient(outbox.ClassTimeout, fmt.Errorf("webhook %s: %w", m.ID, err))
		}
		return outbox.Reply{}, outbox.Transient(outbox.ClassTransport, fmt.Errorf("webhook %s: %w", m.ID, err))
	}
	code := resp.StatusCode()
	switch {
	case code >= 200 && code < 300:
		return outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: "HTTP " + strconv.Itoa(code)}, nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return outbox.Reply{}, outbox.Transient(outbox.ClassHTTP4xx, fmt.Errorf("webhook %s: receiver answered %d", m.ID, code))
	case code >= 500:
		return outbox.Reply{}, outbox.Transient(outbox.ClassHTTP5xx, fmt.Errorf("webhook %s: receiver answered %d", m.ID, code))
	default:
		return outbox.Reply{}, outbox.Permanent(outbox.ClassHTTP4xx, fmt.Errorf("webhook %s: receiver answered %d", m.ID, code))
	}
}

// Poll is never called: a webhook answers at once.
func (s *Sender) Poll(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	return outbox.Reply{}, outbox.Permanent(outbox.ClassMapping, errors.New("webhooks have no status to poll"))
}

// Render shows the notification body, for operators.
func (s *Sender) Render(m outbox.Message) ([]byte, error) {
	return m.Body, nil
}
