package soapclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/hooklift/gowsdl/soap"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/eddr"
)

// PurposeHeader is the HTTP header naming the purpose of a personal-data
// transfer on Trembita.
const PurposeHeader = "Uxp-Purpose-Ids"

var (
	_ access.Finder = (*DMSFinder)(nil)
	_ access.Finder = (*EDDRFinder)(nil)
)

// NewFinders returns an access.Finder for each upstream that has a URL in
// cfg, keyed by the catalogue's source names (dms, eddr). hc is shared as
// in NewSenders; nil means NewHTTPClient().
func NewFinders(cfg Config, hc *http.Client) map[access.Source]access.Finder {
	if hc == nil {
		hc = NewHTTPClient()
	}
	out := map[access.Source]access.Finder{}
	if cfg.DMSURL != "" {
		out[access.SourceDMS] = NewDMSFinder(cfg, hc)
	}
	if cfg.EDDRURL != "" {
		out[access.SourceEDDR] = NewEDDRFinder(cfg, hc)
	}
	return out
}

// DMSFinder answers granted queries from the migration service's
// ExtractPerson.
type DMSFinder struct{ base }

// NewDMSFinder returns the finder of the migration service at cfg.DMSURL,
// with cfg's timeout, bus identity and User-Agent; nil hc means
// NewHTTPClient().
func NewDMSFinder(cfg Config, hc *http.Client) *DMSFinder {
	return &DMSFinder{newBase(cfg, hc, action.DestMigrationService, cfg.DMSURL)}
}

// EDDRFinder answers granted queries from the national registry's
// LookupPerson.
type EDDRFinder struct{ base }

// NewEDDRFinder returns the finder of the national registry at
// cfg.EDDRURL; see NewDMSFinder.
func NewEDDRFinder(cfg Config, hc *http.Client) *EDDRFinder {
	return &EDDRFinder{newBase(cfg, hc, action.DestNationalRegistry, cfg.EDDRURL)}
}

// lookup is one lookup call's identity: its X-Road id and headers, and the
// soap.Client carrying them.
type lookup struct {
	op     string
	meta   mapping.LookupMeta
	client *soap.Client
}

// newLookup prepares one lookup: a fresh message id (a lookup changes
// nothing upstream, so a retry is a message of its own), the caller's
// official and case as userId and issue, the purpose as an HTTP header.
func (b *base) newLookup(c access.FindRequest, operation string) lookup {
	meta := mapping.LookupMeta{MessageID: uuid.Must(uuid.NewV7()).String(), Official: c.Official, Case: c.Case}
	h := map[string]string{"User-Agent": b.userAgent}
	if c.Purpose != "" {
		h[PurposeHeader] = c.Purpose
	}
	cl := soap.NewClient(b.url, soap.WithHTTPClient(b.hc), soap.WithHTTPHeaders(h))
	cl.SetHeaders(mapping.LookupHeaders(b.dest, b.identity, meta).Elements()...)
	return lookup{op: fmt.Sprintf("%s %s, message %s", b.dest, operation, meta.MessageID), meta: meta, client: cl}
}

// Find asks ExtractPerson for the persons matching search. See
// lookupError for how a failure is reported.
func (f *DMSFinder) Find(ctx context.Context, r access.FindRequest) ([]access.Found, error) {
	search := r.Search
	l := f.newLookup(r, "ExtractPerson")
	req, err := mapping.ToDMSExtract(search, l.meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	res, err := dms.NewOtgToDmsPort(l.client).ExtractPersonContext(ctx, req)
	if err != nil {
		return nil, lookupError(classify(ctx, l.op, err))
	}
	if res.RequestId != l.meta.MessageID {
		return nil, lookupError(malformed(l.op, "answer is for requestId %.64q, not %q", res.RequestId, l.meta.MessageID))
	}
	out := make([]access.Found, 0, len(res.Person))
	for i, p := range res.Person {
		if p == nil || p.Person == nil {
			return nil, lookupError(malformed(l.op, "person %d has no identity", i+1))
		}
		out = append(out, dmsFound(p))
	}
	return out, nil
}

// Find asks LookupPerson for the persons matching search. See lookupError
// for how a failure is reported.
func (f *EDDRFinder) Find(ctx context.Context, r access.FindRequest) ([]access.Found, error) {
	search := r.Search
	l := f.newLookup(r, "LookupPerson")
	req, err := mapping.ToEDDRLookup(search, l.meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	res, err := eddr.NewEddrResidencePort(l.client).LookupPersonContext(ctx, req)
	if err != nil {
		return nil, lookupError(classify(ctx, l.op, err))
	}
	if res.MessageId != l.meta.MessageID {
		return nil, lookupError(malformed(l.op, "answer is for messageId %.64q, not %q", res.MessageId, l.meta.MessageID))
	}
	out := make([]access.Found, 0, len(res.Person))
	for i, p := range res.Person {
		if p == nil || p.Identity == nil {
			return nil, lookupError(malformed(l.op, "person %d has no identity", i+1))
		}
		out = append(out, eddrFound(p))
	}
	return out, nil
}

// lookupError turns a classified failure (classify, malformed) into what
// access.Finder promises. What the relay would retry — transport errors,
// timeouts, HTTP 5xx, 408 and 429, SOAP Server faults, answers that do not
// decode — says the source is down for now: it wraps
// access.ErrSourceUnavailable, and the query waits. What it would not —
// SOAP Client faults and other 4xx: the request itself is wrong, and asking
// again will not help — is a plain error, and the query fails.
func lookupError(err error) error {
	if _, permanent := outbox.Classify(err); permanent {
		return err
	}
	return fmt.Errorf("%w: %w", access.ErrSourceUnavailable, err)
}

// dmsFound maps an extracted person to the catalogue's field names.
func dmsFound(p *dms.ExtractedPerson) access.Found {
	id := p.Person
	r := record{}
	r.text(access.FieldSurname, id.LastName)
	r.text(access.FieldGivenNames, id.FirstName)
	r.text(access.FieldPatronymic, id.MiddleName)
	r.text(access.FieldBirthDate, mapping.Day(id.BirthDate))
	r.text(access.FieldBirthPlace, id.BirthPlace)
	r.text(access.FieldSex, id.Gender)
	r.text(access.FieldCitizenship, id.Citizenship)
	r.text(access.FieldUNZR, id.Unzr)
	r.text(access.FieldRNOKPP, id.Rnokpp)
	if d := id.Document; d != nil {
		r.nested(access.FieldDocument, map[string]string{
			"type": d.Type_, "number": d.Number, "issued_on": mapping.Day(d.IssueDate), "issuer": d.Issuer, "expires_on": mapping.Day(d.ExpiryDate),
		})
	}
	if a := p.Address; a != nil {
		r.nested(access.FieldAddress, address(a.Katottg, a.Street, a.Building, a.Block, a.Apartment))
	}
	if a := p.PreviousAddress; a != nil {
		r.nested(access.FieldPreviousAddress, address(a.Katottg, a.Street, a.Building, a.Block, a.Apartment))
	}
	if k := p.RegistrationKind; k != nil {
		r.text(access.FieldRegistrationKind, registrationKinds[string(*k)])
	}
	r.text(access.FieldRegistrationDate, mapping.Day(p.RegistrationDate))
	r.text(access.FieldDeregistrationDate, mapping.Day(p.DeregistrationDate))
	return access.Found{Person: personKey(id.Unzr, id.Rnokpp, id.LastName, id.FirstName, mapping.Day(id.BirthDate)), Record: r}
}

// eddrFound maps a registry person to the catalogue's field names.
func eddrFound(p *eddr.RegistryPerson) access.Found {
	id := p.Identity
	r := record{}
	r.text(access.FieldSurname, id.Surname)
	r.text(access.FieldGivenNames, id.GivenNames)
	r.text(access.FieldPatronymic, id.Patronymic)
	r.text(access.FieldBirthDate, mapping.Day(id.DateOfBirth))
	r.text(access.FieldBirthPlace, id.PlaceOfBirth)
	r.text(access.FieldSex, id.Sex)
	r.text(access.FieldCitizenship, id.Citizenship)
	r.text(access.FieldUNZR, id.Unzr)
	r.text(access.FieldRNOKPP, id.TaxNumber)
	if id.DocumentType != "" || id.DocumentNumber != "" {
		r.nested(access.FieldDocument, map[string]string{
			"type": id.DocumentType, "number": id.DocumentNumber, "issued_on": mapping.Day(id.DocumentIssued), "issuer": id.DocumentIssuer,
		})
	}
	if a := p.Address; a != nil {
		r.nested(access.FieldAddress, address(a.Katottg, a.Street, a.House, a.Block, a.Flat))
	}
	if a := p.PreviousAddress; a != nil {
		r.nested(access.FieldPreviousAddress, address(a.Katottg, a.Street, a.House, a.Block, a.Flat))
	}
	if k := p.ResidenceKind; k != nil {
		r.text(access.FieldRegistrationKind, residenceKinds[string(*k)])
	}
	r.text(access.FieldRegistrationDate, mapping.Day(p.RegisteredOn))
	r.text(access.FieldDeregistrationDate, mapping.Day(p.DeregisteredOn))
	return access.Found{Person: personKey(id.Unzr, id.TaxNumber, id.Surname, id.GivenNames, mapping.Day(id.DateOfBirth)), Record: r}
}

// registrationKinds and residenceKinds name how a person came to the
// address as the local source does (access.RecordOf).
var (
	registrationKinds = map[string]string{
		string(dms.RegistrationKindDECLARED_RESIDENCE):   "declared_residence",
		string(dms.RegistrationKindREGISTERED_RESIDENCE): "registered_residence",
	}
	residenceKinds = map[string]string{
		string(eddr.ResidenceKindDECLARED):   "declared_residence",
		string(eddr.ResidenceKindREGISTERED): "registered_residence",
	}
)

// personKey is the person's key as action.Submission.PersonKey writes it,
// so that the service merges one person's records from every source.
func personKey(unzr, rnokpp, surname, givenNames, birthDate string) string {
	s := action.Submission{Person: action.Person{UNZR: unzr, RNOKPP: rnokpp, Surname: surname, GivenNames: givenNames, BirthDate: birthDate}}
	return s.PersonKey()
}

// record is a Found record under construction: absent values are left out.
type record map[string]any

func (r record) text(field, v string) {
	if v != "" {
		r[field] = v
	}
}

// nested puts a map of the non-empty values, if there is any.
func (r record) nested(field string, kv map[string]string) {
	m := map[string]any{}
	for k, v := range kv {
		if v != "" {
			m[k] = v
		}
	}
	if len(m) > 0 {
		r[field] = m
	}
}

// address is an address's values under the local source's keys.
func address(katottg, street, building, block, apartment string) map[string]string {
	return map[string]string{"katottg": katottg, "street": street, "building": building, "block": block, "apartment": apartment}
}
