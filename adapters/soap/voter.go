package soapclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/schemas/voter"
	"github.com/reghub/reghub/schemas/xroad"
)

var (
	_ outbox.Sender   = (*voterSender)(nil)
	_ outbox.Renderer = (*voterSender)(nil)
)

// NewVoterSender returns the Sender of monthly.DestVoterRegister: the
// State Voter Register, sent each month's set (monthly.VoterSet, the JSON
// body of the internal action monthly.KindVoterRegister) with
// SubmitVoterSet (schemas/voter, 002 §4.2.19.2). The Sender also
// implements outbox.Renderer.
//
// Sets are posted to url (in production, the hub's X-Road security
// server); the service identifier is
// cfg.Identity.Services[monthly.DestVoterRegister], else
// mapping.DefaultVoterService, and the X-Road userId is
// monthly.SystemClient. cfg's DMSURL and EDDRURL are not used; its
// timeout, client identity, registration body and User-Agent are. hc is
// shared as in NewSenders; nil means NewHTTPClient().
//
// A body that does not decode as a set, or a set that does not map, is a
// permanent outbox.ClassMapping failure, reported before any call. Failed
// calls are classified as for the national systems (classify); the answer
// is synchronous: accepted (acknowledged with the register's reference) or
// rejected.
func NewVoterSender(cfg Config, url string, hc *http.Client) outbox.Sender {
	return &voterSender{base: newBase(cfg, hc, monthly.DestVoterRegister, url)}
}

type voterSender struct {
	base
}

// voterCall is one message prepared for the register.
type voterCall struct {
	op      string
	meta    mapping.Meta
	req     *voter.SubmitVoterSetRequest
	headers xroad.Headers
}

// prepareSet decodes m's set and maps it. Every error is a permanent
// ClassMapping DeliveryError.
func (s *voterSender) prepareSet(m outbox.Message) (voterCall, error) {
	var set monthly.VoterSet
	if err := json.Unmarshal(m.Body, &set); err != nil {
		return voterCall{}, s.mappingError(m, fmt.Errorf("decode voter set: %w", err))
	}
	statusTime := m.CreatedAt
	if statusTime.IsZero() {
		statusTime = time.Now()
	}
	meta := mapping.Meta{
		MessageID:        m.ID.String(),
		ActionRef:        m.ActionRef,
		StatusTime:       statusTime,
		RegistrationBody: s.body,
	}
	req, err := mapping.ToVoter(set, meta.RegistrationBody, meta.MessageID)
	if err != nil {
		return voterCall{}, s.mappingError(m, err)
	}
	return voterCall{
		op:      s.op("SubmitVoterSet", m) + " (period " + set.Period + ")",
		meta:    meta,
		req:     req,
		headers: mapping.VoterHeaders(s.identity, meta),
	}, nil
}

// Send delivers the set. accepted is an acknowledgement (the register's
// reference), rejected a rejection; there is no receipt.
func (s *voterSender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	c, err := s.prepareSet(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := voter.NewVoterRegisterPort(s.client(c.headers)).SubmitVoterSetContext(ctx, c.req)
	if err != nil {
		return outbox.Reply{}, classify(ctx, c.op, err)
	}
	a := answer{op: c.op, idName: "setId", wantID: c.meta.MessageID, gotID: res.SetId, codeName: "result", code: (*string)(res.Result),
		applied: []string{string(voter.ResultAccepted)}, refused: []string{string(voter.ResultRejected)},
		reference: res.Reference, reasonCode: res.RejectionCode, reason: res.RejectionReason}
	reply, err := a.reply(outbox.StageSend, "")
	if err == nil && reply.Kind == outbox.ReplyAcknowledged && reply.Reference == "" {
		return outbox.Reply{}, malformed(c.op, "accepted without a reference")
	}
	return reply, err
}

// Poll is never needed: the register answers synchronously and gives no
// receipt. Should a message of this destination be polled all the same (a
// receipt recorded by hand), Poll makes no call and answers ReplyPending,
// so the relay waits for the acknowledgement deadline and then sends the
// message again — the register answers a resend from memory.
func (s *voterSender) Poll(_ context.Context, m outbox.Message) (outbox.Reply, error) {
	return outbox.Reply{Kind: outbox.ReplyPending, Reference: m.Receipt}, nil
}

// Render returns the SOAP envelope Send posts for m, headers included.
func (s *voterSender) Render(m outbox.Message) ([]byte, error) {
	c, err := s.prepareSet(m)
	if err != nil {
		return nil, err
	}
	return mapping.Envelope(c.headers, c.req)
}
