package routing_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/routing"
)

var (
	local = &action.Address{KATOTTG: "UA12060170010076413", Street: "вул. Вигадана", Building: "7"}
	away  = &action.Address{KATOTTG: "UA12040010000012345", Street: "вул. Уявна", Building: "3"}
	lost  = &action.Address{KATOTTG: "UA05000000000000001", Street: "вул. Невідома", Building: "1"}
)

func TestRouteByRules(t *testing.T) {
	rules, err := routing.Default()
	if err != nil {
		t.Fatal(err)
	}
	national := []action.Destination{action.DestMigrationService, action.DestNationalRegistry}
	with := func(extra ...action.Destination) []action.Destination {
		return append(slices.Clone(national), extra...)
	}
	for _, tc := range []struct {
		name     string
		sub      action.Submission
		military string
		want     []action.Destination
	}{
		{"a registration within the community", action.Submission{Kind: action.KindRegister, Address: local}, "", national},
		{"a registration leaving an address in another community", action.Submission{Kind: action.KindRegister, Address: local, PreviousAddress: away}, "", with(routing.DestPreviousBody)},
		{"a declaration whose previous address is local", action.Submission{Kind: action.KindDeclare, Address: local, PreviousAddress: local}, "", national},
		{"a deregistration from an address elsewhere", action.Submission{Kind: action.KindDeregister, Address: away}, "", with(routing.DestPreviousBody)},
		{"a deregistration from a local address", action.Submission{Kind: action.KindDeregister, Address: local}, "", national},
		{"a cancellation of a record elsewhere", action.Submission{Kind: action.KindCancel, Address: away, Cancellation: &action.Cancellation{Of: action.KindDeregister}}, "", with(routing.DestPreviousBody)},
		{"an address no directory entry knows still routes (the delivery fails visibly)", action.Submission{Kind: action.KindDeregister, Address: lost}, "", with(routing.DestPreviousBody)},
		{"a reservist registering", action.Submission{Kind: action.KindRegister, Address: local}, "reservist", with(routing.DestMilitary)},
		{"a conscript deregistering elsewhere: both", action.Submission{Kind: action.KindDeregister, Address: away}, "conscript", with(routing.DestPreviousBody, routing.DestMilitary)},
		{"not on the military register", action.Submission{Kind: action.KindRegister, Address: local}, action.MilitaryNotLiable, national},
		{"a cancellation of a reservist: not a kind the military rule names", action.Submission{Kind: action.KindCancel, Address: local, Cancellation: &action.Cancellation{Of: action.KindRegister}}, "reservist", national},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.sub.Person.MilitaryStatus = tc.military
			if got := rules.Route(&tc.sub); !slices.Equal(got, tc.want) {
				t.Errorf("routed to %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBodyForLongestPrefix(t *testing.T) {
	rules, err := routing.Load(strings.NewReader(`
version: "t"
local_community: UA1206
rules: [{name: all, kinds: ["*"], to: [dms]}]
directory:
  - {katottg_prefix: UA12, body: B-12, endpoint: http://a}
  - {katottg_prefix: UA1204, body: B-1204, endpoint: http://b}
`))
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]string{"UA12040010000012345": "B-1204", "UA12030000000000000": "B-12", "UA05000000000000001": ""} {
		b, ok := rules.BodyFor(code)
		if b.Code != want || ok != (want != "") {
			t.Errorf("%s: body %q (found %v), want %q", code, b.Code, ok, want)
		}
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", `{version: v, local_community: UA12, rules: [{name: a, kinds: ["*"], to: [dms]}], extra: 1}`, []string{"extra"}},
		{"empty", `{version: "", local_community: X}`, []string{"version is required", "local_community", "no rules"}},
		{"bad rule", `{version: v, local_community: UA12, rules: [{name: a, kinds: [residence.teleport], when: [moon_full], to: [pigeon]}, {name: a, kinds: ["*"], to: []}]}`,
			[]string{`unknown kind "residence.teleport"`, `unknown condition "moon_full"`, `unknown recipient "pigeon"`, "name is used twice", "no recipients"}},
		{"bad directory", `{version: v, local_community: UA12, rules: [{name: a, kinds: ["*"], to: [dms]}], directory: [{katottg_prefix: UA1205, body: B, endpoint: e}, {katottg_prefix: XX, body: B, endpoint: e}, {katottg_prefix: UA07, body: "", endpoint: ""}, {katottg_prefix: UA07, body: C, endpoint: e}]}`,
			[]string{"inside the local community", "not UA and digits", "body and endpoint are required", "listed twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routing.Load(strings.NewReader(tc.yaml))
			if !errors.Is(err, routing.ErrInvalidRules) {
				t.Fatalf("err %v, want ErrInvalidRules", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{version: v, local_community: UA12, rules: [{name: a, kinds: ["*"], to: [dms]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := routing.Load(strings.NewReader(string(b)))
		if err == nil && (r.Version == "" || len(r.Rules) == 0) {
			t.Fatalf("accepted rules without a version or rules: %+v", r)
		}
	})
}
