// Package restjson is the delivery core of the outbox Senders that POST one
// JSON document per message to a REST endpoint, with the outbox message id
// as Idempotency-Key, and hear the decision in the answer (adapters/military,
// adapters/statistics). It exists so that the client's settings and the
// classification of every answer are written, and tested, once: each
// Sender keeps only what is its own — mapping a message to its document,
// the endpoint, Render.
//
// The relay owns retries, with backoff and a budget: the client NewClient
// builds makes exactly one attempt per call (SetRetryCount(0), no retry
// conditions), keeps no cookies, reads at most 64 KiB of an answer and
// follows no redirect, and Post classifies every answer:
//
//	201, 200 {reference}                      → acknowledged (Reference)
//	201, 200 unreadable or without reference  → transient malformed_reply
//	422 {code, detail}                        → rejected (ReasonCode, Reason); unreadable: transient malformed_reply
//	409 {code, detail}                        → permanent http_4xx (the key came with another body)
//	408, 429                                  → transient http_4xx
//	other 4xx                                 → permanent http_4xx
//	5xx                                       → transient http_5xx
//	any other status (1xx, 3xx, other 2xx)    → transient malformed_reply
//	an answer larger than 64 KiB              → transient malformed_reply
//	deadline, net timeouts                    → transient timeout
//	refused, reset, cancelled, no answer      → transient transport
//	a document that does not encode           → permanent mapping
//
// Such a destination answers synchronously: Post never returns a receipt,
// so the relay has nothing to poll (see Poll).
package restjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-resty/resty/v2"

	"github.com/reghub/reghub/outbox"
)

// DefaultTimeout bounds one POST when NewClient is given no timeout.
const DefaultTimeout = 10 * time.Second

// Bounds on what an answer may put into a reply or an error text.
const (
	maxAnswer    = 64 << 10 // bytes of an answer read at all
	maxReference = 128      // runes of a reference (the contracts' maxLength)
	maxCode      = 64       // runes of a problem code (the contracts' maxLength)
	maxText      = 512      // runes of a problem detail or a body quoted in an error
)

// NewClient builds the client Post sends with: timeout bounds each POST
// (zero or negative means DefaultTimeout), userAgent names the sender.
func NewClient(timeout time.Duration, userAgent string) *resty.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return resty.New().
		SetTimeout(timeout).
		SetRetryCount(0). // the relay retries, with backoff and a budget
		SetCookieJar(nil).
		SetResponseBodyLimit(maxAnswer).
		SetHeader("User-Agent", userAgent).
		// A redirect is answered like any unexpected status, not followed.
		SetRedirectPolicy(resty.RedirectPolicyFunc(func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}))
}

// Post posts payload as JSON to url once, with idempotencyKey as
// Idempotency-Key, and classifies the answer (see the package
// documentation); op names the delivery in error texts.
func Post(ctx context.Context, client *resty.Client, url, idempotencyKey string, payload any, op string) (outbox.Reply, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return outbox.Reply{}, outbox.Permanent(outbox.ClassMapping, fmt.Errorf("%s: encode: %w", op, err))
	}
	resp, err := client.R().
		SetContext(ctx).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json").
		SetHeader("Idempotency-Key", idempotencyKey).
		SetBody(body).
		Post(url)
	if err != nil {
		return outbox.Reply{}, classifyError(ctx, op, err)
	}
	return classifyAnswer(op, resp.StatusCode(), resp.Body())
}

// Poll answers the relay's poll of a message sent to a destination that
// answers at once; name ("military") and party ("centre") word the error.
// Post never returns a receipt, so a poll can only come from a message in
// the awaiting-acknowledgement stage, which the relay enters with a
// receipt and an acknowledgement deadline: Poll answers pending, so that
// at the deadline the relay resends the message — the destination
// deduplicates it by the Idempotency-Key and answers with its first
// decision. Without a deadline there is nothing to wait for, and the poll
// is a permanent error, for operators to see.
func Poll(m outbox.Message, name, party string) (outbox.Reply, error) {
	if m.AckDeadline == nil {
		return outbox.Reply{}, outbox.Permanent(outbox.ClassMapping,
			fmt.Errorf("%s message %s: the %s answers at once; there is no status to poll", name, m.ID, party))
	}
	return outbox.Reply{Kind: outbox.ReplyPending, Reference: m.Receipt}, nil
}

// Render is v as JSON indented for operators, or err: a Sender's Render is
// Render(s.mapped(m)).
func Render[T any](v T, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(v, "", "  ")
}

// classifyError classifies a POST that got no answer it could read.
func classifyError(ctx context.Context, op string, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, resty.ErrResponseBodyTooLarge):
		return outbox.Transient(outbox.ClassMalformedReply, fmt.Errorf("%s: answer larger than %d bytes: %w", op, maxAnswer, err))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return outbox.Transient(outbox.ClassTimeout, fmt.Errorf("%s: timed out: %w", op, err))
	default:
		// Refused, reset, EOF before the status line, DNS, a cancelled
		// context: nothing says whether the destination applied it; the
		// resend is deduplicated.
		return outbox.Transient(outbox.ClassTransport, fmt.Errorf("%s: %w", op, err))
	}
}

// problem is the body of a destination's refusals.
type problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// classifyAnswer turns the destination's answer into a reply or a
// classified error.
func classifyAnswer(op string, status int, body []byte) (outbox.Reply, error) {
	switch {
	case status == http.StatusCreated || status == http.StatusOK:
		var ack struct {
			Reference string `json:"reference"`
		}
		if err := json.Unmarshal(body, &ack); err != nil {
			return outbox.Reply{}, outbox.Transient(outbox.ClassMalformedReply,
				fmt.Errorf("%s: HTTP %d, undecodable answer %s: %w", op, status, snippet(body), err))
		}
		ref := strings.TrimSpace(ack.Reference)
		if ref == "" || utf8.RuneCountInString(ref) > maxReference {
			return outbox.Reply{}, outbox.Transient(outbox.ClassMalformedReply,
				fmt.Errorf("%s: HTTP %d without a reference of 1 to %d characters: %s", op, status, maxReference, snippet(body)))
		}
		return outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: ref}, nil

	case status == http.StatusUnprocessableEntity:
		var p problem
		if err := json.Unmarshal(body, &p); err != nil || strings.TrimSpace(p.Code) == "" {
			// A refusal whose reason cannot be read is not acted on: the
			// resend gets the same answer, and operators see it.
			return outbox.Reply{}, outbox.Transient(outbox.ClassMalformedReply,
				fmt.Errorf("%s: HTTP 422 without a readable code: %s", op, snippet(body)))
		}
		return outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: truncate(strings.TrimSpace(p.Code), maxCode),
			Reason: truncate(p.Detail, maxText)}, nil

	case status == http.StatusConflict:
		return outbox.Reply{}, outbox.Permanent(outbox.ClassHTTP4xx,
			fmt.Errorf("%s: HTTP 409, the Idempotency-Key was used with another body: %s", op, problemText(body)))

	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		return outbox.Reply{}, outbox.Transient(outbox.ClassHTTP4xx, fmt.Errorf("%s: HTTP %d: %s", op, status, problemText(body)))

	case status >= 400 && status < 500:
		return outbox.Reply{}, outbox.Permanent(outbox.ClassHTTP4xx, fmt.Errorf("%s: HTTP %d: %s", op, status, problemText(body)))

	case status >= 500:
		return outbox.Reply{}, outbox.Transient(outbox.ClassHTTP5xx, fmt.Errorf("%s: HTTP %d: %s", op, status, problemText(body)))

	default:
		return outbox.Reply{}, outbox.Transient(outbox.ClassMalformedReply,
			fmt.Errorf("%s: unexpected HTTP %d: %s", op, status, snippet(body)))
	}
}

// problemText is a refusal's "code: detail" when the body is a problem,
// else the body itself, shortened.
func problemText(body []byte) string {
	var p problem
	if err := json.Unmarshal(body, &p); err == nil && p.Code != "" {
		if p.Detail == "" {
			return truncate(p.Code, maxCode)
		}
		return truncate(p.Code, maxCode) + ": " + truncate(p.Detail, maxText)
	}
	return snippet(body)
}

// snippet is a body for an error text: white space collapsed, truncated.
func snippet(b []byte) string {
	if len(b) == 0 {
		return "(empty body)"
	}
	return truncate(strings.Join(strings.Fields(string(b[:min(len(b), 4*maxText)])), " "), maxText)
}

// truncate cuts s to at most n runes, marking the cut; invalid UTF-8 is
// replaced.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
