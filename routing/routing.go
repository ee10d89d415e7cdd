// Package routing decides which recipients a registration action goes to,
// by versioned rules kept as configuration (rules.yaml, built in; a file
// replaces it), not code: the national systems for every kind, the
// registration body of another community when an address there is left or
// a record there cancelled (002 §4.2.4), the military enlistment centre
// for persons on the military register (002 §4.2.19.1).
//
// A rule names the kinds it applies to, the conditions that must all hold
// (from a closed set defined here, so that a rule file cannot express
// something the code does not check) and the recipients. The directory maps
// KATOTTG prefixes of other communities to their registration bodies; a
// code it does not know still routes to previous_body, and the delivery
// fails for operators to see, rather than the action being refused.
//
// It is core code: no I/O besides reading a rules file.
package routing

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/reghub/reghub/action"
)

// The recipients beyond the national systems.
const (
	// DestPreviousBody is the registration body of the community an
	// address lies in (002 §4.2.4), found in the directory.
	DestPreviousBody action.Destination = "previous_body"
	// DestMilitary is the military enlistment centre (002 §4.2.19.1),
	// reached over REST/JSON.
	DestMilitary action.Destination = "military"
)

// The conditions a rule may name.
const (
	// CondAddressLeftInOtherCommunity: the address the person leaves —
	// previous_address when given, else the address of a deregistration or
	// cancellation — lies outside the local community.
	CondAddressLeftInOtherCommunity = "address_left_in_other_community"
	// CondPersonOnMilitaryRegister: the person is a conscript, liable for
	// service or a reservist (person.military_status,
	// action.Person.OnMilitaryRegister).
	CondPersonOnMilitaryRegister = "person_on_military_register"
)

var (
	knownConditions = []string{CondAddressLeftInOtherCommunity, CondPersonOnMilitaryRegister}
	knownRecipients = []action.Destination{action.DestMigrationService, action.DestNationalRegistry, DestPreviousBody, DestMilitary}
)

// Rule is one routing rule.
type Rule struct {
	Name  string               `yaml:"name"`
	Kinds []string             `yaml:"kinds"` // kinds, or "*" for every kind
	When  []string             `yaml:"when"`  // conditions, all of which must hold
	To    []action.Destination `yaml:"to"`
}

// Body is another community's registration body.
type Body struct {
	KATOTTGPrefix string `yaml:"katottg_prefix"`
	Code          string `yaml:"body"`
	Name          string `yaml:"name"`
	Endpoint      string `yaml:"endpoint"`
}

// Rules is a validated rule set.
type Rules struct {
	Version        string `yaml:"version"`
	LocalCommunity string `yaml:"local_community"`
	Rules          []Rule `yaml:"rules"`
	Directory      []Body `yaml:"directory"`
}

//go:embed rules.yaml
var defaultRules []byte

// Default returns the built-in rules.
func Default() (*Rules, error) { return Load(bytes.NewReader(defaultRules)) }

// LoadFile reads and validates a rules file.
func LoadFile(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("routing rules: %w", err)
	}
	defer f.Close()
	r, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("routing rules %s: %w", path, err)
	}
	return r, nil
}

// ErrInvalidRules wraps every problem of a rules file.
var ErrInvalidRules = errors.New("invalid routing rules")

// Load reads and validates rules; every problem is reported, not the first.
func Load(rd io.Reader) (*Rules, error) {
	dec := yaml.NewDecoder(io.LimitReader(rd, 1<<20))
	dec.KnownFields(true)
	var r Rules
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRules, err)
	}
	if errs := r.problems(); len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRules, errors.Join(errs...))
	}
	return &r, nil
}

func (r *Rules) problems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(r.Version) == "" {
		add("version is required")
	}
	if !validPrefix(r.LocalCommunity) {
		add("local_community %q is not a KATOTTG prefix (UA and digits)", r.LocalCommunity)
	}
	if len(r.Rules) == 0 {
		add("no rules")
	}
	names := map[string]bool{}
	for i, rule := range r.Rules {
		where := fmt.Sprintf("rule %d (%s)", i+1, rule.Name)
		if strings.TrimSpace(rule.Name) == "" {
			add("rule %d has no name", i+1)
		} else if names[rule.Name] {
			add("%s: the name is used twice", where)
		}
		names[rule.Name] = true
		if len(rule.Kinds) == 0 {
			add("%s: no kinds", where)
		}
		for _, k := range rule.Kinds {
			if _, ok := action.Spec(action.Kind(k)); !ok && k != "*" {
				add("%s: unknown kind %q", where, k)
			}
		}
		for _, c := range rule.When {
			if !slices.Contains(knownConditions, c) {
				add("%s: unknown condition %q (known: %s)", where, c, strings.Join(knownConditions, ", "))
			}
		}
		if len(rule.To) == 0 {
			add("%s: no recipients", where)
		}
		for _, d := range rule.To {
			if !slices.Contains(knownRecipients, d) {
				add("%s: unknown recipient %q", where, d)
			}
		}
	}
	prefixes := map[string]bool{}
	for i, b := range r.Directory {
		where := fmt.Sprintf("directory entry %d (%s)", i+1, b.KATOTTGPrefix)
		switch {
		case !validPrefix(b.KATOTTGPrefix):
			add("%s: katottg_prefix is not UA and digits", where)
		case prefixes[b.KATOTTGPrefix]:
			add("%s: the prefix is listed twice", where)
		case strings.HasPrefix(b.KATOTTGPrefix, r.LocalCommunity):
			// A broader prefix (the rest of a region) may cover the local
			// community: local addresses are never looked up.
			add("%s: lies inside the local community %s", where, r.LocalCommunity)
		}
		prefixes[b.KATOTTGPrefix] = true
		if b.Code == "" || b.Endpoint == "" {
			add("%s: body and endpoint are required", where)
		}
	}
	return errs
}

func validPrefix(p string) bool {
	if len(p) < 3 || len(p) > 19 || !strings.HasPrefix(p, "UA") {
		return false
	}
	return strings.IndexFunc(p[2:], func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// RulesVersion is the rules' version, stored with each action they route.
func (r *Rules) RulesVersion() string { return r.Version }

// Route returns the recipients of a submission, in rule order, each once.
func (r *Rules) Route(s *action.Submission) []action.Destination {
	var out []action.Destination
	for _, rule := range r.Rules {
		if !slices.Contains(rule.Kinds, "*") && !slices.Contains(rule.Kinds, string(s.Kind)) {
			continue
		}
		if !r.holds(rule.When, s) {
			continue
		}
		for _, d := range rule.To {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	return out
}

func (r *Rules) holds(conds []string, s *action.Submission) bool {
	for _, c := range conds {
		switch c {
		case CondAddressLeftInOtherCommunity:
			a := AddressLeft(s)
			if a == nil || strings.HasPrefix(a.KATOTTG, r.LocalCommunity) {
				return false
			}
		case CondPersonOnMilitaryRegister:
			if !s.Person.OnMilitaryRegister() {
				return false
			}
		default:
			return false // unreachable: Load refuses unknown conditions
		}
	}
	return true
}

// AddressLeft is the address a submission makes the person leave: the
// previous address when given, else the address of a deregistration (on
// death too) or a cancellation; nil when there is none.
func AddressLeft(s *action.Submission) *action.Address {
	if s.PreviousAddress != nil {
		return s.PreviousAddress
	}
	switch s.Kind {
	case action.KindDeregister, action.KindDeregisterDeath, action.KindCancel:
		return s.Address
	}
	return nil
}

// BodyFor finds the registration body of the community a KATOTTG code lies
// in: the longest matching prefix of the directory.
func (r *Rules) BodyFor(katottg string) (Body, bool) {
	var best Body
	for _, b := range r.Directory {
		if strings.HasPrefix(katottg, b.KATOTTGPrefix) && len(b.KATOTTGPrefix) > len(best.KATOTTGPrefix) {
			best = b
		}
	}
	return best, best.KATOTTGPrefix != ""
}
