package mapping_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/routing"
	"github.com/reghub/reghub/schemas/regbody"
	"github.com/reghub/reghub/schemas/xroad"
)

// regBodyFixtures are the synthetic submissions that route to the previous
// registration body (testdata/regbody.<fixture>.json), one per kind the
// routing rules send there and a cancellation of each kind §4.2.4.2 names;
// each golden is testdata/regbody.<fixture>.previous_body.xml, validated
// with the others by TestGoldenSchemaValid.
var regBodyFixtures = []string{
	"residence.deregister",
	"residence.deregister_death",
	"residence.cancel.declare",
	"residence.cancel.register",
	"residence.cancel.deregister",
	"residence.declare",
	"residence.register",
	"residence.change",
}

// regBodies is the directory the goldens are rendered with: fixed here, so
// that a change of the built-in directory does not change the goldens.
var regBodies = map[string]mapping.RegistrationBody{
	"UA1202": {Code: "SYN-RB-1202", Name: "Синтетичний орган реєстрації області 12-02"},
	"UA1204": {Code: "SYN-RB-1204", Name: "Синтетичний орган реєстрації області 12-04"},
}

func loadRegBodyFixture(t *testing.T, name string) *action.Submission {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "regbody."+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := action.Parse(body, fixedNow)
	if err != nil {
		t.Fatalf("fixture regbody.%s does not validate: %v", name, err)
	}
	return s
}

func recipientOf(t *testing.T, s *action.Submission) mapping.RegistrationBody {
	t.Helper()
	left := routing.AddressLeft(s)
	if left == nil {
		t.Fatal("the fixture leaves no address")
	}
	b, ok := regBodies[left.KATOTTG[:6]]
	if !ok {
		t.Fatalf("no body for %s in the test directory", left.KATOTTG)
	}
	return b
}

func mapRegBody(t *testing.T, s *action.Submission) mapped {
	t.Helper()
	to := recipientOf(t, s)
	req, err := mapping.ToRegBody(s, fixedMeta, to)
	if err != nil {
		t.Fatalf("ToRegBody: %v", err)
	}
	return mapped{dest: routing.DestPreviousBody, request: req,
		headers: mapping.RegBodyHeaders(mapping.DefaultIdentity(), fixedMeta, s.Official, to)}
}

// TestRegBodyGolden renders each fixture's notice, compares it with its
// golden and decodes it back as gowsdl does. Each fixture must really route
// to the previous body under the built-in rules.
func TestRegBodyGolden(t *testing.T) {
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regBodyFixtures {
		t.Run(name, func(t *testing.T) {
			s := loadRegBodyFixture(t, name)
			if to := rules.Route(s); !slices.Contains(to, routing.DestPreviousBody) {
				t.Errorf("the built-in rules route it to %v, not to %s", to, routing.DestPreviousBody)
			}
			m := mapRegBody(t, s)
			got, err := mapping.Envelope(m.headers, m.request)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "regbody."+name+"."+string(routing.DestPreviousBody)+".xml"), got)
			roundTrip(t, got, m)
		})
	}
}

// TestRegBodyFixturesCoverRoutedKinds: every kind a built-in rule sends to
// the previous body has a fixture, so has a cancellation of a declaration,
// a registration and a deregistration (002 §4.2.4.2), and every
// regbody.*.json is a fixture.
func TestRegBodyFixturesCoverRoutedKinds(t *testing.T) {
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[action.Kind]bool{}
	cancelled := map[action.Kind]bool{}
	for _, name := range regBodyFixtures {
		s := loadRegBodyFixture(t, name)
		kinds[s.Kind] = true
		if s.Cancellation != nil {
			cancelled[s.Cancellation.Of] = true
		}
	}
	for _, r := range rules.Rules {
		if !slices.Contains(r.To, routing.DestPreviousBody) {
			continue
		}
		for _, k := range r.Kinds {
			if k == "*" {
				t.Fatalf("rule %q sends every kind to %s: the notice maps only some", r.Name, routing.DestPreviousBody)
			}
			if !kinds[action.Kind(k)] {
				t.Errorf("rule %q sends %s to %s; no regbody fixture of that kind", r.Name, k, routing.DestPreviousBody)
			}
		}
	}
	for _, k := range []action.Kind{action.KindDeclare, action.KindRegister, action.KindDeregister} {
		if !cancelled[k] {
			t.Errorf("no regbody fixture cancelling a %s", k)
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "regbody.*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "regbody."), ".json")
		if !slices.Contains(regBodyFixtures, name) {
			t.Errorf("%s is not in regBodyFixtures", f)
		}
	}
}

// TestToRegBodyNotice checks what each kind of notice says.
func TestToRegBodyNotice(t *testing.T) {
	for _, c := range []struct {
		fixture       string
		kind          regbody.NoticeKind
		cause         regbody.ActionKind
		cancelled     regbody.ActionKind
		katottg       string
		reasonCode    string
		cancelledFrom string
	}{
		{"residence.deregister", regbody.NoticeKindDeregistration, regbody.ActionKindDeregistration, "", "UA12020010010000456", "moved", ""},
		{"residence.deregister_death", regbody.NoticeKindDeregistration, regbody.ActionKindDeregistration_on_death, "", "UA12040150010000789", "death", ""},
		{"residence.declare", regbody.NoticeKindDeregistration, regbody.ActionKindDeclaration, "", "UA12020010010000456", "", ""},
		{"residence.register", regbody.NoticeKindDeregistration, regbody.ActionKindRegistration, "", "UA12040150010000789", "", ""},
		{"residence.change", regbody.NoticeKindDeregistration, regbody.ActionKindChange_of_residence, "", "UA12020010010000456", "", ""},
		{"residence.cancel.declare", regbody.NoticeKindCancellation, "", regbody.ActionKindDeclaration, "UA12040150010000789", "erroneous_entry", "0195a3c0-0000-7000-8000-000000000001"},
		{"residence.cancel.register", regbody.NoticeKindCancellation, "", regbody.ActionKindRegistration, "UA12020010010000456", "violation_of_law", ""},
		{"residence.cancel.deregister", regbody.NoticeKindCancellation, "", regbody.ActionKindDeregistration, "UA12020010010000456", "dms_notice_confirmed", "0195a3c0-0000-7000-8000-000000000003"},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			s := loadRegBodyFixture(t, c.fixture)
			req := mapRegBody(t, s).request.(*regbody.NotifyRequest)
			if *req.NoticeKind != c.kind {
				t.Errorf("noticeKind %s, want %s", *req.NoticeKind, c.kind)
			}
			if got := deref(req.Cause); got != c.cause {
				t.Errorf("cause %q, want %q", got, c.cause)
			}
			if got := deref(req.CancelledKind); got != c.cancelled {
				t.Errorf("cancelledKind %q, want %q", got, c.cancelled)
			}
			if req.Address.Katottg != c.katottg {
				t.Errorf("address %s, want the address left %s", req.Address.Katottg, c.katottg)
			}
			if req.ReasonCode != c.reasonCode || req.CancelledActionId != c.cancelledFrom {
				t.Errorf("reasonCode %q, cancelledActionId %q; want %q, %q", req.ReasonCode, req.CancelledActionId, c.reasonCode, c.cancelledFrom)
			}
			if req.NoticeId != fixedMeta.MessageID || req.RecipientBody != recipientOf(t, s).Code {
				t.Errorf("noticeId %q, recipientBody %q", req.NoticeId, req.RecipientBody)
			}
		})
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestToRegBodyErrors: what cannot be a notice is an error, which the
// sender reports as a permanent mapping failure.
func TestToRegBodyErrors(t *testing.T) {
	to := regBodies["UA1202"]
	declare := loadRegBodyFixture(t, "residence.declare")
	noPrevious := *declare
	noPrevious.PreviousAddress = nil
	if _, err := mapping.ToRegBody(&noPrevious, fixedMeta, to); !errors.Is(err, mapping.ErrNoAddressLeft) {
		t.Errorf("a declaration leaving no address: %v, want ErrNoAddressLeft", err)
	}
	exclude := *declare
	exclude.Kind = action.KindExclude
	if _, err := mapping.ToRegBody(&exclude, fixedMeta, to); !errors.Is(err, mapping.ErrUnknownKind) {
		t.Errorf("an exclusion: %v, want ErrUnknownKind", err)
	}
	if _, err := mapping.ToRegBody(nil, fixedMeta, to); err == nil {
		t.Error("a nil submission mapped")
	}
	if _, err := mapping.ToRegBody(declare, fixedMeta, mapping.RegistrationBody{}); err == nil || !strings.Contains(err.Error(), "recipient body code") {
		t.Errorf("no recipient: %v", err)
	}
	cancel := loadRegBodyFixture(t, "residence.cancel.declare")
	odd := *cancel
	c := *cancel.Cancellation
	c.Of = action.KindCorrect
	odd.Cancellation = &c
	if _, err := mapping.ToRegBody(&odd, fixedMeta, to); err == nil || !strings.Contains(err.Error(), "cancellation.of") {
		t.Errorf("a cancellation of a correction: %v", err)
	}
	odd.Cancellation = nil
	if _, err := mapping.ToRegBody(&odd, fixedMeta, to); err == nil || !strings.Contains(err.Error(), "cancellation is required") {
		t.Errorf("a cancellation without its block: %v", err)
	}
}

// TestRegBodyHeaders: the receiving body is the service's member, whatever
// member code the configured service names.
func TestRegBodyHeaders(t *testing.T) {
	to := regBodies["UA1204"]
	official := action.Official{ID: "reg-officer-0042"}
	h := mapping.RegBodyHeaders(mapping.DefaultIdentity(), fixedMeta, official, to)
	want := mapping.DefaultRegBodyService
	want.MemberCode = to.Code
	if h.Service != want || h.Client != mapping.DefaultClient || h.ID != fixedMeta.MessageID ||
		h.UserID != official.ID || h.Issue != fixedMeta.ActionRef || h.ProtocolVersion != xroad.ProtocolVersion {
		t.Errorf("headers %+v", h)
	}
	id := mapping.DefaultIdentity()
	configured := xroad.Identifier{ObjectType: "SERVICE", XRoadInstance: "SEVDEIR", MemberClass: "GOV",
		MemberCode: "ignored", SubsystemCode: "RTG", ServiceCode: "NotifyRegistrationBody", ServiceVersion: "v2"}
	id.Services[routing.DestPreviousBody] = configured
	h = mapping.RegBodyHeaders(id, fixedMeta, official, to)
	configured.MemberCode = to.Code
	if h.Service != configured {
		t.Errorf("configured service: %+v, want %+v", h.Service, configured)
	}
}
