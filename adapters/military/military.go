// Package military is the outbox Sender of the military enlistment centre
// (routing.DestMilitary, 002 §4.2.19.1): each registration action of a
// conscript, a person liable for service or a reservist is POSTed as JSON
// to {base}/v1/registrations/notifications, as schemas/military/military.yaml
// describes, with the outbox message id as Idempotency-Key, so a resend is
// never applied twice.
//
// The document is posted, and the answer classified, by restjson (see its
// table: 201/200 with a reference acknowledged, 422 rejected, 409 and other
// 4xx permanent, 408, 429, 5xx, timeouts and transport failures transient);
// a message that does not map is a permanent mapping error and is never
// sent. The centre answers synchronously: Send never returns a receipt, so
// the relay has nothing to poll (see Poll).
package military

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/restjson"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
)

// Path is the notification endpoint under the base URL.
const Path = "/v1/registrations/notifications"

// DefaultTimeout bounds one POST when New is given no timeout.
const DefaultTimeout = restjson.DefaultTimeout

// Sender delivers notifications to the military enlistment centre.
type Sender struct {
	url  string
	body mapping.RegistrationBody
	http *resty.Client
}

var (
	_ outbox.Sender   = (*Sender)(nil)
	_ outbox.Renderer = (*Sender)(nil)
)

// New builds a sender posting to baseURL (the centre's, or the security
// server's address in front of it); timeout bounds each POST (zero or
// negative means DefaultTimeout); body is the registration body the hub
// speaks for, sent in every notification.
func New(baseURL string, timeout time.Duration, body mapping.RegistrationBody) *Sender {
	return &Sender{url: strings.TrimRight(baseURL, "/") + Path, body: body, http: restjson.NewClient(timeout, "reghub-military")}
}

// notice maps the message's submission. The body was validated when the
// action was accepted; it is decoded, not validated again, so that a rule
// added since cannot strand messages already accepted.
func (s *Sender) notice(m outbox.Message) (mapping.MilitaryNotice, error) {
	var sub action.Submission
	if err := json.Unmarshal(m.Body, &sub); err != nil {
		return mapping.MilitaryNotice{}, outbox.Permanent(outbox.ClassMapping,
			fmt.Errorf("military message %s: decode submission: %w", m.ID, err))
	}
	n, err := mapping.ToMilitary(sub, mapping.Meta{
		MessageID:        m.ID.String(),
		ActionRef:        m.ActionRef,
		RegistrationBody: s.body,
	})
	if err != nil {
		return mapping.MilitaryNotice{}, outbox.Permanent(outbox.ClassMapping, fmt.Errorf("military message %s: %w", m.ID, err))
	}
	return n, nil
}

// Send posts the notification once and classifies the answer (see
// restjson).
func (s *Sender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	n, err := s.notice(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	return restjson.Post(ctx, s.http, s.url, n.MessageID, n, fmt.Sprintf("military notification, message %s", m.ID))
}

// Poll is never needed: the centre answers at once (see restjson.Poll).
func (s *Sender) Poll(_ context.Context, m outbox.Message) (outbox.Reply, error) {
	return restjson.Poll(m, "military", "centre")
}

// Render shows the notification Send posts, indented, for operators.
func (s *Sender) Render(m outbox.Message) ([]byte, error) {
	return restjson.Render(s.notice(m))
}
