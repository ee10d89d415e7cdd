// Package statistics is the outbox Sender of the State Statistics Service
// (monthly.DestStatistics, 002 §4.2.12–13): each month's depersonalised
// migration counts, stored by the monthly scheduler as the JSON
// monthly.StatisticsSet of a monthly.KindStatistics action, are POSTed as
// JSON to {base}/v1/statistics/migration-reports, as
// schemas/statistics/statistics.yaml describes, with the outbox message id
// as Idempotency-Key (and reportId), so a resend is never applied twice.
//
// The report leaves only through mapping.ToStatistics, which refuses a set
// with a count under its threshold, a cell both counted and suppressed, or
// an area finer than a district: such a message is never sent.
//
// The relay owns retries, with backoff and a budget: the resty client here
// makes exactly one attempt per call (SetRetryCount(0), no retry
// conditions), follows no redirect, and every answer is classified here:
//
//	201, 200 {reference}                      → acknowledged (Reference)
//	201, 200 unreadable or without reference  → transient malformed_reply
//	422 {code, detail}                        → rejected (ReasonCode, Reason); unreadable: transient malformed_reply
//	409 {code, detail}                        → permanent http_4xx (the key came with another body)
//	408, 429                                  → transient http_4xx
//	other 4xx                                 → permanent http_4xx
//	5xx                                       → transient http_5xx
//	any other status (1xx, 3xx, other 2xx)    → transient malformed_reply
//	deadline, net timeouts                    → transient timeout
//	refused, reset, cancelled, no answer      → transient transport
//	a message that does not map               → permanent mapping
//
// A 422 is how the service refuses a report it holds for personal
// (PERSONAL_DATA_OR_UNKNOWN_FIELD) or too fine (SMALL_CELL): rejected,
// never retried, for operators to see.
//
// The service answers synchronously: Send never returns a receipt, so the
// relay has nothing to poll (see Poll).
package statistics

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

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/outbox"
)

// Path is the report endpoint under the base URL.
const Path = "/v1/statistics/migration-reports"

// DefaultTimeout bounds one POST when New is given no timeout.
const DefaultTimeout = 10 * time.Second

// Bounds on what an answer may put into a reply or an error text.
const (
	maxAnswer    = 64 << 10 // bytes of an answer read at all
	maxReference = 128      // runes of a reference (the contract's maxLength)
	maxCode      = 64       // runes of a problem code (the contract's maxLength)
	maxText      = 512      // runes of a problem detail or a body quoted in an error
)

// Sender delivers the monthly reports to the State Statistics Service.
type Sender struct {
	url  string
	body mapping.RegistrationBody
	http *resty.Client
}

var (
	_ outbox.Sender   = (*Sender)(nil)
	_ outbox.Renderer = (*Sender)(nil)
)

// New builds a sender posting to baseURL (the service's, or the security
// server's address in front of it); timeout bounds each POST (zero or
// negative means DefaultTimeout); body is the registration body the hub
// speaks for, sent in every report.
func New(baseURL string, timeout time.Duration, body mapping.RegistrationBody) *Sender {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := resty.New().
		SetTimeout(timeout).
		SetRetryCount(0). // the relay retries, with backoff and a budget
		SetCookieJar(nil).
		SetResponseBodyLimit(maxAnswer).
		SetHeader("User-Agent", "reghub-statistics").
		// A redirect is answered like any unexpected status, not followed.
		SetRedirectPolicy(resty.RedirectPolicyFunc(func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}))
	return &Sender{url: strings.TrimRight(baseURL, "/") + Path, body: body, http: c}
}

// report maps the message's set. The set is decoded, not rebuilt: it is
// what the scheduler stored for the month. A message of another kind, or
// a body that is not a set, is a permanent mapping error whose text quotes
// nothing of the body.
func (s *Sender) report(m outbox.Message) (mapping.StatisticsReport, error) {
	if m.Kind != monthly.KindStatistics {
		return mapping.StatisticsReport{}, outbox.Permanent(outbox.ClassMapping,
			fmt.Errorf("statistics message %s: kind %q is not %s", m.ID, m.Kind, monthly.KindStatistics))
	}
	var set monthly.StatisticsSet
	if err := json.Unmarshal(m.Body, &set); err != nil {
		return mapping.StatisticsReport{}, outbox.Permanent(outbox.ClassMapping,
			fmt.Errorf("statistics message %s: decode the statistics set: %s", m.ID, decodeProblem(err)))
	}
	r, err := mapping.ToStatistics(set, s.body, m.ID.String())
	if err != nil {
		return mapping.StatisticsReport{}, outbox.Permanent(outbox.ClassMapping, fmt.Errorf("statistics message %s: %w", m.ID, err))
	}
	return r, nil
}

// decodeProblem describes a decoding error without quoting the body.
func decodeProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON near byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s is not a %s", typ.Field, typ.Type)
	}
	return "not a JSON object"
}

// Send posts the report once and classifies the answer (see the package
// documentation).
func (s *Sender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	op := fmt.Sprintf("statistics report, message %s", m.ID)
	r, err := s.report(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return outbox.Reply{}, outbox.Permanent(outbox.ClassMapping, fmt.Errorf("%s: encode: %w", op, err))
	}
	resp, err := s.http.R().
		SetContext(ctx).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json").
		SetHeader("Idempotency-Key", r.ReportID).
		SetBody(body).
		Post(s.url)
	if err != nil {
		return outbox.Reply{}, classifyError(ctx, op, err)
	}
	return classifyAnswer(op, resp.StatusCode(), resp.Body())
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
		// context: nothing says whether the service applied it; the resend
		// is deduplicated.
		return outbox.Transient(outbox.ClassTransport, fmt.Errorf("%s: %w", op, err))
	}
}

// problem is the body of the service's refusals.
type problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// classifyAnswer turns the service's answer into a reply or a classified
// error.
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

// Poll is never needed: the service answers synchronously and Send never
// returns a receipt. A poll can only come from a message in the
// awaiting-acknowledgement stage, which the relay enters with a receipt and
// an acknowledgement deadline: Poll answers pending, so that at the
// deadline the relay resends the message through Send — the service
// deduplicates it by the Idempotency-Key and answers with its first
// decision. Without a deadline there is nothing to wait for, and the poll
// is a permanent error, for operators to see.
func (s *Sender) Poll(_ context.Context, m outbox.Message) (outbox.Reply, error) {
	if m.AckDeadline == nil {
		return outbox.Reply{}, outbox.Permanent(outbox.ClassMapping,
			fmt.Errorf("statistics message %s: the service answers at once; there is no status to poll", m.ID))
	}
	return outbox.Reply{Kind: outbox.ReplyPending, Reference: m.Receipt}, nil
}

// Render shows the report Send posts, indented, for operators.
func (s *Sender) Render(m outbox.Message) ([]byte, error) {
	r, err := s.report(m)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(r, "", "  ")
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
