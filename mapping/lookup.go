package mapping

import (
	"errors"
	"fmt"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/schemas/xroad"
)

// LookupMeta is what a lookup message carries besides the search: an
// authority's granted query, routed to an upstream (DMS ExtractPerson, EDDR
// LookupPerson).
type LookupMeta struct {
	// MessageID is the lookup's own X-Road id, and the DMS requestId or
	// EDDR messageId. A lookup changes nothing upstream: every call, a
	// retry included, is a message of its own.
	MessageID string
	// Official is who asks at the requester: the X-Road userId.
	Official string
	// Case is the requester's case reference: the X-Road issue.
	Case string
}

// ErrUnsupportedSearch is returned (wrapped) for a search an upstream's
// lookup cannot run: by address, which neither upstream offers, or not
// exactly one parameter set.
var ErrUnsupportedSearch = errors.New("search not supported by this lookup")

// lookupServiceCodes names each destination's lookup operation.
var lookupServiceCodes = map[action.Destination]string{
	action.DestMigrationService: "ExtractPerson",
	action.DestNationalRegistry: "LookupPerson",
}

// LookupHeaders returns the X-Road headers of a lookup sent to dest: the hub
// as client, dest's lookup operation (the member, subsystem and version of
// its send service), id = m.MessageID, userId = the official who asks, issue
// = the requester's case, protocol version 4.0.
func LookupHeaders(dest action.Destination, id Identity, m LookupMeta) xroad.Headers {
	svc := id.Services[dest]
	if code, ok := lookupServiceCodes[dest]; ok {
		svc.ServiceCode = code
	}
	return xroad.Headers{
		Client:          id.Client,
		Service:         svc,
		ID:              m.MessageID,
		UserID:          m.Official,
		Issue:           m.Case,
		ProtocolVersion: xroad.ProtocolVersion,
	}
}

// lookupSearch refuses a search a lookup cannot run: not exactly one
// parameter set, or by address.
func lookupSearch(dest string, s access.Search) error {
	sets := s.Sets()
	switch {
	case len(sets) != 1:
		return fmt.Errorf("map to %s: %w: want exactly one parameter set, got %d", dest, ErrUnsupportedSearch, len(sets))
	case sets[0] == access.ParamAddress:
		return fmt.Errorf("map to %s: %w: by %s", dest, ErrUnsupportedSearch, sets[0])
	}
	return nil
}

// ToDMSExtract maps a query's search to the migration service's
// ExtractPerson request.
func ToDMSExtract(s access.Search, m LookupMeta) (*dms.ExtractPersonRequest, error) {
	if err := lookupSearch("dms extract", s); err != nil {
		return nil, err
	}
	var f fields
	req := &dms.ExtractPersonRequest{
		RequestId: f.need("message id", m.MessageID),
		Unzr:      s.UNZR,
		Rnokpp:    s.RNOKPP,
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:dms:otg:v1", "ExtractPersonRequest"
	if n := s.NameBirthDate; n != nil {
		req.LastName = f.need("search.name_birth_date.surname", n.Surname)
		req.FirstName = f.need("search.name_birth_date.given_names", n.GivenNames)
		req.MiddleName = n.Patronymic
		req.BirthDate = f.date("search.name_birth_date.birth_date", n.BirthDate, true)
	}
	if err := f.err("dms extract"); err != nil {
		return nil, err
	}
	return req, nil
}

// ToEDDRLookup maps a query's search to the national registry's
// LookupPerson request.
func ToEDDRLookup(s access.Search, m LookupMeta) (*eddr.LookupPerson, error) {
	if err := lookupSearch("eddr lookup", s); err != nil {
		return nil, err
	}
	var f fields
	req := &eddr.LookupPerson{
		MessageId: f.need("message id", m.MessageID),
		Unzr:      s.UNZR,
		TaxNumber: s.RNOKPP,
	}
	req.XMLName.Space, req.XMLName.Local = "urn:reghub:eddr:residence:v1", "LookupPerson"
	if n := s.NameBirthDate; n != nil {
		req.Surname = f.need("search.name_birth_date.surname", n.Surname)
		req.GivenNames = f.need("search.name_birth_date.given_names", n.GivenNames)
		req.Patronymic = n.Patronymic
		req.DateOfBirth = f.date("search.name_birth_date.birth_date", n.BirthDate, true)
	}
	if err := f.err("eddr lookup"); err != nil {
		return nil, err
	}
	return req, nil
}
