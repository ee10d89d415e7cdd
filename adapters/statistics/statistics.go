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
// an area finer than a district: such a message is a permanent mapping
// error, never sent.
//
// The report is posted, and the service's answer classified, by restjson,
// whose table says what each answer becomes (201/200 with a reference
// acknowledged, 422 rejected, 409 and other 4xx permanent, 408, 429, 5xx,
// timeouts and transport failures transient). A 422 is how the service
// refuses a report it holds for personal (PERSONAL_DATA_OR_UNKNOWN_FIELD)
// or too fine (SMALL_CELL): rejected, never retried, for operators to see.
// The service answers synchronously: Send never returns a receipt, so the
// relay has nothing to poll (see Poll).
package statistics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/reghub/reghub/adapters/restjson"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/outbox"
)

// Path is the report endpoint under the base URL.
const Path = "/v1/statistics/migration-reports"

// DefaultTimeout bounds one POST when New is given no timeout.
const DefaultTimeout = restjson.DefaultTimeout

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
	return &Sender{url: strings.TrimRight(baseURL, "/") + Path, body: body, http: restjson.NewClient(timeout, "reghub-statistics")}
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

// Send posts the report once, with its reportId as Idempotency-Key, and
// classifies the answer (see restjson).
func (s *Sender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	r, err := s.report(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	return restjson.Post(ctx, s.http, s.url, r.ReportID, r, fmt.Sprintf("statistics report, message %s", m.ID))
}

// Poll is never needed: the service answers at once (see restjson.Poll).
func (s *Sender) Poll(_ context.Context, m outbox.Message) (outbox.Reply, error) {
	return restjson.Poll(m, "statistics", "service")
}

// Render shows the report Send posts, indented, for operators.
func (s *Sender) Render(m outbox.Message) ([]byte, error) {
	return restjson.Render(s.report(m))
}
