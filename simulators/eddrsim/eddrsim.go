// Package eddrsim simulates the national demographic registry's residence
// service (schemas/eddr/eddr.wsdl) for tests and the demo: a real HTTP
// server over the generated types of schemas/eddr and the engine of
// simulators/upstream.
//
// SubmitResidenceChange answers RECORDED with an entryNumber in sync mode,
// QUEUED with a ticket in async mode, or REFUSED with a refusalCode.
// GetChangeStatus answers IN_PROGRESS until the ticket is ready, then
// RECORDED (with the entryNumber) or REFUSED. The body's messageId must
// equal the X-Road id header (else a Client fault). In a status request,
// messageId, if given, must be the id of the message the ticket was issued
// for; the status call's own X-Road id is free. Status queries are not
// deduplicated.
//
// LookupPerson (lookup.go) answers an authority's query routed by the hub
// with the persons whose latest recorded identity matches the search, each
// with the residence the recorded changes left.
package eddrsim

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"

	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/schemas/xroad"
	"github.com/reghub/reghub/simulators/upstream"
)

// Namespace and SOAPActions of the service (eddr.wsdl).
const (
	Namespace                   = "urn:reghub:eddr:residence:v1"
	ActionSubmitResidenceChange = Namespace + "/SubmitResidenceChange"
	ActionGetChangeStatus       = Namespace + "/GetChangeStatus"
	ActionLookupPerson          = Namespace + "/LookupPerson"
)

// Server is a simulated EDDR.
type Server struct {
	engine  *upstream.Engine
	handler http.Handler
}

// New returns a simulated EDDR with the given knobs; entry numbers read
// "EDDR-00000001", tickets "EDDR-R-00000001". It panics on an invalid
// config (see upstream.Config.Validate). A nil logger discards.
func New(cfg upstream.Config, logger *slog.Logger) *Server {
	s := &Server{engine: upstream.NewEngine("EDDR", cfg, logger)}
	s.handler = upstream.NewHandler(s.engine, upstream.Service{
		Name:  "eddr",
		Paths: []string{"/eddr"},
		Operations: []upstream.Operation{{
			Name:    "SubmitResidenceChange",
			Action:  ActionSubmitResidenceChange,
			Element: xml.Name{Space: Namespace, Local: "SubmitResidenceChange"},
			New:     func() any { return new(eddr.SubmitResidenceChange) },
			Serve:   s.submit,
		}, {
			Name:    "GetChangeStatus",
			Action:  ActionGetChangeStatus,
			Element: xml.Name{Space: Namespace, Local: "GetChangeStatus"},
			New:     func() any { return new(eddr.GetChangeStatus) },
			Serve:   s.status,
		}, {
			Name:    "LookupPerson",
			Action:  ActionLookupPerson,
			Element: xml.Name{Space: Namespace, Local: "LookupPerson"},
			New:     func() any { return new(eddr.LookupPerson) },
			Serve:   s.lookup,
		}},
	}, logger)
	return s
}

// Handler serves SOAP on /soap, / and /eddr, and the control endpoints of
// upstream.NewHandler.
func (s *Server) Handler() http.Handler { return s.handler }

// Engine is the simulator's state; tests should prefer the HTTP surface.
func (s *Server) Engine() *upstream.Engine { return s.engine }

func (s *Server) submit(_ context.Context, call *upstream.Call) ([]byte, error) {
	req := call.Request.(*eddr.SubmitResidenceChange)
	if req.MessageId != "" && req.MessageId != call.Headers.ID {
		return nil, upstream.ClientFault("messageId %q differs from the X-Road id %q", req.MessageId, call.Headers.ID)
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
	req := call.Request.(*eddr.GetChangeStatus)
	if req.Ticket == "" {
		return nil, upstream.ClientFault("missing ticket")
	}
	a, err := s.engine.Status(req.Ticket, req.MessageId)
	if errors.Is(err, upstream.ErrUnknownReceipt) || errors.Is(err, upstream.ErrReceiptMismatch) {
		return nil, upstream.ClientFault("%v", err)
	}
	if err != nil {
		return nil, err
	}
	outcome := outcomeOf(a.Status)
	return call.Respond(&eddr.GetChangeStatusResponse{
		MessageId: a.MessageID, Outcome: &outcome, EntryNumber: a.RecordID,
		RefusalCode: a.ReasonCode, RefusalReason: a.ReasonText,
	})
}

func response(a upstream.Ack) *eddr.SubmitResidenceChangeResponse {
	outcome := outcomeOf(a.Status)
	return &eddr.SubmitResidenceChangeResponse{
		MessageId: a.MessageID, Outcome: &outcome, EntryNumber: a.RecordID, Ticket: a.ReceiptID,
		RefusalCode: a.ReasonCode, RefusalReason: a.ReasonText,
	}
}

func outcomeOf(s upstream.AckStatus) eddr.Outcome {
	switch s {
	case upstream.AckApplied:
		return eddr.OutcomeRECORDED
	case upstream.AckAccepted:
		return eddr.OutcomeQUEUED
	case upstream.AckPending:
		return eddr.OutcomeIN_PROGRESS
	default:
		return eddr.OutcomeREFUSED
	}
}

var kinds = map[eddr.ChangeType]upstream.Kind{
	eddr.ChangeTypeRESIDENCE_DECLARED:           upstream.KindDeclare,
	eddr.ChangeTypeRESIDENCE_REGISTERED:         upstream.KindRegister,
	eddr.ChangeTypeRESIDENCE_DEREGISTERED:       upstream.KindDeregister,
	eddr.ChangeTypeRESIDENCE_CANCELLED:          upstream.KindCancel,
	eddr.ChangeTypeRESIDENCE_EXCLUDED:           upstream.KindExclude,
	eddr.ChangeTypeSTAY_REGISTERED:              upstream.KindStayRegister,
	eddr.ChangeTypeRESIDENCE_CHANGED:            upstream.KindChange,
	eddr.ChangeTypeIDENTITY_CORRECTED:           upstream.KindCorrect,
	eddr.ChangeTypeRESIDENCE_DEREGISTERED_DEATH: upstream.KindDeregisterDeath,
	eddr.ChangeTypeADDRESS_CHANGED:              upstream.KindAddressChange,
}

// message maps a request onto the engine, listing the required fields
// (eddr.wsdl) that are absent or invalid.
func message(h xroad.Headers, req *eddr.SubmitResidenceChange) upstream.Message {
	m := upstream.Message{
		ID: h.ID, Client: h.Client.String(), Service: h.Service.String(), UserID: h.UserID, Issue: h.Issue,
		Reference: req.SourceReference,
	}
	need := func(ok bool, field string) {
		if !ok {
			m.Missing = append(m.Missing, field)
		}
	}
	need(req.MessageId != "", "messageId")
	if req.ChangeType != nil {
		m.Action = string(*req.ChangeType)
	}
	k, ok := kinds[eddr.ChangeType(m.Action)]
	m.Kind = k
	need(ok, "changeType")
	if c := req.CancelledChangeType; c != nil {
		ck, ok := kinds[*c]
		m.CancelOf = ck
		need(ok && upstream.Cancellable(ck), "cancelledChangeType")
	}
	need(req.SourceReference != "", "sourceReference")
	need(req.RegistrationBodyCode != "", "registrationBodyCode")
	need(req.OfficialId != "", "officialId")
	if m.Kind == upstream.KindAddressChange {
		// No person: the message is keyed by its address.
		if c := req.AddressChange; c != nil && c.Katottg != "" {
			m.PersonKey = "address:" + c.Katottg
		}
	} else if p := req.Person; p != nil {
		m.PersonKey = p.Unzr
		if m.PersonKey == "" {
			m.PersonKey = p.TaxNumber
		}
		need(p.Surname != "", "person.surname")
		need(p.GivenNames != "", "person.givenNames")
		need(p.DateOfBirth.ToGoTime().Year() > 1, "person.dateOfBirth")
		need(p.Sex != "", "person.sex")
		m.Person = personData(p)
	} else {
		need(false, "person")
	}
	m.Address, m.PreviousAddress = address(req.Address), address(req.PreviousAddress)
	m.EffectiveDate = mapping.Day(req.EffectiveDate)
	m.RegistrationBody = req.RegistrationBodyCode
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
	if upstream.NeedsBasis(m.Kind) {
		need(req.BasisDocument != nil && req.BasisDocument.DocumentType != "", "basisDocument.documentType")
	}
	switch m.Kind {
	case upstream.KindDeregisterDeath:
		d := req.Death
		need(d != nil && d.DateOfDeath.ToGoTime().Year() > 1, "death.dateOfDeath")
		need(d != nil && d.CertificateType != nil, "death.certificateType")
		need(d != nil && d.CertificateNumber != "", "death.certificateNumber")
		need(d != nil && d.CertificateIssued.ToGoTime().Year() > 1, "death.certificateIssued")
		need(d != nil && d.CertificateIssuer != "", "death.certificateIssuer")
		if d != nil {
			m.DeathDate = mapping.Day(d.DateOfDeath)
		}
	case upstream.KindCorrect:
		c := req.Correction
		need(c != nil && len(c.CorrectedField) > 0, "correction.correctedField")
		need(c != nil && c.Previous != nil, "correction.previous")
	case upstream.KindAddressChange:
		c := req.AddressChange
		need(c != nil && c.ChangeKind != nil, "addressChange.changeKind")
		need(c != nil && c.Katottg != "", "addressChange.katottg")
		need(c != nil && c.Previous != nil, "addressChange.previous")
		need(c != nil && c.New != nil, "addressChange.new")
		if c != nil && c.ChangeKind != nil && c.Previous != nil && c.New != nil {
			m.Katottg = c.Katottg
			m.AddressChange = &upstream.AddressChange{
				Type: directoryChanges[*c.ChangeKind], Katottg: c.Katottg,
				Previous: addressParts(c.Previous), New: addressParts(c.New),
			}
		}
	}
	return m
}

var directoryChanges = map[eddr.DirectoryChangeType]string{
	eddr.DirectoryChangeTypeRENUMBERING:        upstream.AddressRenumbering,
	eddr.DirectoryChangeTypeSTREET_RENAMED:     upstream.AddressStreetRenamed,
	eddr.DirectoryChangeTypeSETTLEMENT_RENAMED: upstream.AddressSettlementRenamed,
	eddr.DirectoryChangeTypeUNIT_RENAMED:       upstream.AddressUnitRenamed,
}

func addressParts(a *eddr.AddressParts) upstream.AddressNames {
	return upstream.AddressNames{Unit: a.Unit, Settlement: a.Settlement, Street: a.Street, Building: a.House, Block: a.Block}
}
