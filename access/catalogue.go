package access

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Source is a system a granted query may reach for its answer.
type Source string

// The sources. The hub's own read model of the local registry answers most
// queries; the migration service's system and the national registry hold what
// the local registry does not (other communities, history) (002 §6.16).
const (
	SourceLocal Source = "local" // the hub's read model of the local registry
	SourceDMS   Source = "dms"   // the migration service's departmental system (ДМС)
	SourceEDDR  Source = "eddr"  // the Unified State Demographic Register (ЄДДР)
)

// ParamSet names one set of search parameters a query may use.
type ParamSet string

// The parameter sets. Each finds people a different way, and bases differ in
// which they allow: a dwelling owner may search only by address (002 §6.2),
// a data subject only by their own identifier (002 §6.1).
const (
	ParamUNZR          ParamSet = "unzr"            // the ЄДДР record number
	ParamRNOKPP        ParamSet = "rnokpp"          // the taxpayer number
	ParamNameBirthDate ParamSet = "name_birth_date" // surname, given names [, patronymic], birth date
	ParamAddress       ParamSet = "address"         // KATOTTG code, street, building [, apartment]
)

// The fields an answer may carry, named as the keys of the records Minimise
// cuts (the person data of 002 §4.4 that a query may return).
const (
	FieldSurname            = "surname"
	FieldGivenNames         = "given_names"
	FieldPatronymic         = "patronymic"
	FieldBirthDate          = "birth_date"
	FieldBirthPlace         = "birth_place"
	FieldSex                = "sex"
	FieldCitizenship        = "citizenship"
	FieldUNZR               = "unzr"
	FieldRNOKPP             = "rnokpp"
	FieldDocument           = "document"                     // the identity document (series/number, issue, issuer, expiry)
	FieldAddress            = "address"                      // the declared or registered address
	FieldRegistrationKind   = "registration_kind"            // declared or registered; residence or stay
	FieldRegistrationDate   = "registration_date"            // date of the declaration or registration
	FieldDeregistrationDate = "deregistration_date"          // date the person left the address
	FieldPreviousAddress    = "previous_address"             // the address before the current one
	FieldContacts           = "contacts"                     // phone, e-mail
	FieldMilitaryRegNumber  = "military_registration_number" // military registration document number
)

var (
	knownSources   = []Source{SourceLocal, SourceDMS, SourceEDDR}
	knownParamSets = []ParamSet{ParamUNZR, ParamRNOKPP, ParamNameBirthDate, ParamAddress}
	knownFields    = []string{
		FieldSurname, FieldGivenNames, FieldPatronymic, FieldBirthDate, FieldBirthPlace, FieldSex,
		FieldCitizenship, FieldUNZR, FieldRNOKPP, FieldDocument, FieldAddress, FieldRegistrationKind,
		FieldRegistrationDate, FieldDeregistrationDate, FieldPreviousAddress, FieldContacts,
		FieldMilitaryRegNumber,
	}
)

// Sources returns every source a basis may name.
func Sources() []Source { return slices.Clone(knownSources) }

// ParamSets returns every parameter set a basis may allow.
func ParamSets() []ParamSet { return slices.Clone(knownParamSets) }

// Fields returns every field a basis may grant.
func Fields() []string { return slices.Clone(knownFields) }

// Catalogue is a validated legal-basis catalogue. It is read-only once
// loaded: Decide may be called on one catalogue from many goroutines.
type Catalogue struct {
	// Version identifies the catalogue in force; every decision carries it so
	// that an access record says which rules it was decided by.
	Version    string
	Categories []Category
	Bases      []Basis
	byCode     map[string]int
}

// Category is a kind of requester (notaries, social protection bodies...). A
// basis granted to a category is granted to every client of that category,
// so that a new notary needs a client, not a catalogue change.
type Category struct {
	Code string `yaml:"code"`
	Name string `yaml:"name"`
}

// Requesters says who may cite a basis: named organisations, categories, or both.
type Requesters struct {
	Orgs       []string `yaml:"orgs,omitempty"`
	Categories []string `yaml:"categories,omitempty"`
}

// Basis is one legal ground on which a requester may read register data.
type Basis struct {
	// Code is the basis's identifier; a query names it and cites its law and article.
	Code    string `yaml:"code"`
	Law     string `yaml:"law"`
	Article string `yaml:"article"`
	// ValidFrom and ValidTo (YYYY-MM-DD, inclusive, days in Europe/Kyiv) bound
	// the days the basis may be cited on. ValidTo is empty while in force.
	ValidFrom  string     `yaml:"valid_from"`
	ValidTo    string     `yaml:"valid_to,omitempty"`
	Requesters Requesters `yaml:"requesters"`
	Parameters []ParamSet `yaml:"parameters"`
	Fields     []string   `yaml:"fields"`
	Sources    []Source   `yaml:"sources"`
	// ConsentRequired: the query must carry a reference to the person's
	// written consent (001 §3.9). The catalogue must state it either way, so
	// that a forgotten line never drops a consent requirement.
	ConsentRequired bool `yaml:"consent_required"`
	// OwnDataOnly: the person searched for must be the applicant the query
	// names (a data subject reading their own data, 002 §6.1).
	OwnDataOnly bool   `yaml:"own_data_only,omitempty"`
	Purpose     string `yaml:"purpose"`
	// PurposeIDs are the declared purposes (X-Road Uxp-Purpose-Ids) a query
	// on this basis may give.
	PurposeIDs []string `yaml:"purpose_ids"`
}

// Basis returns the basis with the code. The returned value shares its
// slices with the catalogue: do not modify them.
func (c *Catalogue) Basis(code string) (Basis, bool) {
	if c == nil {
		return Basis{}, false
	}
	i, ok := c.byCode[code]
	if !ok {
		return Basis{}, false
	}
	return c.Bases[i], true
}

// ErrInvalidCatalogue is wrapped by every error Load returns for a catalogue
// that cannot be used.
var ErrInvalidCatalogue = errors.New("invalid legal-basis catalogue")

// MaxCatalogueBytes bounds the catalogue Load reads.
const MaxCatalogueBytes = 1 << 20

//go:embed catalogue.yaml
var defaultCatalogue []byte

// Default returns the catalogue shipped with the hub (catalogue.yaml).
func Default() (*Catalogue, error) {
	c, err := Load(bytes.NewReader(defaultCatalogue))
	if err != nil {
		return nil, fmt.Errorf("embedded catalogue: %w", err)
	}
	return c, nil
}

// LoadFile reads and validates the catalogue at path.
func LoadFile(path string) (*Catalogue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	defer f.Close()
	c, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("catalogue %s: %w", path, err)
	}
	return c, nil
}

// Load reads a catalogue (YAML, or JSON, which is YAML too) and validates it.
// A catalogue with any problem is refused whole, and the error lists every
// problem found (errors.Join), each naming the basis it is about, so that one
// start of the hub shows everything a catalogue's author has to fix.
func Load(r io.Reader) (*Catalogue, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCatalogueBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	if len(data) > MaxCatalogueBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidCatalogue, MaxCatalogueBytes)
	}
	var p problems
	c := parseCatalogue(data, &p)
	if n := len(p); n > 0 {
		if n > maxProblems {
			p = append(p[:maxProblems], fmt.Errorf("... and %d more", n-maxProblems))
		}
		return nil, fmt.Errorf("%w: %d problem(s):\n%w", ErrInvalidCatalogue, n, errors.Join(p...))
	}
	return c, nil
}

// maxProblems bounds the problems an error lists: a catalogue that is wrong
// throughout (a renamed key) would otherwise fill a log with one error.
const maxProblems = 100

type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

// parseCatalogue walks the YAML tree itself rather than decoding it in one
// go: yaml.v3's strict mode reports an unknown key by line only, and a
// catalogue's author needs to know which basis is wrong. Each basis is then
// decoded on its own, so that a type error names its basis too.
func parseCatalogue(data []byte, p *problems) *Catalogue {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add("the catalogue is empty")
		} else {
			p.add("not valid YAML: %w", err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		p.add("more than one YAML document (or text after the first): a catalogue is one document")
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		p.add("the catalogue is empty")
		return nil
	}
	root := doc.Content[0]
	// Anchors and aliases would let one basis silently change another's
	// lists; the catalogue is reviewed by lawyers and must read as it applies.
	if a := findAlias(root, 0); a != nil {
		p.add("line %d: aliases are not allowed: write every list out", a.Line)
		return nil
	}
	top := mapping(root, "the catalogue", keysOf[catalogueFile](), []string{"version", "bases"}, p)
	if top == nil {
		return nil
	}
	c := &Catalogue{byCode: map[string]int{}}
	if n := top["version"]; n != nil {
		if err := n.Decode(&c.Version); err != nil {
			p.add("version: %w", err)
		} else if err := checkText(c.Version, 64); err != "" {
			p.add("version: %s", err)
		}
	}
	categories := map[string]bool{}
	if n := top["categories"]; n != nil {
		for i, cn := range sequence(n, "categories", p) {
			where := fmt.Sprintf("category #%d (line %d)", i+1, cn.Line)
			if mapping(cn, where, keysOf[Category](), []string{"code", "name"}, p) == nil {
				continue
			}
			var cat Category
			if err := cn.Decode(&cat); err != nil {
				p.add("%s: %w", where, err)
				continue
			}
			if !codePattern.MatchString(cat.Code) {
				p.add("%s: code %q %s", where, cat.Code, codeRule)
				continue
			}
			where = fmt.Sprintf("category %q", cat.Code)
			if categories[cat.Code] {
				p.add("%s: defined more than once", where)
			}
			categories[cat.Code] = true
			if err := checkText(cat.Name, 500); err != "" {
				p.add("%s: name %s", where, err)
			}
			c.Categories = append(c.Categories, cat)
		}
	}
	if n := top["bases"]; n != nil {
		bases := sequence(n, "bases", p)
		if n.Kind == yaml.SequenceNode && len(bases) == 0 {
			p.add("bases: the catalogue has no basis")
		}
		lines := map[string]int{}
		for i, bn := range bases {
			where := fmt.Sprintf("basis #%d (line %d)", i+1, bn.Line)
			if code := scalarValue(bn, "code"); code != "" {
				where = fmt.Sprintf("basis %q", code)
			}
			fields := mapping(bn, where, keysOf[Basis](), []string{
				"code", "law", "article", "valid_from", "requesters", "parameters", "fields",
				"sources", "consent_required", "purpose", "purpose_ids",
			}, p)
			if fields == nil {
				continue
			}
			if rn := fields["requesters"]; rn != nil {
				mapping(rn, where+": requesters", keysOf[Requesters](), nil, p)
			}
			var b Basis
			if err := bn.Decode(&b); err != nil {
				p.add("%s: %w", where, err)
				continue
			}
			if first, dup := lines[b.Code]; dup && b.Code != "" {
				p.add("%s: defined more than once (lines %d and %d)", where, first, bn.Line)
				continue
			}
			lines[b.Code] = bn.Line
			if checkBasis(&b, where, categories, p) {
				c.byCode[b.Code] = len(c.Bases)
				c.Bases = append(c.Bases, b)
			}
		}
	}
	return c
}

// catalogueFile is the shape of the file's top level.
type catalogueFile struct {
	Version    string     `yaml:"version"`
	Categories []Category `yaml:"categories"`
	Bases      []Basis    `yaml:"bases"`
}

var (
	codePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$`)
	codeRule    = "must be lower-case letters and digits, words joined by '.', '_' or '-', at most 64 characters"
	orgPattern  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$`)
	// purposePattern admits X-Road purpose identifiers; they travel in an
	// HTTP header (Uxp-Purpose-Ids), hence no spaces or commas.
	purposePattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._:/-]{0,98}[A-Za-z0-9])?$`)
)

// checkBasis checks what decoding cannot; it reports whether b is usable.
func checkBasis(b *Basis, where string, categories map[string]bool, p *problems) bool {
	n := len(*p)
	if len(b.Code) > 64 || !codePattern.MatchString(b.Code) {
		p.add("%s: code %s", where, codeRule)
	}
	if err := checkText(b.Law, 500); err != "" {
		p.add("%s: law %s", where, err)
	}
	if err := checkText(b.Article, 200); err != "" {
		p.add("%s: article %s", where, err)
	}
	fromOK := checkDay(b.ValidFrom, where, "valid_from", p)
	if b.ValidTo != "" && checkDay(b.ValidTo, where, "valid_to", p) && fromOK && b.ValidTo < b.ValidFrom {
		p.add("%s: valid_to %s is before valid_from %s", where, b.ValidTo, b.ValidFrom)
	}
	if len(b.Requesters.Orgs) == 0 && len(b.Requesters.Categories) == 0 {
		p.add("%s: no requesters: name at least one organisation or category that may cite it", where)
	}
	checkList(b.Requesters.Orgs, where, "requesters.orgs", true, p, func(o string) string {
		if !orgPattern.MatchString(o) {
			return fmt.Sprintf("organisation code %q must be 1-64 letters, digits, '.', '_' or '-'", o)
		}
		return ""
	})
	checkList(b.Requesters.Categories, where, "requesters.categories", true, p, func(c string) string {
		if !categories[c] {
			return fmt.Sprintf("unknown category %q (declare it under categories)", c)
		}
		return ""
	})
	checkList(b.Parameters, where, "parameters", false, p, known(knownParamSets, "parameter set"))
	checkList(b.Fields, where, "fields", false, p, known(knownFields, "field"))
	checkList(b.Sources, where, "sources", false, p, known(knownSources, "source"))
	if err := checkText(b.Purpose, 2000); err != "" {
		p.add("%s: purpose %s", where, err)
	}
	checkList(b.PurposeIDs, where, "purpose_ids", false, p, func(id string) string {
		if !purposePattern.MatchString(id) {
			return fmt.Sprintf("purpose id %q must be 1-100 letters, digits, '.', '_', ':', '/' or '-'", id)
		}
		return ""
	})
	// An own-data basis compares the searched identifier with the applicant's;
	// a name or an address cannot be compared, so it would grant nothing.
	if b.OwnDataOnly {
		for _, ps := range b.Parameters {
			if ps != ParamUNZR && ps != ParamRNOKPP {
				p.add("%s: own_data_only allows only the unzr and rnokpp parameters, not %q", where, ps)
			}
		}
	}
	return len(*p) == n
}

// checkList reports duplicates and the items bad refuses, and an empty list
// unless it may be empty.
func checkList[T ~string](items []T, where, name string, mayBeEmpty bool, p *problems, bad func(string) string) {
	if len(items) == 0 && !mayBeEmpty {
		p.add("%s: %s must not be empty", where, name)
		return
	}
	seen := map[T]bool{}
	for _, it := range items {
		if seen[it] {
			p.add("%s: %s lists %q twice", where, name, it)
			continue
		}
		seen[it] = true
		if msg := bad(string(it)); msg != "" {
			p.add("%s: %s: %s", where, name, msg)
		}
	}
}

func known[T ~string](universe []T, what string) func(string) string {
	return func(v string) string {
		if slices.Contains(universe, T(v)) {
			return ""
		}
		names := make([]string, len(universe))
		for i, u := range universe {
			names[i] = string(u)
		}
		return fmt.Sprintf("unknown %s %q (known: %s)", what, v, strings.Join(names, ", "))
	}
}

func checkDay(v, where, name string, p *problems) bool {
	if v == "" {
		p.add("%s: %s is required", where, name)
		return false
	}
	if !isDay(v) {
		p.add("%s: %s %q is not a date (YYYY-MM-DD)", where, name, v)
		return false
	}
	return true
}

// isDay reports whether v is a calendar day written YYYY-MM-DD: the only
// form in which days compare correctly as strings.
func isDay(v string) bool {
	if len(v) != len("2006-01-02") {
		return false
	}
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}

// checkText refuses blank text, control characters and text over max runes.
func checkText(v string, max int) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "must not be empty"
	case strings.IndexFunc(v, badRune) >= 0:
		return "contains control characters"
	case utf8.RuneCountInString(v) > max:
		return fmt.Sprintf("is longer than %d characters", max)
	}
	return ""
}

func badRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == utf8.RuneError
}

// keysOf lists the YAML keys of T's fields, so that the keys the walk accepts
// are always the keys decoding fills.
func keysOf[T any]() []string {
	t := reflect.TypeFor[T]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// mapping checks that n is a mapping whose keys are plain, unique and
// allowed, with every required key present, and returns its values by key;
// nil when n is not a mapping at all.
func mapping(n *yaml.Node, where string, allowed, required []string, p *problems) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.add("%s: must be a mapping (line %d)", where, n.Line)
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			p.add("%s: line %d: keys must be plain names", where, k.Line)
			continue
		}
		switch {
		case !slices.Contains(allowed, k.Value):
			p.add("%s: unknown key %q (line %d; known: %s)", where, k.Value, k.Line, strings.Join(allowed, ", "))
		case out[k.Value] != nil:
			p.add("%s: key %q given twice (line %d)", where, k.Value, k.Line)
		default:
			out[k.Value] = v
		}
	}
	for _, r := range required {
		if out[r] == nil {
			p.add("%s: missing key %q", where, r)
		}
	}
	return out
}

func sequence(n *yaml.Node, where string, p *problems) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.add("%s: must be a list (line %d)", where, n.Line)
		return nil
	}
	return n.Content
}

// scalarValue returns the plain value of key in mapping n, "" when absent.
func scalarValue(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == key && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

// findAlias returns the first alias node under n. The depth bound is a guard
// only: yaml.v3 refuses far shallower documents.
func findAlias(n *yaml.Node, depth int) *yaml.Node {
	if n.Kind == yaml.AliasNode || depth > 10000 {
		return n
	}
	for _, c := range n.Content {
		if a := findAlias(c, depth+1); a != nil {
			return a
		}
	}
	return nil
}
