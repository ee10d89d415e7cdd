package soapclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/routing"
	"github.com/reghub/reghub/schemas/regbody"
	"github.com/reghub/reghub/schemas/xroad"
)

var (
	_ outbox.Sender   = (*regBodySender)(nil)
	_ outbox.Renderer = (*regBodySender)(nil)
)

// NewRegBodySender returns the Sender of routing.DestPreviousBody: the
// registration body of the community a message's action makes the person
// leave (routing.AddressLeft), found with rules.BodyFor, notified with
// NotifyRegistrationBody (schemas/regbody, 002 §4.2.4). The Sender also
// implements outbox.Renderer.
//
// Each message is posted to its body's directory endpoint (in production,
// the hub's X-Road security server), with the body's code as the X-Road
// service's member code; the rest of the service identifier is
// cfg.Identity.Services[routing.DestPreviousBody], else
// mapping.DefaultRegBodyService. cfg's DMSURL and EDDRURL are not used;
// its timeout, client identity, registration body and User-Agent are. hc
// is shared as in NewSenders; nil means NewHTTPClient(). A nil rules has
// an empty directory.
//
// A community missing from the directory — or an address that lies in the
// local community after all, under rules changed since the action was
// routed — is a permanent outbox.ClassNoRoute failure, reported before any
// call: the delivery ends dead, for operators to add the body to the
// directory and retry. Failed calls are classified as for the national
// systems (classify); the answer is synchronous: acknowledged (with the
// body's recordReference) or rejected.
func NewRegBodySender(cfg Config, rules *routing.Rules, hc *http.Client) outbox.Sender {
	if rules == nil {
		rules = &routing.Rules{}
	}
	return &regBodySender{base: newBase(cfg, hc, routing.DestPreviousBody, ""), rules: rules}
}

type regBodySender struct {
	base
	rules *routing.Rules
}

// notice is one message prepared for its body.
type notice struct {
	op       string
	endpoint string
	meta     mapping.Meta
	req      *regbody.NotifyRequest
	headers  xroad.Headers
}

// prepareNotice decodes m, finds the body of the address it leaves and maps
// the notice. Every error is a permanent DeliveryError: ClassMapping for a
// body that does not decode or map, ClassNoRoute for an address no body of
// the directory serves.
func (s *regBodySender) prepareNotice(m outbox.Message) (notice, error) {
	sub, meta, err := s.prepare(m)
	if err != nil {
		return notice{}, err
	}
	left := routing.AddressLeft(sub)
	if left == nil {
		return notice{}, s.mappingError(m, fmt.Errorf("%w (%s without previous_address)", mapping.ErrNoAddressLeft, sub.Kind))
	}
	body, err := s.route(left)
	if err != nil {
		return notice{}, outbox.Permanent(outbox.ClassNoRoute, fmt.Errorf("%s message %s: %w", s.dest, m.ID, err))
	}
	recipient := mapping.RegistrationBody{Code: body.Code, Name: body.Name}
	req, err := mapping.ToRegBody(sub, meta, recipient)
	if err != nil {
		return notice{}, s.mappingError(m, err)
	}
	return notice{
		op:       fmt.Sprintf("%s NotifyRegistrationBody (%s), message %s", s.dest, body.Code, m.ID),
		endpoint: body.Endpoint,
		meta:     meta,
		req:      req,
		headers:  mapping.RegBodyHeaders(s.identity, meta, sub.Official, recipient),
	}, nil
}

// route finds the registration body of the community an address lies in.
func (s *regBodySender) route(a *action.Address) (routing.Body, error) {
	if s.rules.LocalCommunity != "" && strings.HasPrefix(a.KATOTTG, s.rules.LocalCommunity) {
		return routing.Body{}, fmt.Errorf("the address left, %s, lies in the local community %s (routing rules %s): no other body to notify",
			a.KATOTTG, s.rules.LocalCommunity, s.version())
	}
	b, ok := s.rules.BodyFor(a.KATOTTG)
	if !ok {
		return routing.Body{}, fmt.Errorf("no registration body in the directory of routing rules %s serves community %s", s.version(), a.KATOTTG)
	}
	if b.Endpoint == "" {
		return routing.Body{}, fmt.Errorf("registration body %s (prefix %s) has no endpoint in routing rules %s", b.Code, b.KATOTTGPrefix, s.version())
	}
	return b, nil
}

func (s *regBodySender) version() string {
	if s.rules.Version == "" {
		return "(unversioned)"
	}
	return s.rules.Version
}

// Send delivers the notice to the body of the address the action leaves.
// acknowledged is an acknowledgement (recordReference), rejected a
// rejection; there is no receipt.
func (s *regBodySender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	n, err := s.prepareNotice(m)
	if err != nil {
		return outbox.Reply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	c := s.clientAt(n.endpoint, n.headers)
	res, err := regbody.NewRegistrationBodyPort(c).NotifyRegistrationBodyContext(ctx, n.req)
	if err != nil {
		return outbox.Reply{}, classify(ctx, n.op, err)
	}
	a := answer{op: n.op, idName: "noticeId", wantID: n.meta.MessageID, gotID: res.NoticeId, codeName: "result", code: (*string)(res.Result),
		applied: []string{string(regbody.ResultAcknowledged)}, refused: []string{string(regbody.ResultRejected)},
		reference: res.RecordReference, reasonCode: res.RejectionCode, reason: res.RejectionReason}
	reply, err := a.reply(outbox.StageSend, "")
	if err == nil && reply.Kind == outbox.ReplyAcknowledged && reply.Reference == "" {
		return outbox.Reply{}, malformed(n.op, "acknowledged without a recordReference")
	}
	return reply, err
}

// Poll is never needed: the notice service answers synchronously and gives
// no receipt. Should a message of this destination be polled all the same
// (a receipt recorded by hand), Poll makes no call and answers
// ReplyPending, so the relay waits for the acknowledgement deadline and
// then sends the message again — the body answers a resend from memory.
func (s *regBodySender) Poll(_ context.Context, m outbox.Message) (outbox.Reply, error) {
	return outbox.Reply{Kind: outbox.ReplyPending, Reference: m.Receipt}, nil
}

// Render returns the SOAP envelope Send posts for m, headers included; a
// message without a route gets Send's no_route error.
func (s *regBodySender) Render(m outbox.Message) ([]byte, error) {
	n, err := s.prepareNotice(m)
	if err != nil {
		return nil, err
	}
	return mapping.Envelope(n.headers, n.req)
}

// clientAt builds the soap.Client of one call to url, carrying that
// message's headers (see base.client).
func (s *regBodySender) clientAt(url string, h xroad.Headers) *soap.Client {
	c := soap.NewClient(url, append([]soap.Option{soap.WithHTTPClient(s.hc)}, s.opts...)...)
	c.SetHeaders(h.Elements()...)
	return c
}
