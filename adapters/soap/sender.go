package soapclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/schemas/xroad"
)

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config is where the upstreams are and who the hub is on the bus.
type Config struct {
	// DMSURL and EDDRURL are the endpoints (in production: the hub's X-Road
	// security server). A destination with an empty URL gets no Sender.
	DMSURL  string
	EDDRURL string
	// Timeout bounds each call, send or poll; zero means DefaultTimeout.
	Timeout time.Duration
	// Identity is the hub's client identifier and the services it calls; a
	// zero client or a missing service falls back to mapping's synthetic
	// test-bus defaults.
	Identity mapping.Identity
	// RegistrationBody is the registration body the hub speaks for.
	RegistrationBody mapping.RegistrationBody
	// UserAgent is sent as the HTTP User-Agent; empty means "reghub".
	UserAgent string
}

// NewSenders returns a Sender for each destination that has a URL. hc is the
// one HTTP client shared by every call; nil means NewHTTPClient(). A caller's
// client should keep connections alive with enough idle connections per host.
func NewSenders(cfg Config, hc *http.Client) map[action.Destination]outbox.Sender {
	if hc == nil {
		hc = NewHTTPClient()
	}
	out := map[action.Destination]outbox.Sender{}
	if cfg.DMSURL != "" {
		out[action.DestMigrationService] = &dmsSender{newBase(cfg, hc, action.DestMigrationService, cfg.DMSURL)}
	}
	if cfg.EDDRURL != "" {
		out[action.DestNationalRegistry] = &eddrSender{newBase(cfg, hc, action.DestNationalRegistry, cfg.EDDRURL)}
	}
	return out
}

// newBase is what a sender or finder of dest at url shares, with the
// configuration's defaults filled in; a nil hc means NewHTTPClient().
func newBase(cfg Config, hc *http.Client, dest action.Destination, url string) base {
	if hc == nil {
		hc = NewHTTPClient()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "reghub"
	}
	return base{
		dest:      dest,
		url:       url,
		timeout:   cfg.Timeout,
		identity:  withDefaults(cfg.Identity),
		body:      cfg.RegistrationBody,
		hc:        keepAlive{hc: hc},
		userAgent: cfg.UserAgent,
		opts:      []soap.Option{soap.WithHTTPHeaders(map[string]string{"User-Agent": cfg.UserAgent})},
	}
}

// withDefaults fills what the configuration leaves out from mapping's
// defaults, copying the map so the caller's stays untouched.
func withDefaults(id mapping.Identity) mapping.Identity {
	def := mapping.DefaultIdentity()
	if id.Client == (xroad.Identifier{}) {
		id.Client = def.Client
	}
	services := make(map[action.Destination]xroad.Identifier, len(def.Services))
	for d, s := range def.Services {
		services[d] = s
	}
	for d, s := range id.Services {
		services[d] = s
	}
	id.Services = services
	return id
}

// base is what both senders share.
type base struct {
	dest     action.Destination
	url      string
	timeout  time.Duration
	identity mapping.Identity
	body     mapping.RegistrationBody
	hc       soap.HTTPClient
	opts     []soap.Option
	// userAgent is the User-Agent opts send, for calls that add headers.
	userAgent string
}

// prepare decodes the message's submission and its metadata. The body was
// validated when the action was accepted; it is decoded, not validated again,
// so that a rule added since cannot strand messages already accepted.
func (b *base) prepare(m outbox.Message) (*action.Submission, mapping.Meta, error) {
	var s action.Submission
	if err := json.Unmarshal(m.Body, &s); err != nil {
		return nil, mapping.Meta{}, outbox.Permanent(outbox.ClassMapping,
			fmt.Errorf("%s message %s: decode submission: %w", b.dest, m.ID, err))
	}
	statusTime := m.CreatedAt
	if statusTime.IsZero() {
		statusTime = time.Now()
	}
	meta := mapping.Meta{
		MessageID:        m.ID.String(),
		ActionRef:        m.ActionRef,
		StatusTime:       statusTime,
		RegistrationBody: b.body,
	}
	return &s, meta, nil
}

// client builds the soap.Client of one call, carrying that message's
// headers. gowsdl's header slice is not safe to share between calls.
func (b *base) client(h xroad.Headers) *soap.Client {
	c := soap.NewClient(b.url, append([]soap.Option{soap.WithHTTPClient(b.hc)}, b.opts...)...)
	c.SetHeaders(h.Elements()...)
	return c
}

// pollHeaders are the X-Road headers of a status poll. Each poll is a
// message of its own on the bus, so it gets a fresh id; the body still
// names the original message.
func (b *base) pollHeaders(meta mapping.Meta, official action.Official) xroad.Headers {
	h := mapping.StatusHeaders(b.dest, b.identity, meta, official)
	h.ID = uuid.NewString()
	return h
}

// op names a call in error texts: "dms OtgToDms, message <id>".
func (b *base) op(operation string, m outbox.Message) string {
	return fmt.Sprintf("%s %s, message %s", b.dest, operation, m.ID)
}

func (b *base) mappingError(m outbox.Message, err error) error {
	return outbox.Permanent(outbox.ClassMapping, fmt.Errorf("%s message %s: %w", b.dest, m.ID, err))
}

// malformed reports an answer that decoded but cannot be acted on.
func malformed(op, format string, args ...any) error {
	return outbox.Transient(outbox.ClassMalformedReply, fmt.Errorf("%s: %s", op, fmt.Sprintf(format, args...)))
}

// errNoReceipt is returned for a poll of a message without a receipt.
var errNoReceipt = errors.New("poll without a receipt")

// answer is what an upstream's reply says, in the protocol's own words;
// reply turns it into the outbox's terms. The two upstreams name things
// differently but decide alike: applied (with a record reference),
// undecided (a receipt at submission, still pending at a poll) or refused.
type answer struct {
	op          string
	idName      string // requestId / messageId
	wantID      string
	gotID       string
	codeName    string // result / outcome
	code        *string
	applied     []string
	undecided   []string
	refused     []string
	reference   string // the upstream's record of the applied message
	receiptName string // receiptId / ticket
	receipt     string
	reasonCode  string
	reason      string
}

// reply interprets the answer to a submission (stage send) or to a poll
// for pollReceipt.
func (a answer) reply(stage outbox.Stage, pollReceipt string) (outbox.Reply, error) {
	if a.gotID != a.wantID {
		return outbox.Reply{}, malformed(a.op, "answer is for %s %.64q, not %q", a.idName, a.gotID, a.wantID)
	}
	if a.code == nil {
		return outbox.Reply{}, malformed(a.op, "answer has no %s", a.codeName)
	}
	code := *a.code
	switch {
	case slices.Contains(a.applied, code):
		return outbox.Reply{Kind: outbox.ReplyAcknowledged, Reference: a.reference}, nil
	case slices.Contains(a.undecided, code) && stage == outbox.StagePoll:
		return outbox.Reply{Kind: outbox.ReplyPending, Reference: pollReceipt}, nil
	case slices.Contains(a.undecided, code):
		if a.receipt == "" {
			return outbox.Reply{}, malformed(a.op, "%s %s without a %s", a.codeName, code, a.receiptName)
		}
		return outbox.Reply{Kind: outbox.ReplyReceipt, Reference: a.receipt}, nil
	case slices.Contains(a.refused, code):
		return outbox.Reply{Kind: outbox.ReplyRejected, ReasonCode: a.reasonCode, Reason: a.reason}, nil
	}
	return outbox.Reply{}, malformed(a.op, "unknown %s %.64q", a.codeName, code)
}

// dmsAnswer and eddrAnswer name each protocol's codes once.
func dmsAnswer(op, wantID, gotID string, result *dms.ResultCode) answer {
	return answer{op: op, idName: "requestId", wantID: wantID, gotID: gotID, codeName: "result", code: (*string)(result),
		applied:   []string{string(dms.ResultCodeREGISTERED)},
		undecided: []string{string(dms.ResultCodeACCEPTED), string(dms.ResultCodePENDING)},
		refused:   []string{string(dms.ResultCodeREJECTED)}, receiptName: "receiptId"}
}

func eddrAnswer(op, wantID, gotID string, outcome *eddr.Outcome) answer {
	return answer{op: op, idName: "messageId", wantID: wantID, gotID: gotID, codeName: "outcome", code: (*string)(outcome),
		applied:   []string{string(eddr.OutcomeRECORDED)},
		undecided: []string{string(eddr.OutcomeQUEUED), string(eddr.OutcomeIN_PROGRESS)},
		refused:   []string{string(eddr.OutcomeREFUSED)}, receiptName: "ticket"}
}

// --- DMS ---

type dmsSender struct{ base }

// Send delivers the action as OtgToDms. REGISTERED is an acknowledgement
// (recordId), ACCEPTED and PENDING a receipt to poll with (receiptId),
// REJECTED a rejection.
func (s *dmsSender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	op := s.op("OtgToDms", m)
	sub, meta, err := s.prepare(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	req, err := mapping.ToDMS(sub, meta)
	if err != nil {
		return outbox.Reply{}, s.mappingError(m, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	port := dms.NewOtgToDmsPort(s.client(mapping.Headers(s.dest, s.identity, meta, sub.Official)))
	res, err := port.OtgToDmsContext(ctx, req)
	if err != nil {
		return outbox.Reply{}, classify(ctx, op, err)
	}
	a := dmsAnswer(op, meta.MessageID, res.RequestId, res.Result)
	a.reference, a.receipt, a.reasonCode, a.reason = res.RecordId, res.ReceiptId, res.ReasonCode, res.ReasonText
	return a.reply(outbox.StageSend, "")
}

// Poll asks OtgToDmsStatus for the decision on m.Receipt.
func (s *dmsSender) Poll(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	op := s.op("OtgToDmsStatus", m)
	sub, meta, err := s.prepare(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	if m.Receipt == "" {
		return outbox.Reply{}, s.mappingError(m, errNoReceipt)
	}
	req, err := mapping.ToDMSStatus(meta, m.Receipt)
	if err != nil {
		return outbox.Reply{}, s.mappingError(m, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	port := dms.NewOtgToDmsPort(s.client(s.pollHeaders(meta, sub.Official)))
	res, err := port.OtgToDmsStatusContext(ctx, req)
	if err != nil {
		return outbox.Reply{}, classify(ctx, op, err)
	}
	a := dmsAnswer(op, meta.MessageID, res.RequestId, res.Result)
	a.reference, a.reasonCode, a.reason = res.RecordId, res.ReasonCode, res.ReasonText
	return a.reply(outbox.StagePoll, m.Receipt)
}

// --- EDDR ---

type eddrSender struct{ base }

// Send delivers the action as SubmitResidenceChange. RECORDED is an
// acknowledgement (entryNumber), QUEUED and IN_PROGRESS a receipt (ticket),
// REFUSED a rejection.
func (s *eddrSender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	op := s.op("SubmitResidenceChange", m)
	sub, meta, err := s.prepare(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	req, err := mapping.ToEDDR(sub, meta)
	if err != nil {
		return outbox.Reply{}, s.mappingError(m, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	port := eddr.NewEddrResidencePort(s.client(mapping.Headers(s.dest, s.identity, meta, sub.Official)))
	res, err := port.SubmitResidenceChangeContext(ctx, req)
	if err != nil {
		return outbox.Reply{}, classify(ctx, op, err)
	}
	a := eddrAnswer(op, meta.MessageID, res.MessageId, res.Outcome)
	a.reference, a.receipt, a.reasonCode, a.reason = res.EntryNumber, res.Ticket, res.RefusalCode, res.RefusalReason
	return a.reply(outbox.StageSend, "")
}

// Poll asks GetChangeStatus for the decision on ticket m.Receipt.
func (s *eddrSender) Poll(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	op := s.op("GetChangeStatus", m)
	sub, meta, err := s.prepare(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	if m.Receipt == "" {
		return outbox.Reply{}, s.mappingError(m, errNoReceipt)
	}
	req, err := mapping.ToEDDRStatus(meta, m.Receipt)
	if err != nil {
		return outbox.Reply{}, s.mappingError(m, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	port := eddr.NewEddrResidencePort(s.client(s.pollHeaders(meta, sub.Official)))
	res, err := port.GetChangeStatusContext(ctx, req)
	if err != nil {
		return outbox.Reply{}, classify(ctx, op, err)
	}
	a := eddrAnswer(op, meta.MessageID, res.MessageId, res.Outcome)
	a.reference, a.reasonCode, a.reason = res.EntryNumber, res.RefusalCode, res.RefusalReason
	return a.reply(outbox.StagePoll, m.Receipt)
}
