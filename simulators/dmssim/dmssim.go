// Package dmssim simulates the migration service's OtgToDms SOAP service
// (schemas/dms/dms.wsdl) for tests and the demo: a real HTTP server over
// the generated types of schemas/dms and the engine of simulators/upstream.
//
// OtgToDms answers REGISTERED with a recordId in sync mode, ACCEPTED with a
// receiptId in async mode, or REJECTED with a reasonCode. OtgToDmsStatus
// answers PENDING until the receipt is ready, then REGISTERED (with the
// recordId) or REJECTED. The body's requestId must equal the X-Road id
// header (else a Client fault). In a status request, requestId, if given,
// must be the id of the message the receipt was issued for; the status
// call's own X-Road id is free. Status queries are not deduplicated.
//
// ExtractPerson (extract.go) answers an authority's query routed by the hub
// with the persons whose latest applied identity matches the search, each
// with the residence the applied messages left.
package dmssim

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/upstream"
)

// Namespace and SOAPActions of the service (dms.wsdl).
const (
	Namespace            = "urn:reghub:dms:otg:v1"
	ActionOtgToDms       = Namespace + "/OtgToDms"
	ActionOtgToDmsStatus = Namespace + "/OtgToDmsStatus"
	ActionExtractPerson  = Namespace + "/ExtractPerson"
)

// Server is a simulated DMS.
type Server struct {
	engine  *upstream.Engine
	handler http.Handler
}

// New returns a simulated DMS with the given knobs; record ids read
// "DMS-00000001", receipts "DMS-R-00000001". It panics on an invalid
// config (see upstream.Config.Validate). A nil logger discards.
func New(cfg upstream.Config, logger *slog.Logger) *Server {
	s := &Server{engine: upstream.NewEngine("DMS", cfg, logger)}
	s.handler = upstream.NewHandler(s.engine, upstream.Service{
		Name:  "dms",
		Paths: []string{"/dms"},
		Operations: []upstream.Operation{{
			Name:    "OtgToDms",
			Action:  ActionOtgToDms,
			Element: xml.Name{Space: Namespace, Local: "OtgToDmsRequest"},
			New:     func() any { return new(dms.OtgToDmsRequest) },
			Serve:   s.submit,
		}, {
			Name:    "OtgToDmsStatus",
			Action:  ActionOtgToDmsStatus,
			Element: xml.Name{Space: Namespace, Local: "OtgToDmsStatusRequest"},
			New:     func() any { return new(dms.OtgToDmsStatusRequest) },
			Serve:   s.status,
		}, {
			Name:    "ExtractPerson",
			Action:  ActionExtractPerson,
			Element: xml.Name{Space: Namespace, Local: "ExtractPersonRequest"},
			New:     func() any { return new(dms.ExtractPersonRequest) },
			Serve:   s.extract,
		}},
	}, logger)
	return s
}

// Handler serves SOAP on /soap, / and /dms, and the control endpoints of
// upstream.NewHandler.
func (s *Server) Handler() http.Handler { return s.handler }

// Engine is the simulator's state; tests should prefer the HTTP surface.
func (s *Server) Engine() *upstream.Engine { return s.engine }

func (s *Server) submit(_ context.Context, call *upstream.Call) ([]byte, error) {
	req := call.Request.(*dms.OtgToDmsRequest)
	if req.RequestId != "" && req.RequestId != call.Headers.ID {
		return nil, upstream.ClientFault("requestId %q differs from the X-Road id %q", req.RequestId, call.Headers.ID)
	}
	reply, err := s.engine.Submit(message(call.Headers, req), func(a upstream.Ack) ([]byte, error) {
		return call.Respond(response(a))
	})
	if err != nil {
		return nil, err
	}
	return reply.Body, nil
}

func (s *Server) status(_ context.Context, call *upstream.Call) ([]byte, error) {
	req := call.Request.(*dms.OtgToDmsStatusRequest)
	if req.ReceiptId == "" {
		return nil, upstream.ClientFault("missing receiptId")
	}
	a, err := s.engine.Status(req.ReceiptId, req.RequestId)
	if errors.Is(err, upstream.ErrUnknownReceipt) || errors.Is(err, upstream.ErrReceiptMismatch) {
		return nil, upstream.ClientFault("%v", err)
	}
	if err != nil {
		return nil, err
	}
	result := resultOf(a.Status)
	return call.Respond(&dms.OtgToDmsStatusResponse{
		RequestId: a.MessageID, Result: &result, RecordId: a.RecordID,
		ReasonCode: a.ReasonCode, ReasonText: a.ReasonText,
	})
}

func response(a upstream.Ack) *dms.OtgToDmsResponse {
	result := resultOf(a.Status)
	return &dms.OtgToDmsResponse{
		RequestId: a.MessageID, Result: &result, RecordId: a.RecordID, ReceiptId: a.ReceiptID,
		ReasonCode: a.ReasonCode, ReasonText: a.ReasonText,
	}
}

func resultOf(s upstream.AckStatus) dms.ResultCode {
	switch s {
	case upstream.AckApplied:
		return dms.ResultCodeREGISTERED
	case upstream.AckAccepted:
		return dms.ResultCodeACCEPTED
	case upstream.AckPending:
		return dms.ResultCodePENDING
	default:
		return dms.ResultCodeREJECTED
	}
}

var kinds = map[dms.ActionCode]struct{ kind, cancelOf upstream.Kind }{
	dms.ActionCodeDECLARE:                     {upstream.KindDeclare, ""},
	dms.ActionCodeREGISTER:                    {upstream.KindRegister, ""},
	dms.ActionCodeDEREGISTER:                  {upstream.KindDeregister, ""},
	dms.ActionCodeCANCEL_DECLARATION:          {upstream.KindCancel, upstream.KindDeclare},
	dms.ActionCodeCANCEL_REGISTRATION:         {upstream.KindCancel, upstream.KindRegister},
	dms.ActionCodeCANCEL_DEREGISTRATION:       {upstream.KindCancel, upstream.KindDeregister},
	dms.ActionCodeEXCLUDE_DECLARATION:         {upstream.KindExclude, ""},
	dms.ActionCodeREGISTER_STAY:               {upstream.KindStayRegister, ""},
	dms.ActionCodeCHANGE_RESIDENCE:            {upstream.KindChange, ""},
	dms.ActionCodeCORRECT_PERSON:              {upstream.KindCorrect, ""},
	dms.ActionCodeDEREGISTER_DEATH:            {upstream.KindDeregisterDeath, ""},
	dms.ActionCodeADDRESS_CHANGE:              {upstream.KindAddressChange, ""},
	dms.ActionCodeCANCEL_STAY_REGISTRATION:    {upstream.KindCancel, upstream.KindStayRegister},
	dms.ActionCodeCANCEL_CHANGE:               {upstream.KindCancel, upstream.KindChange},
	dms.ActionCodeCANCEL_DEATH_DEREGISTRATION: {upstream.KindCancel, upstream.KindDeregisterDeath},
}

// message maps a request onto the engine, listing the required fields
// (dms.wsdl) that are absent or invalid.
func message(h xroad.Headers, req *dms.OtgToDmsRequest) upstream.Message {
	m := upstream.Message{
		ID: h.ID, Client: h.Client.String(), Service: h.Service.String(), UserID: h.UserID, Issue: h.Issue,
		Reference: req.ActionReference,
	}
	need := func(ok bool, field string) {
		if !ok {
			m.Missing = append(m.Missing, field)
		}
	}
	need(req.RequestId != "", "requestId")
	need(req.StatusTime.ToGoTime().Year() > 1, "statusTime")
	if req.StatusCode != nil {
		m.Action = string(*req.StatusCode)
	}
	k, ok := kinds[dms.ActionCode(m.Action)]
	m.Kind, m.CancelOf = k.kind, k.cancelOf
	need(ok, "statusCode")
	need(req.ActionReference != "", "actionReference")
	need(req.RegistrationBody != nil && req.RegistrationBody.Code != "", "registrationBody.code")
	if m.Kind == upstream.KindAddressChange {
		// No person: the message is keyed by its address.
		if c := req.AddressChange; c != nil && c.Katottg != "" {
			m.PersonKey = "address:" + c.Katottg
		}
	} else if p := req.Person; p != nil {
		m.PersonKey = p.Unzr
		if m.PersonKey == "" {
			m.PersonKey = p.Rnokpp
		}
		need(p.LastName != "", "person.lastName")
		need(p.FirstName != "", "person.firstName")
		need(p.BirthDate.ToGoTime().Year() > 1, "person.birthDate")
		need(p.Gender != "", "person.gender")
		m.Person = personData(p)
	} else {
		need(false, "person")
	}
	m.Address, m.PreviousAddress = address(req.Address), address(req.PreviousAddress)
	m.EffectiveDate = mapping.Day(req.EffectiveDate)
	if req.RegistrationBody != nil {
		m.RegistrationBody = req.RegistrationBody.Code
	}
	if req.Address != nil {
		m.Katottg = req.Address.Katottg
		need(m.Katottg != "", "address.katottg")
	} else if upstream.NeedsAddress(m.Kind) {
		need(false, "address")
	}
	if m.Kind == upstream.KindChange {
		need(req.PreviousAddress != nil && req.PreviousAddress.Katottg != "", "previousAddress.katottg")
	}
	need(req.EffectiveDate.ToGoTime().Year() > 1, "effectiveDate")
	need(req.Official != nil && req.Official.Id != "", "official.id")
	need(req.Official != nil && req.Official.Name != "", "official.name")
	if c := req.Cancelled; c != nil {
		_, ok := kinds[dms.ActionCode(deref(c.ActionCode))]
		need(ok, "cancelled.actionCode")
		need(c.Reason != "", "cancelled.reason")
	}
	if upstream.NeedsBasis(m.Kind) {
		need(req.BasisDocument != nil && req.BasisDocument.Type_ != "", "basisDocument.type")
	}
	switch m.Kind {
	case upstream.KindDeregisterDeath:
		d := req.Death
		need(d != nil && d.DeathDate.ToGoTime().Year() > 1, "death.deathDate")
		c := (*dms.DeathCertificate)(nil)
		if d != nil {
			c = d.Certificate
			m.DeathDate = mapping.Day(d.DeathDate)
		}
		need(c != nil && c.Type_ != nil, "death.certificate.type")
		need(c != nil && c.Number != "", "death.certificate.number")
		need(c != nil && c.IssueDate.ToGoTime().Year() > 1, "death.certificate.issueDate")
		need(c != nil && c.Issuer != "", "death.certificate.issuer")
	case upstream.KindCorrect:
		c := req.Correction
		need(c != nil && len(c.Field) > 0, "correction.field")
		need(c != nil && c.Previous != nil, "correction.previous")
	case upstream.KindAddressChange:
		c := req.AddressChange
		need(c != nil && c.Type_ != nil, "addressChange.type")
		need(c != nil && c.Katottg != "", "addressChange.katottg")
		need(c != nil && c.Previous != nil, "addressChange.previous")
		need(c != nil && c.New != nil, "addressChange.new")
		if c != nil && c.Type_ != nil && c.Previous != nil && c.New != nil {
			m.Katottg = c.Katottg
			m.AddressChange = &upstream.AddressChange{
				Type: addressChangeTypes[*c.Type_], Katottg: c.Katottg,
				Previous: addressNames(c.Previous), New: addressNames(c.New),
			}
		}
	}
	return m
}

var addressChangeTypes = map[dms.AddressChangeType]string{
	dms.AddressChangeTypeRENUMBERING:        upstream.AddressRenumbering,
	dms.AddressChangeTypeSTREET_RENAMED:     upstream.AddressStreetRenamed,
	dms.AddressChangeTypeSETTLEMENT_RENAMED: upstream.AddressSettlementRenamed,
	dms.AddressChangeTypeUNIT_RENAMED:       upstream.AddressUnitRenamed,
}

func addressNames(a *dms.AddressNames) upstream.AddressNames {
	return upstream.AddressNames{Unit: a.Unit, Settlement: a.Settlement, Street: a.Street, Building: a.Building, Block: a.Block}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
