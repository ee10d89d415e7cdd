package httpapi

import (
	"time"

	"github.com/reghub/reghub/action"
)

// actionView is an action as the API shows it (schema Action in openapi.yaml).
type actionView struct {
	ID           string         `json:"id"`
	Reference    string         `json:"reference"`
	Kind         string         `json:"kind"`
	Status       string         `json:"status"`
	StatusReason string         `json:"status_reason,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	CompletedAt  *time.Time     `json:"completed_at,omitempty"`
	Deliveries   []deliveryView `json:"deliveries"`
	// Warnings the guards raised at acceptance (001 §2.5.16, §2.5.18).
	Warnings []action.Warning `json:"warnings"`
	// RoutingVersion is the version of the routing rules that chose the
	// deliveries.
	RoutingVersion string `json:"routing_version,omitempty"`
}

type deliveryView struct {
	MessageID      string     `json:"message_id"`
	Destination    string     `json:"destination"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error,omitempty"`
	ErrorClass     string     `json:"error_class,omitempty"`
	UpstreamRef    string     `json:"upstream_reference,omitempty"`
	Receipt        string     `json:"receipt,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	SentAt         *time.Time `json:"sent_at,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
}

type listView struct {
	Items      []actionView `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

func toView(a *action.Action) actionView {
	v := actionView{
		ID: a.ID.String(), Reference: a.Reference, Kind: string(a.Kind), Status: string(a.Status),
		StatusReason: a.StatusReason, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(), CompletedAt: utc(a.CompletedAt),
		Deliveries: make([]deliveryView, 0, len(a.Deliveries)), Warnings: a.Warnings, RoutingVersion: a.RoutingVersion,
	}
	if v.Warnings == nil {
		v.Warnings = []action.Warning{}
	}
	for _, d := range a.Deliveries {
		v.Deliveries = append(v.Deliveries, deliveryView{
			MessageID: d.MessageID.String(), Destination: string(d.Destination), Status: string(d.Status),
			Attempts: d.Attempts, LastError: d.LastError, ErrorClass: d.ErrorClass, UpstreamRef: d.UpstreamRef,
			Receipt: d.Receipt, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
			NextAttemptAt: utc(d.NextAttemptAt), SentAt: utc(d.SentAt), AcknowledgedAt: utc(d.AckedAt),
		})
	}
	return v
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
