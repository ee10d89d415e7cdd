package upstream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind is what a registration action does to a person's residence, whatever
// the protocol calls it.
type Kind string

// The kinds of registration action (002 §2.1.6, §4.2.22, §7.2–7.4). Each
// is the hub's action kind without its "residence." prefix, so that a test
// can tell the engine's kind from the hub's.
const (
	KindDeclare    Kind = "declare"
	KindRegister   Kind = "register"
	KindDeregister Kind = "deregister"
	// KindCancel cancels an earlier action; Message.CancelOf says which kind
	// (empty: unspecified).
	KindCancel Kind = "cancel"
	// KindExclude excludes a declared residence.
	KindExclude Kind = "exclude"
	// KindStayRegister registers a place of stay, beside the residence.
	KindStayRegister Kind = "stay.register"
	// KindChange moves a declared or registered person to a new address.
	KindChange Kind = "change"
	// KindCorrect corrects the person's data (Message.Person is the
	// corrected identity).
	KindCorrect Kind = "person.correct"
	// KindDeregisterDeath deregisters a person who died.
	KindDeregisterDeath Kind = "deregister_death"
	// KindAddressChange is an address-directory change: it concerns no
	// person (Message.PersonKey is the address's key, Message.AddressChange
	// what changed) and renames or renumbers the addresses it covers.
	KindAddressChange Kind = "address.change"
)

// Person states kept by the engine.
const (
	StateDeclared     = "declared"
	StateRegistered   = "registered"
	StateDeregistered = "deregistered"
	StateCancelled    = "cancelled"
	// StateExcluded: the declared residence was excluded.
	StateExcluded = "excluded"
	// StateDeceased: deregistered on death; nothing but a cancellation of
	// that deregistration applies any more.
	StateDeceased = "deceased"
)

// Reason codes of business rejections.
const (
	// ReasonInvalidRequest: a required field is missing or invalid. The
	// simulators answer this as a business rejection (HTTP 200, REJECTED /
	// REFUSED), not as a SOAP fault: the message was well-formed SOAP, and
	// the decision is stored and repeated for every resend like any other.
	ReasonInvalidRequest = "INVALID_REQUEST"
	// ReasonNoActiveRegistration: deregistration (also on death) or change
	// of residence of a person with no current registration or declaration
	// here.
	ReasonNoActiveRegistration = "NO_ACTIVE_REGISTRATION"
	// ReasonNoDeclaredResidence: exclusion of a declared residence for a
	// person whose residence here is not a declared one.
	ReasonNoDeclaredResidence = "NO_DECLARED_RESIDENCE"
	// ReasonUnknownPerson: correction of a person nothing was recorded for.
	ReasonUnknownPerson = "UNKNOWN_PERSON"
	// ReasonPersonDeceased: any action but a cancellation for a person
	// deregistered on death.
	ReasonPersonDeceased = "PERSON_DECEASED"
	// ReasonSimulated: rejected by Config.RejectionRate.
	ReasonSimulated = "SIMULATED_REJECTION"
)

// Message is one submission, mapped from a protocol's request by a front-end.
type Message struct {
	// ID is the X-Road message id: the deduplication key.
	ID      string `json:"message_id"`
	Client  string `json:"client,omitempty"`
	Service string `json:"service,omitempty"`
	UserID  string `json:"user_id,omitempty"`
	Issue   string `json:"issue,omitempty"`
	// PersonKey is the person's UNZR, else RNOKPP; for an address change,
	// "address:" and the community's KATOTTG code.
	PersonKey string `json:"person"`
	// Action is the protocol's own action code, as received.
	Action    string `json:"action"`
	Kind      Kind   `json:"kind"`
	CancelOf  Kind   `json:"cancel_of,omitempty"`
	Reference string `json:"reference,omitempty"`
	Katottg   string `json:"katottg,omitempty"`
	// Missing lists required fields the front-end found absent or invalid;
	// any makes the message REJECTED with ReasonInvalidRequest.
	Missing []string `json:"-"`
	// Person, Address, PreviousAddress, EffectiveDate (YYYY-MM-DD) and
	// RegistrationBody (its code) are what the engine keeps of an applied
	// message for lookups (Engine.Lookup); the applied log of /inspect
	// does not repeat them.
	Person           *PersonData `json:"-"`
	Address          *Address    `json:"-"`
	PreviousAddress  *Address    `json:"-"`
	EffectiveDate    string      `json:"-"`
	RegistrationBody string      `json:"-"`
	// DeathDate is the date of death of a KindDeregisterDeath.
	DeathDate string `json:"-"`
	// AddressChange is what a KindAddressChange changes.
	AddressChange *AddressChange `json:"-"`
}

// AckStatus is the protocol-independent outcome of a submission.
type AckStatus string

// Outcomes. The front-ends map them: APPLIED is REGISTERED (DMS) / RECORDED
// (EDDR); ACCEPTED is ACCEPTED / QUEUED; PENDING is PENDING / IN_PROGRESS;
// REJECTED is REJECTED / REFUSED.
const (
	AckApplied  AckStatus = "APPLIED"
	AckAccepted AckStatus = "ACCEPTED"
	AckPending  AckStatus = "PENDING"
	AckRejected AckStatus = "REJECTED"
)

// Ack is the engine's answer to a submission or a status query.
type Ack struct {
	MessageID  string    `json:"message_id"`
	Status     AckStatus `json:"status"`
	RecordID   string    `json:"record_id,omitempty"`
	ReceiptID  string    `json:"receipt_id,omitempty"`
	ReasonCode string    `json:"reason_code,omitempty"`
	ReasonText string    `json:"reason_text,omitempty"`
}

// Reply is the result of Engine.Submit.
type Reply struct {
	// Body is the rendered answer: for a duplicate, the first answer verbatim.
	Body      []byte
	Ack       Ack
	Duplicate bool
}

// Errors of Submit and Status; front-ends answer them with a Client fault.
var (
	ErrNoMessageID     = errors.New("message has no id")
	ErrUnknownReceipt  = errors.New("unknown receipt")
	ErrReceiptMismatch = errors.New("receipt belongs to another message")
)

// Names of invalid fields the engine itself detects.
const (
	fieldKind      = "action kind"
	fieldPersonKey = "person unzr|rnokpp"
)

// FaultKind is an injected transport fault, decided by Engine.Admit.
type FaultKind string

// Injected faults, also the keys of Inspection.Faults (with "slow").
const (
	FaultNone      FaultKind = ""
	FaultOutage    FaultKind = "outage"
	FaultError     FaultKind = "error"
	FaultServer    FaultKind = "server_fault"
	FaultClient    FaultKind = "client_fault"
	FaultMalformed FaultKind = "malformed"
	faultSlow      FaultKind = "slow"
)

// Admission says how to treat one SOAP request.
type Admission struct {
	Fault FaultKind
	// CloseConn: during an outage, drop the connection rather than answer 503.
	CloseConn bool
	// Apply: a malformed answer follows a real handling of the request.
	Apply bool
	// Slow: after handling, wait this long before answering.
	Slow time.Duration
}

// Engine is the protocol-independent state of one simulated upstream: what
// it applied, in order, the first answer to every message id, duplicates,
// each person's current state, receipts of asynchronous acceptances, and
// the fault knobs. It is safe for concurrent use.
type Engine struct {
	name   string
	logger *slog.Logger
	now    func() time.Time

	mu             sync.Mutex
	cfg            Config
	rng            *rand.Rand
	seq            uint64
	receiptSeq     uint64
	applied        []AppliedEntry
	rejected       []RejectedEntry
	answers        map[string]*answer
	duplicates     int
	dupsByMessage  map[string]int
	persons        map[string]*person
	addresses      map[string][]AddressChangeEntry
	receipts       map[string]*receipt
	receiptOrder   []string
	faults         map[FaultKind]int
	requests       int
	protocolErrors int
	lookupSeq      uint64
	lookups        []LookupEntry
}

type answer struct {
	body      []byte
	ack       Ack
	receiptID string
}

type receipt struct {
	id, messageID string
	final         Ack // APPLIED or REJECTED
	acceptedAt    time.Time
	readyAt       time.Time
	polls         int
	finals        int
}

type person struct {
	state   string
	katottg string
	history []HistoryEntry
	// identity is the latest applied message's person; res the residence
	// the applied messages left (see applyResidence); stay the registered
	// place of stay, if any.
	identity *PersonData
	res      Residence
	stay     *Stay
}

// NewEngine returns an engine whose record ids start with name (for
// example "DMS-00000001"). It panics on a config that fails Validate.
func NewEngine(name string, cfg Config, logger *slog.Logger) *Engine {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("upstream.NewEngine: %v", err))
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{name: name, logger: logger.With("upstream", name), now: time.Now, cfg: cfg}
	e.reset()
	return e
}

// Name is the engine's name, the prefix of its record ids.
func (e *Engine) Name() string { return e.name }

// Config returns the current configuration.
func (e *Engine) Config() Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// SetConfig replaces the configuration; state is kept. A new Seed reseeds
// the fault generator.
func (e *Engine) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	reseed := cfg.Seed != e.cfg.Seed
	e.cfg = cfg
	if reseed {
		e.rng = newRand(cfg.Seed)
	}
	e.logger.Info("config changed", "config", cfg)
	return nil
}

// Reset forgets everything applied, answered and counted; the
// configuration stays and the fault generator is reseeded.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reset()
	e.logger.Info("reset")
}

func (e *Engine) reset() {
	e.rng = newRand(e.cfg.Seed)
	e.seq, e.receiptSeq = 0, 0
	e.applied, e.rejected = nil, nil
	e.answers = map[string]*answer{}
	e.duplicates = 0
	e.dupsByMessage = map[string]int{}
	e.persons = map[string]*person{}
	e.addresses = map[string][]AddressChangeEntry{}
	e.receipts = map[string]*receipt{}
	e.receiptOrder = nil
	e.faults = map[FaultKind]int{}
	e.requests, e.protocolErrors = 0, 0
	e.lookupSeq, e.lookups = 0, nil
}

func newRand(seed int64) *rand.Rand {
	s := uint64(seed)
	if seed == 0 {
		s = uint64(time.Now().UnixNano())
	}
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

// Admit decides the fate of one SOAP request before anything is applied:
// an outage, then Latency (plus jitter) waited out, then one draw per fault
// knob (503, Server fault, Client fault, malformed), then the slow knob. It
// returns ctx's error if the client gives up during the latency.
func (e *Engine) Admit(ctx context.Context) (Admission, error) {
	e.mu.Lock()
	e.requests++
	cfg := e.cfg
	if cfg.inOutage(e.now()) {
		e.faults[FaultOutage]++
		e.mu.Unlock()
		return Admission{Fault: FaultOutage, CloseConn: cfg.OutageClose}, nil
	}
	delay := cfg.Latency
	if cfg.LatencyJitter > 0 {
		delay += time.Duration(e.rng.Int64N(int64(cfg.LatencyJitter)))
	}
	e.mu.Unlock()

	if err := Sleep(ctx, delay); err != nil {
		return Admission{}, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	cfg = e.cfg
	draw := func(rate float64) bool { return rate > 0 && e.rng.Float64() < rate }
	var a Admission
	switch {
	case draw(cfg.ErrorRate):
		a.Fault = FaultError
	case draw(cfg.ServerFaultRate):
		a.Fault = FaultServer
	case draw(cfg.ClientFaultRate):
		a.Fault = FaultClient
	case draw(cfg.MalformedRate):
		a.Fault, a.Apply = FaultMalformed, cfg.MalformedApplies
	}
	if a.Fault != FaultNone {
		e.faults[a.Fault]++
	}
	if (a.Fault == FaultNone || a.Apply) && draw(cfg.SlowRate) {
		a.Slow = cfg.SlowDelay
		e.faults[faultSlow]++
	}
	return a, nil
}

// ProtocolError counts a request refused with a Client fault of the
// simulator's own (not an injected one).
func (e *Engine) ProtocolError() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.protocolErrors++
}

// Submit decides and applies one message, or — for a message id seen
// before — counts a duplicate and returns the first answer verbatim without
// applying anything. render turns the decision into the protocol's answer;
// it is called under the engine's lock, once per new message (and, with
// AckTwice, for a second acknowledgement).
//
// In async mode the decision is taken, and the change applied, at
// acceptance; the answer is ACCEPTED with a receipt, and Status tells the
// outcome once AsyncDelay has passed.
func (e *Engine) Submit(m Message, render func(Ack) ([]byte, error)) (Reply, error) {
	if m.ID == "" {
		return Reply{}, ErrNoMessageID
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()

	if prev, ok := e.answers[m.ID]; ok {
		e.duplicates++
		e.dupsByMessage[m.ID]++
		e.logger.Debug("duplicate", "message_id", m.ID, "count", e.dupsByMessage[m.ID])
		if r := e.receipts[prev.receiptID]; e.cfg.AckTwice && r != nil && !now.Before(r.readyAt) {
			r.finals++
			ack := r.final
			body, err := render(ack)
			return Reply{Body: body, Ack: ack, Duplicate: true}, err
		}
		body := prev.body
		if body == nil {
			var err error
			if body, err = render(prev.ack); err != nil {
				return Reply{}, err
			}
		}
		return Reply{Body: body, Ack: prev.ack, Duplicate: true}, nil
	}

	ack := e.decide(m, now)
	rid := ""
	if e.cfg.async() {
		e.receiptSeq++
		rid = fmt.Sprintf("%s-R-%08d", e.name, e.receiptSeq)
		ack.ReceiptID = rid
		e.receipts[rid] = &receipt{id: rid, messageID: m.ID, final: ack, acceptedAt: now, readyAt: now.Add(e.cfg.AsyncDelay)}
		e.receiptOrder = append(e.receiptOrder, rid)
		if ack.Status == AckApplied {
			e.applied[len(e.applied)-1].ReceiptID = rid
		}
		ack = Ack{MessageID: m.ID, Status: AckAccepted, ReceiptID: rid}
	}
	// The answer is stored even if rendering fails, so that a resend is
	// still recognised as a duplicate (and rendered again).
	a := &answer{ack: ack, receiptID: rid}
	e.answers[m.ID] = a
	body, err := render(ack)
	if err != nil {
		return Reply{}, err
	}
	a.body = body
	return Reply{Body: body, Ack: ack}, nil
}

// decide applies m if the rules allow, and returns the final outcome.
// Called with e.mu held.
func (e *Engine) decide(m Message, now time.Time) Ack {
	missing := append([]string(nil), m.Missing...)
	if m.PersonKey == "" && m.Kind != KindAddressChange && !slices.Contains(missing, fieldPersonKey) && !slices.Contains(missing, "person") {
		missing = append(missing, fieldPersonKey)
	}
	if !knownKinds[m.Kind] {
		missing = append(missing, fieldKind)
	}
	if len(missing) > 0 {
		return e.reject(m, now, ReasonInvalidRequest, "missing or invalid: "+strings.Join(missing, ", "))
	}
	if RejectByHash(e.cfg.Seed, m.ID, e.cfg.RejectionRate) {
		return e.reject(m, now, ReasonSimulated, "rejected by the simulator's rejection rate")
	}
	if m.Kind == KindAddressChange {
		return e.applyAddressChange(m, now)
	}
	p := e.persons[m.PersonKey]
	if code, text := refusal(p, m.Kind); code != "" {
		return e.reject(m, now, code, text)
	}
	if p == nil {
		p = &person{}
		e.persons[m.PersonKey] = p
	}
	e.seq++
	rec := fmt.Sprintf("%s-%08d", e.name, e.seq)
	h := HistoryEntry{Seq: e.seq, MessageID: m.ID, Action: m.Action, Kind: m.Kind, CancelOf: m.CancelOf,
		BeforeState: p.state, BeforeKatottg: p.katottg, AppliedAt: now, before: p.res, beforeStay: p.stay}
	p.transition(m)
	if m.Person != nil {
		p.identity = m.Person
	}
	p.res.RecordID = rec
	h.State, h.Katottg = p.state, p.katottg
	p.history = append(p.history, h)
	e.applied = append(e.applied, AppliedEntry{Seq: e.seq, Message: m, RecordID: rec, AppliedAt: now})
	e.logger.Debug("applied", "seq", e.seq, "message_id", m.ID, "kind", m.Kind, "record_id", rec)
	return Ack{MessageID: m.ID, Status: AckApplied, RecordID: rec}
}

// knownKinds are the kinds the engine applies.
var knownKinds = map[Kind]bool{
	KindDeclare: true, KindRegister: true, KindDeregister: true, KindCancel: true, KindExclude: true,
	KindStayRegister: true, KindChange: true, KindCorrect: true, KindDeregisterDeath: true, KindAddressChange: true,
}

// NeedsAddress reports whether a message of kind k must name an address:
// the one a person comes to.
func NeedsAddress(k Kind) bool {
	return k == KindDeclare || k == KindRegister || k == KindStayRegister || k == KindChange
}

// NeedsBasis reports whether a message of kind k must carry the document it
// rests on.
func NeedsBasis(k Kind) bool {
	return k == KindExclude || k == KindCorrect || k == KindAddressChange
}

// Cancellable reports whether a cancellation may name kind k.
func Cancellable(k Kind) bool {
	switch k {
	case KindDeclare, KindRegister, KindDeregister, KindStayRegister, KindChange, KindDeregisterDeath:
		return true
	}
	return false
}

// refusal is the business rejection of a message of kind k for person p
// (nil: nothing applied for that key yet), if the person's state makes the
// action impossible. It looks at the state only, never at the message's
// addresses, so that an in-order replay of the same kinds decides alike.
func refusal(p *person, k Kind) (code, text string) {
	if p != nil && p.state == StateDeceased && k != KindCancel {
		return ReasonPersonDeceased, "the person was deregistered on death"
	}
	active := p != nil && (p.state == StateRegistered || p.state == StateDeclared)
	switch k {
	case KindDeregister, KindDeregisterDeath, KindChange:
		if !active {
			return ReasonNoActiveRegistration, "the person has no current registration or declaration"
		}
	case KindExclude:
		if p == nil || p.state != StateDeclared {
			return ReasonNoDeclaredResidence, "the person has no declared residence to exclude"
		}
	case KindCorrect:
		if p == nil {
			return ReasonUnknownPerson, "nothing is recorded for the person"
		}
	}
	return "", ""
}

func (e *Engine) reject(m Message, now time.Time, code, text string) Ack {
	e.rejected = append(e.rejected, RejectedEntry{Message: m, ReasonCode: code, ReasonText: text, RejectedAt: now})
	e.logger.Debug("rejected", "message_id", m.ID, "reason", code)
	return Ack{MessageID: m.ID, Status: AckRejected, ReasonCode: code, ReasonText: text}
}

// transition moves the person's state for an applied message:
//   - declare / register: declared / registered at the message's katottg;
//   - deregister: deregistered, no current address;
//   - exclude: excluded, no current address;
//   - deregister on death: deceased, no current address, no place of stay;
//   - change: still declared or registered, at the new address;
//   - stay registration: the place of stay, beside the residence;
//   - correction: the identity only (Engine.decide takes it from every
//     applied message);
//   - cancel of a declaration, registration, deregistration (also on
//     death) or change: if the person is still in the state that action put
//     them in, the residence held before the latest such action comes back
//     (a cancelled registration returns the person to where they were
//     before it, as the local registry's records do) — and, for a death,
//     the place of stay it ended; of a stay registration: the place of
//     stay held before it.
//
// A cancel that matches nothing is still applied (logged, in history) but
// changes no state. The residence lookups read moves along (applyResidence)
// and comes back with the state on a cancellation.
func (p *person) transition(m Message) {
	p.applyResidence(m)
	switch m.Kind {
	case KindDeclare:
		p.state, p.katottg = StateDeclared, m.Katottg
	case KindRegister:
		p.state, p.katottg = StateRegistered, m.Katottg
	case KindDeregister:
		p.state, p.katottg = StateDeregistered, ""
	case KindExclude:
		p.state, p.katottg = StateExcluded, ""
	case KindDeregisterDeath:
		p.state, p.katottg, p.stay = StateDeceased, "", nil
	case KindChange:
		if m.Katottg != "" {
			p.katottg = m.Katottg
		}
	case KindStayRegister:
		addr := m.Address
		if addr == nil && m.Katottg != "" {
			addr = &Address{Katottg: m.Katottg}
		}
		p.stay = &Stay{Address: addr, RegistrationDate: m.EffectiveDate}
	case KindCancel:
		of := m.CancelOf
		if of == "" {
			switch p.state {
			case StateDeclared:
				of = KindDeclare
			case StateRegistered:
				of = KindRegister
			case StateDeregistered:
				of = KindDeregister
			case StateDeceased:
				of = KindDeregisterDeath
			}
		}
		if !p.stillIn(of) {
			return
		}
		for i := len(p.history) - 1; i >= 0; i-- {
			if h := p.history[i]; h.Kind == of {
				if of == KindStayRegister || of == KindDeregisterDeath {
					// A death ended the place of stay too.
					p.stay = h.beforeStay
				}
				if of == KindStayRegister {
					return
				}
				p.state, p.katottg, p.res = h.BeforeState, h.BeforeKatottg, h.before
				if p.state == "" {
					p.state = StateCancelled
				}
				return
			}
		}
	}
}

// stillIn reports whether the person is still in the state an action of
// kind k put them in, so that cancelling it can restore what was before.
func (p *person) stillIn(k Kind) bool {
	switch k {
	case KindDeclare:
		return p.state == StateDeclared
	case KindRegister:
		return p.state == StateRegistered
	case KindDeregister:
		return p.state == StateDeregistered
	case KindDeregisterDeath:
		return p.state == StateDeceased
	case KindStayRegister:
		return p.stay != nil
	case KindChange:
		// At the address of the change: no declaration, registration or
		// other move since.
		if p.state != StateDeclared && p.state != StateRegistered {
			return false
		}
		for i := len(p.history) - 1; i >= 0; i-- {
			switch p.history[i].Kind {
			case KindChange:
				return true
			case KindDeclare, KindRegister:
				return false
			}
		}
	}
	return false
}

// Status answers a status query for a receipt: PENDING until AsyncDelay
// after acceptance, then the final outcome (APPLIED with the record id, or
// REJECTED), as many times as asked. messageID, if given, must be the
// message the receipt was issued for.
func (e *Engine) Status(receiptID, messageID string) (Ack, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.receipts[receiptID]
	if r == nil {
		return Ack{}, fmt.Errorf("%w %q", ErrUnknownReceipt, receiptID)
	}
	if messageID != "" && messageID != r.messageID {
		return Ack{}, fmt.Errorf("%w: receipt %q is for message %q, not %q", ErrReceiptMismatch, receiptID, r.messageID, messageID)
	}
	r.polls++
	if e.now().Before(r.readyAt) {
		return Ack{MessageID: r.messageID, Status: AckPending, ReceiptID: r.id}, nil
	}
	r.finals++
	return r.final, nil
}

// RejectByHash maps (seed, id) to [0, 1) and compares with rate, so one
// message id always gets the same decision under one seed and rate: the
// business-rejection rule (Config.RejectionRate) of every simulator.
func RejectByHash(seed int64, id string, rate float64) bool {
	if rate <= 0 {
		return false
	}
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(id))
	// FNV's high bits mix poorly for ids differing in the last characters:
	// finish with splitmix64's mixer.
	x := h.Sum64()
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	u := float64(x>>11) / (1 << 53)
	return u < rate
}

// Sleep waits d, or until ctx ends: how a simulator answers slowly
// (Admission.Slow) without outliving its request.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
