// Package notice holds the migration service's notices to the registration
// body (002 §7.7–7.8) that reach the hub: a registration action found in
// breach of the law, to be re-checked (§7.7), and residence records made on
// a passport document declared invalid or on an annulled civil-status
// record, to be cancelled (§7.8). The hub stores each, acknowledges it, and
// relays it to the local registry through its event feed; a notice received
// again is acknowledged again and not relayed twice.
//
// It is core: it imports no adapter. The endpoint is adapters/soapnotice;
// the Store port is implemented by adapters/postgres.
package notice

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// Kind names what the migration service asks of the registration body.
type Kind string

// The kinds of notice.
const (
	// KindRecheckAction: a registration action was found in breach of the
	// law; the body re-checks it, and cancels it if the breach is
	// confirmed (§7.7). The notice names the action.
	KindRecheckAction Kind = "recheck_action"
	// KindCancelInvalidDocument: a passport document was declared invalid;
	// residence records made on it are to be cancelled (§7.8). The notice
	// names the person and the document.
	KindCancelInvalidDocument Kind = "cancel_invalid_document"
	// KindCancelAnnulledCivilRecord: a civil-status record was annulled;
	// residence records made on it are to be cancelled (§7.8). The notice
	// names the person and the record.
	KindCancelAnnulledCivilRecord Kind = "cancel_annulled_civil_record"
)

// Kinds lists the kinds, in the order of the schema.
var Kinds = []Kind{KindRecheckAction, KindCancelInvalidDocument, KindCancelAnnulledCivilRecord}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindRecheckAction, KindCancelInvalidDocument, KindCancelAnnulledCivilRecord:
		return true
	}
	return false
}

// Notice is one notice, as the migration service issued it. Check puts it
// in canonical form; dates and times are strings in that form, as in the
// actions the registry submits.
type Notice struct {
	// NoticeID is the migration service's id of the notice, unique: a
	// notice sent again keeps it.
	NoticeID    string       `json:"notice_id"`
	Kind        Kind         `json:"kind"`
	Action      Action       `json:"action"`
	Person      *Person      `json:"person,omitempty"`
	Document    *Document    `json:"document,omitempty"`
	CivilRecord *CivilRecord `json:"civil_record,omitempty"`
	// Reason is why, in the migration service's words.
	Reason string `json:"reason"`
	// IssuedAt is when the migration service issued it: RFC 3339 with a
	// time zone; in UTC once checked.
	IssuedAt string `json:"issued_at"`
}

// Action is the registration action concerned and the registration body
// that performed it.
type Action struct {
	// HubActionID is the hub's id of the action; the action reference the
	// hub sent upstream (RH-<id>) is accepted too. A bare id once checked.
	HubActionID string `json:"hub_action_id,omitempty"`
	// UpstreamReference is the migration service's record id of the action
	// (its answer's recordId).
	UpstreamReference string `json:"upstream_reference,omitempty"`
	// RegistrationBodyCode is the registration body the notice is for.
	RegistrationBodyCode string `json:"registration_body_code"`
}

// Person is whom the notice concerns: УНЗР and/or РНОКПП.
type Person struct {
	UNZR   string `json:"unzr,omitempty"`
	RNOKPP string `json:"rnokpp,omitempty"`
}

// Document is the passport document declared invalid.
type Document struct {
	Type   string `json:"type"`
	Number string `json:"number"`
}

// CivilRecord is the civil-status record annulled: its number, its date
// (YYYY-MM-DD) and the civil-status office that made it.
type CivilRecord struct {
	Number string `json:"number"`
	Date   string `json:"date"`
	Office string `json:"office"`
}

// ActionUUID is the hub's action id the notice names, if it names one (a
// checked notice holds it bare).
func (n Notice) ActionUUID() (uuid.UUID, bool) {
	id, err := parseActionID(n.Action.HubActionID)
	return id, err == nil
}

// Message is a notice as it arrived: the X-Road message that carried it.
type Message struct {
	// MessageID is the X-Road id of the message: unique, like NoticeID.
	MessageID string
	// Sender is the X-Road client, in slash form; UserID the migration
	// service's official and Issue its case, when given.
	Sender, UserID, Issue string
	Notice                Notice
}

// Received is a notice the hub has stored.
type Received struct {
	// ID is the hub's id of the notice.
	ID uuid.UUID
	Message
	// ActionID is the hub's action the notice concerns, found by its id or
	// its upstream reference; zero when the hub does not know it.
	ActionID uuid.UUID
	// Recipients are the registry clients it is relayed to: the client that
	// submitted the action, or every registry client when the action is
	// unknown (or its client revoked). None when there is no registry
	// client: the notice is then in the feed of operators only.
	Recipients []string
	ReceivedAt time.Time
}

// View is a received notice as the local registry reads it in its event
// feed (events of type notice): the notice, the hub's id of it and when the
// hub received it.
type View struct {
	ID uuid.UUID `json:"id"`
	Notice
	ReceivedAt time.Time `json:"received_at"`
}

// ErrConflict is returned (wrapped) when a notice arrives under an X-Road
// id or a notice id already used for a different notice: nothing is stored.
var ErrConflict = errors.New("notice conflicts with one already received")
