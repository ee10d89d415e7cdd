package action

import (
	"fmt"
	"slices"
)

// KindSpec describes one kind of registration action: where it goes and what
// it needs beyond the fields every submission carries.
type KindSpec struct {
	Kind         Kind
	Title        string        // English, for docs and logs
	Destinations []Destination // in delivery order
	// validate adds the kind-specific checks (which blocks are required or
	// not allowed); the fields inside a present block are checked for every kind.
	validate func(s *Submission, v *checker)
	// cancellable: a residence.cancel may name this kind in cancellation.of.
	cancellable bool
}

// coreDestinations: every core kind goes to the migration service's system
// first and from there on to the national demographic registry (002 §3.1.3, §4.2.11).
var coreDestinations = []Destination{DestMigrationService, DestNationalRegistry}

// kindTable is the registry of kinds. Adding a kind is one entry here plus its
// mapping to the upstream messages.
var kindTable = []KindSpec{
	{
		Kind:         KindDeclare,
		Title:        "Declaration of place of residence",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "person.document"},
			forbidden: []string{"cancellation", "deregistration"},
		}.check,
		cancellable: true,
	},
	{
		Kind:         KindRegister,
		Title:        "Registration of place of residence",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "person.document"},
			forbidden: []string{"cancellation", "deregistration"},
		}.check,
		cancellable: true,
	},
	{
		// address is the address being left.
		Kind:         KindDeregister,
		Title:        "Deregistration from place of residence",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "deregistration"},
			forbidden: []string{"cancellation"},
		}.check,
		cancellable: true,
	},
	{
		// address, when given, is the address of the cancelled action.
		Kind:         KindCancel,
		Title:        "Cancellation of a declaration, registration or deregistration",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"cancellation"},
			forbidden: []string{"deregistration"},
		}.check,
	},
}

var kindIndex = func() map[Kind]KindSpec {
	m := make(map[Kind]KindSpec, len(kindTable))
	for _, k := range kindTable {
		if _, dup := m[k.Kind]; dup {
			panic(fmt.Sprintf("action: kind %q listed twice", k.Kind))
		}
		if k.validate == nil || len(k.Destinations) == 0 {
			panic(fmt.Sprintf("action: kind %q needs a validate func and destinations", k.Kind))
		}
		m[k.Kind] = k
	}
	return m
}()

// Spec returns the specification of kind k, and whether the hub knows it.
func Spec(k Kind) (KindSpec, bool) {
	s, ok := kindIndex[k]
	if !ok {
		return KindSpec{}, false
	}
	s.Destinations = slices.Clone(s.Destinations)
	return s, true
}

// Kinds returns the known kinds, sorted.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(kindTable))
	for _, k := range kindTable {
		ks = append(ks, k.Kind)
	}
	slices.Sort(ks)
	return ks
}
