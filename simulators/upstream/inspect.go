package upstream

import (
	"maps"
	"time"
)

// Inspection is what GET /inspect answers: everything the simulator did,
// in order of application.
type Inspection struct {
	Service string `json:"service"`
	// Applied lists the applied messages in order of application
	// (acceptance, in async mode).
	Applied      []AppliedEntry `json:"applied"`
	AppliedCount int            `json:"applied_count"`
	// Rejected lists business rejections (nothing applied), in order.
	Rejected      []RejectedEntry `json:"rejected"`
	RejectedCount int             `json:"rejected_count"`
	// Duplicates counts submissions of an already answered message id.
	Duplicates          int            `json:"duplicates"`
	DuplicatesByMessage map[string]int `json:"duplicates_by_message"`
	// Persons is the current state per person key (UNZR, else RNOKPP).
	Persons map[string]PersonState `json:"persons"`
	// Addresses lists the address-directory changes applied, per address
	// key ("address:" and the community's KATOTTG code), in order.
	Addresses map[string][]AddressChangeEntry `json:"addresses"`
	// Receipts of async acceptances, in order of issue.
	Receipts []ReceiptInfo `json:"receipts"`
	// Faults counts injected faults by kind: outage, error, server_fault,
	// client_fault, malformed, slow.
	Faults map[string]int `json:"faults"`
	// Requests counts SOAP requests; ProtocolErrors those answered with a
	// Client fault of the simulator's own (bad envelope, X-Road header,
	// body id, operation, receipt), injected faults aside.
	Requests       int `json:"requests"`
	ProtocolErrors int `json:"protocol_errors"`
	// Lookups lists the latest lookups (ExtractPerson, LookupPerson), at
	// most 1,000, oldest first; LookupCount counts every one since reset.
	Lookups     []LookupEntry `json:"lookups"`
	LookupCount int           `json:"lookup_count"`
	Config      Config        `json:"config"`
}

// AppliedEntry is one applied message.
type AppliedEntry struct {
	Seq uint64 `json:"seq"`
	Message
	RecordID  string    `json:"record_id"`
	ReceiptID string    `json:"receipt_id,omitempty"`
	AppliedAt time.Time `json:"applied_at"`
}

// RejectedEntry is one message rejected for business reasons.
type RejectedEntry struct {
	Message
	ReasonCode string    `json:"reason_code"`
	ReasonText string    `json:"reason_text,omitempty"`
	RejectedAt time.Time `json:"rejected_at"`
}

// PersonState is a person's current state and the applied changes that led
// there.
type PersonState struct {
	// State is declared, registered, deregistered or cancelled.
	State   string         `json:"state"`
	Katottg string         `json:"katottg,omitempty"`
	History []HistoryEntry `json:"history"`
	// Person and Residence are what a lookup answers about the person.
	Person    *PersonData `json:"person,omitempty"`
	Residence Residence   `json:"residence"`
	// Stay is the registered place of stay, if any.
	Stay *Stay `json:"stay,omitempty"`
}

// HistoryEntry is one applied change of a person's state.
type HistoryEntry struct {
	Seq           uint64    `json:"seq"`
	MessageID     string    `json:"message_id"`
	Action        string    `json:"action"`
	Kind          Kind      `json:"kind"`
	CancelOf      Kind      `json:"cancel_of,omitempty"`
	BeforeState   string    `json:"before_state,omitempty"`
	BeforeKatottg string    `json:"before_katottg,omitempty"`
	State         string    `json:"state"`
	Katottg       string    `json:"katottg,omitempty"`
	AppliedAt     time.Time `json:"applied_at"`
	// before is the residence before the change, and beforeStay the
	// place of stay, restored if it is cancelled.
	before     Residence
	beforeStay *Stay
}

// ReceiptInfo is one async receipt and how often it was asked about.
type ReceiptInfo struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	// Outcome is the final decision, APPLIED or REJECTED, whether or not
	// it is ready yet.
	Outcome    AckStatus `json:"outcome"`
	RecordID   string    `json:"record_id,omitempty"`
	ReasonCode string    `json:"reason_code,omitempty"`
	AcceptedAt time.Time `json:"accepted_at"`
	ReadyAt    time.Time `json:"ready_at"`
	// Polls counts status queries; FinalAnswers the answers that carried
	// the final outcome (status queries after ReadyAt, and AckTwice
	// duplicates). More than one is an acknowledgement given twice.
	Polls        int `json:"polls"`
	FinalAnswers int `json:"final_answers"`
}

// Inspect returns a copy of the engine's state.
func (e *Engine) Inspect() Inspection {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := Inspection{
		Service:             e.name,
		Applied:             append([]AppliedEntry{}, e.applied...),
		AppliedCount:        len(e.applied),
		Rejected:            append([]RejectedEntry{}, e.rejected...),
		RejectedCount:       len(e.rejected),
		Duplicates:          e.duplicates,
		DuplicatesByMessage: maps.Clone(e.dupsByMessage),
		Persons:             make(map[string]PersonState, len(e.persons)),
		Addresses:           make(map[string][]AddressChangeEntry, len(e.addresses)),
		Receipts:            make([]ReceiptInfo, 0, len(e.receiptOrder)),
		Faults:              make(map[string]int, len(e.faults)),
		Requests:            e.requests,
		ProtocolErrors:      e.protocolErrors,
		Lookups:             append([]LookupEntry{}, e.lookups...),
		LookupCount:         int(e.lookupSeq),
		Config:              e.cfg,
	}
	for k, p := range e.persons {
		in.Persons[k] = PersonState{State: p.state, Katottg: p.katottg, History: append([]HistoryEntry{}, p.history...),
			Person: p.identity, Residence: p.res, Stay: p.stay}
	}
	for k, changes := range e.addresses {
		in.Addresses[k] = append([]AddressChangeEntry{}, changes...)
	}
	for _, id := range e.receiptOrder {
		r := e.receipts[id]
		in.Receipts = append(in.Receipts, ReceiptInfo{
			ID: r.id, MessageID: r.messageID, Outcome: r.final.Status, RecordID: r.final.RecordID,
			ReasonCode: r.final.ReasonCode, AcceptedAt: r.acceptedAt, ReadyAt: r.readyAt,
			Polls: r.polls, FinalAnswers: r.finals,
		})
	}
	for k, n := range e.faults {
		in.Faults[string(k)] = n
	}
	return in
}
