package action

import (
	"fmt"
	"slices"
	"strings"
)

// The kind-specific checks beyond which blocks a kind takes: how the fields
// of a kind's blocks relate to each other and to the rest of the submission.
// They run after every present block's own fields were checked, so a field
// that already failed is not reported twice (checker.add keeps the first).

// all runs checks in order.
func all(checks ...func(*Submission, *checker)) func(*Submission, *checker) {
	return func(s *Submission, c *checker) {
		for _, f := range checks {
			f(s, c)
		}
	}
}

// checkCancelReason: the reason must be one of the grounds the cancelled
// kind allows. An unknown or missing kind in cancellation.of is reported
// there, not here.
func checkCancelReason(s *Submission, c *checker) {
	x := s.Cancellation
	if x == nil || strings.TrimSpace(x.Reason) == "" {
		return
	}
	of, ok := Spec(x.Of)
	if !ok || !of.Cancellable() {
		return
	}
	if !slices.Contains(of.CancelReasons, x.Reason) {
		c.add("cancellation.reason", CodeUnknownValue,
			fmt.Sprintf("a cancellation of %s must be one of %s", x.Of, strings.Join(of.CancelReasons, ", ")))
	}
}

// checkChange: a change of residence goes somewhere else.
func checkChange(s *Submission, c *checker) {
	if s.Address != nil && s.PreviousAddress != nil && *s.Address == *s.PreviousAddress {
		c.add("address", CodeUnchanged, "same as previous_address")
	}
}

// personField reads one correctable field of a person and of its previous
// values; a document compares as a whole.
type personField struct {
	current  func(*Person) string
	previous func(*PreviousPerson) string
}

var correctable = map[string]personField{
	"surname":     {func(p *Person) string { return p.Surname }, func(p *PreviousPerson) string { return p.Surname }},
	"given_names": {func(p *Person) string { return p.GivenNames }, func(p *PreviousPerson) string { return p.GivenNames }},
	"patronymic":  {func(p *Person) string { return p.Patronymic }, func(p *PreviousPerson) string { return p.Patronymic }},
	"birth_date":  {func(p *Person) string { return p.BirthDate }, func(p *PreviousPerson) string { return p.BirthDate }},
	"birth_place": {func(p *Person) string { return p.BirthPlace }, func(p *PreviousPerson) string { return p.BirthPlace }},
	"sex":         {func(p *Person) string { return p.Sex }, func(p *PreviousPerson) string { return p.Sex }},
	"citizenship": {func(p *Person) string { return p.Citizenship }, func(p *PreviousPerson) string { return p.Citizenship }},
	"document":    {func(p *Person) string { return docString(p.Document) }, func(p *PreviousPerson) string { return docString(p.Document) }},
}

func docString(d *Document) string {
	if d == nil {
		return ""
	}
	return strings.Join([]string{d.Type, d.Number, d.IssuedOn, d.Issuer, d.Expires}, "\x00")
}

// checkCorrection: correction.fields names at least one correctable field,
// each once; correction.previous holds a value for exactly those fields,
// each different from the corrected one in person. A patronymic or birth
// place may be corrected to or from nothing, so only they may be empty on
// one side; a corrected document needs the new one in person.document.
func checkCorrection(s *Submission, c *checker) {
	x := s.Correction
	if x == nil {
		return
	}
	named := map[string]bool{}
	if len(x.Fields) == 0 {
		c.add("correction.fields", CodeRequired, "name at least one corrected field")
	}
	for i, f := range x.Fields {
		path := fmt.Sprintf("correction.fields[%d]", i)
		switch {
		case strings.TrimSpace(f) == "":
			c.add(path, CodeRequired, "must not be empty")
		case !slices.Contains(CorrectableFields, f):
			c.add(path, CodeUnknownValue, "must be one of "+strings.Join(CorrectableFields, ", "))
		case named[f]:
			c.add(path, CodeDuplicate, "listed more than once")
		default:
			named[f] = true
		}
	}
	if x.Previous == nil {
		c.add("correction.previous", CodeRequired, "the values the correction replaces are required")
		return
	}
	for _, name := range CorrectableFields {
		pf := correctable[name]
		path := "correction.previous." + name
		prev, cur := pf.previous(x.Previous), pf.current(&s.Person)
		if !named[name] {
			if prev != "" {
				c.add(path, CodeNotAllowed, "not among correction.fields")
			}
			continue
		}
		optional := name == "patronymic" || name == "birth_place"
		switch {
		case name == "document" && s.Person.Document == nil:
			c.add("person.document", CodeRequired, "the corrected document is required when document is corrected")
		case prev == "" && !optional:
			c.add(path, CodeRequired, "the previous value of a corrected field is required")
		case prev == "" && cur == "":
			c.add(path, CodeRequired, "the field is empty before and after the correction")
		case prev == cur:
			c.add(path, CodeUnchanged, "same as the corrected value in person")
		}
	}
}

// checkDeath: the person is deregistered on or after the death.
func checkDeath(s *Submission, c *checker) {
	d, ok := c.dates["death.date"]
	if !ok {
		return
	}
	if e, ok := c.dates["effective_date"]; ok && d > e {
		c.add("death.date", CodeOutOfRange, "after effective_date")
	}
}

// addressParts says, for each type of directory change, which parts of the
// previous and new values it needs; any other part is not allowed.
var addressParts = map[string]struct{ previous, new, optional []string }{
	AddressRenumbering:       {previous: []string{"street", "building"}, new: []string{"building"}, optional: []string{"block"}},
	AddressStreetRenamed:     {previous: []string{"street"}, new: []string{"street"}},
	AddressSettlementRenamed: {previous: []string{"settlement"}, new: []string{"settlement"}},
	AddressUnitRenamed:       {previous: []string{"unit"}, new: []string{"unit"}},
}

func addressNamePart(a *AddressNames, part string) string {
	switch part {
	case "unit":
		return a.Unit
	case "settlement":
		return a.Settlement
	case "street":
		return a.Street
	case "building":
		return a.Building
	case "block":
		return a.Block
	}
	panic("action: unknown address part " + part)
}

var addressNameParts = []string{"unit", "settlement", "street", "building", "block"}

// checkAddressChange: the previous and new values carry the parts the
// change's type needs and no others, and differ; the decision it rests on
// (basis_document) has a number and a date.
func checkAddressChange(s *Submission, c *checker) {
	if b := s.BasisDocument; b != nil {
		if strings.TrimSpace(b.Number) == "" {
			c.add("basis_document.number", CodeRequired, "the decision's number is required for "+string(s.Kind))
		}
		if strings.TrimSpace(b.Date) == "" {
			c.add("basis_document.date", CodeRequired, "the decision's date is required for "+string(s.Kind))
		}
	}
	x := s.AddressChange
	if x == nil {
		return
	}
	parts, known := addressParts[x.Type]
	for _, side := range []struct {
		name   string
		names  *AddressNames
		needed []string
	}{{"previous", x.Previous, parts.previous}, {"new", x.New, parts.new}} {
		path := "address_change." + side.name
		if side.names == nil {
			c.add(path, CodeRequired, "required for "+string(s.Kind))
			continue
		}
		if !known {
			continue // address_change.type is reported
		}
		for _, part := range addressNameParts {
			v := addressNamePart(side.names, part)
			switch {
			case slices.Contains(side.needed, part):
				if strings.TrimSpace(v) == "" {
					c.add(path+"."+part, CodeRequired, "required for a change of type "+x.Type)
				}
			case slices.Contains(parts.optional, part):
			case v != "":
				c.add(path+"."+part, CodeNotAllowed, "not part of a change of type "+x.Type)
			}
		}
	}
	if !known || x.Previous == nil || x.New == nil {
		return
	}
	same := true
	for _, part := range append(slices.Clone(parts.new), parts.optional...) {
		if addressNamePart(x.Previous, part) != addressNamePart(x.New, part) {
			same = false
		}
	}
	if same {
		c.add("address_change.new."+parts.new[0], CodeUnchanged, "the new values are the previous ones")
	}
}
