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
	// CancelReasons are the grounds on which a residence.cancel may undo an
	// action of this kind (cancellation.reason); none: it cannot be cancelled.
	CancelReasons []string
	// validate adds the kind-specific checks (which blocks are required or
	// not allowed, and how fields relate); the fields inside a present block
	// are checked for every kind.
	validate func(s *Submission, v *checker)
}

// Cancellable reports whether a residence.cancel may name this kind.
func (k KindSpec) Cancellable() bool { return len(k.CancelReasons) > 0 }

// coreDestinations: every kind goes to the migration service's system first
// and from there on to the national demographic registry (002 §3.1.3,
// §4.2.11, §7.2–7.4).
var coreDestinations = []Destination{DestMigrationService, DestNationalRegistry}

// The grounds of cancellation each cancellable kind allows. The seeds name
// the same grounds for a declaration, a registration and a deregistration
// (002 §7.5, §7.7 and §7.8 treat them together, §6.2.2 any erroneous
// record); a deregistration on death rests on a death certificate, not on
// a passport document, so a passport declared invalid is no ground to undo it.
var (
	residenceCancelReasons = []string{
		CancelErroneousEntry, CancelViolationOfLaw, CancelDMSNoticeConfirmed, CancelDocumentInvalid, CancelCivilRecordAnnulled,
	}
	deathCancelReasons = []string{
		CancelErroneousEntry, CancelViolationOfLaw, CancelDMSNoticeConfirmed, CancelCivilRecordAnnulled,
	}
)

// personBlocks are the blocks that belong to one kind each: a kind takes its
// own (if any) and none of the others.
var personBlocks = []string{"cancellation", "deregistration", "correction", "death", "address_change"}

// except returns names without the ones given.
func except(names []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(drop, n) })
}

// kindTable is the registry of kinds. Adding a kind is one entry here plus its
// mapping to the upstream messages.
var kindTable = []KindSpec{
	{
		Kind:         KindDeclare,
		Title:        "Declaration of place of residence",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "person.document"},
			forbidden: personBlocks,
		}.check,
		CancelReasons: residenceCancelReasons,
	},
	{
		Kind:         KindRegister,
		Title:        "Registration of place of residence",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "person.document"},
			forbidden: personBlocks,
		}.check,
		CancelReasons: residenceCancelReasons,
	},
	{
		// address is the address being left.
		Kind:         KindDeregister,
		Title:        "Deregistration from place of residence",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "deregistration"},
			forbidden: except(personBlocks, "deregistration"),
		}.check,
		CancelReasons: residenceCancelReasons,
	},
	{
		// address, when given, is the address of the cancelled action.
		Kind:         KindCancel,
		Title:        "Cancellation of a declaration, registration, deregistration or change of residence",
		Destinations: coreDestinations,
		// cancellation.reason is checked against cancellation.of with the
		// block's fields, for every kind (checkCancelReason).
		validate: blocks{
			required:  []string{"cancellation"},
			forbidden: except(personBlocks, "cancellation"),
		}.check,
	},
	{
		// address is the declared address excluded; basis_document the
		// application or decision the exclusion rests on.
		Kind:         KindExclude,
		Title:        "Exclusion of a declared place of residence",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "basis_document"},
			forbidden: append([]string{"previous_address"}, personBlocks...),
		}.check,
	},
	{
		Kind:         KindStayRegister,
		Title:        "Registration of place of stay",
		Destinations: coreDestinations,
		validate: blocks{
			required:  []string{"address", "person.document"},
			forbidden: personBlocks,
		}.check,
		CancelReasons: residenceCancelReasons,
	},
	{
		// address is the new place of residence, previous_address the one left.
		Kind:         KindChange,
		Title:        "Change of place of residence",
		Destinations: coreDestinations,
		validate: all(blocks{
			required:  []string{"address", "previous_address", "person.document"},
			forbidden: personBlocks,
		}.check, checkChange),
		CancelReasons: residenceCancelReasons,
	},
	{
		// person is the corrected data; correction names the fields and
		// their previous values; basis_document is what proves the right ones.
		Kind:         KindCorrect,
		Title:        "Correction of personal data",
		Destinations: coreDestinations,
		validate: all(blocks{
			required:  []string{"correction", "basis_document"},
			forbidden: append([]string{"address", "previous_address"}, except(personBlocks, "correction")...),
		}.check, checkCorrection),
	},
	{
		// address is the address being left.
		Kind:         KindDeregisterDeath,
		Title:        "Deregistration on death",
		Destinations: coreDestinations,
		validate: all(blocks{
			required:  []string{"address", "death"},
			forbidden: append([]string{"previous_address"}, except(personBlocks, "death")...),
		}.check, checkDeath),
		CancelReasons: deathCancelReasons,
	},
	{
		// No person: the change is to the address directory; basis_document
		// is the decision (its number and date are required).
		Kind:         KindAddressChange,
		Title:        "Address-directory change",
		Destinations: coreDestinations,
		validate: all(blocks{
			required:  []string{"address_change", "basis_document"},
			forbidden: append([]string{"person", "address", "previous_address"}, except(personBlocks, "address_change")...),
		}.check, checkAddressChange),
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
	s.CancelReasons = slices.Clone(s.CancelReasons)
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

// CancellableKinds returns the kinds a residence.cancel may name, sorted.
func CancellableKinds() []Kind {
	var ks []Kind
	for _, k := range kindTable {
		if k.Cancellable() {
			ks = append(ks, k.Kind)
		}
	}
	slices.Sort(ks)
	return ks
}
