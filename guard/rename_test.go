package guard_test

import (
	"testing"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/guard"
)

func TestRenameKey(t *testing.T) {
	const c = "UA12060170010076413"
	k := func(street, building, block, apt string) action.AddressKey {
		return guard.Key(action.Address{KATOTTG: c, Street: street, Building: building, Block: block, Apartment: apt})
	}
	names := func(street, building, block string) *action.AddressNames {
		return &action.AddressNames{Street: street, Building: building, Block: block}
	}
	for _, tc := range []struct {
		name   string
		change action.AddressChange
		in     action.AddressKey
		want   action.AddressKey
		covers bool
	}{
		{"street renamed, spelling folded", action.AddressChange{Type: action.AddressStreetRenamed, KATOTTG: c, Previous: names("вул. Садова", "", ""), New: names("вул.  Вишнева", "", "")},
			k("ВУЛ. САДОВА", "5", "", "3"), action.AddressKey{KATOTTG: c, Street: "вул. вишнева", Building: "5", Apartment: "3"}, true},
		{"another street", action.AddressChange{Type: action.AddressStreetRenamed, KATOTTG: c, Previous: names("вул. Липова", "", ""), New: names("вул. Вишнева", "", "")},
			k("вул. Садова", "5", "", ""), k("вул. Садова", "5", "", ""), false},
		{"another community", action.AddressChange{Type: action.AddressStreetRenamed, KATOTTG: "UA12080130010093157", Previous: names("вул. Садова", "", ""), New: names("вул. Вишнева", "", "")},
			k("вул. Садова", "5", "", ""), k("вул. Садова", "5", "", ""), false},
		{"renumbered with a block", action.AddressChange{Type: action.AddressRenumbering, KATOTTG: c, Previous: names("вул. Садова", "5", ""), New: names("вул. Садова", "7", "2")},
			k("вул. Садова", "5", "", "1"), k("вул. Садова", "7", "2", "1"), true},
		{"renumbering of another building", action.AddressChange{Type: action.AddressRenumbering, KATOTTG: c, Previous: names("вул. Садова", "6", ""), New: names("вул. Садова", "8", "")},
			k("вул. Садова", "5", "", ""), k("вул. Садова", "5", "", ""), false},
		{"renumbering of another block", action.AddressChange{Type: action.AddressRenumbering, KATOTTG: c, Previous: names("вул. Садова", "5", "1"), New: names("вул. Садова", "5", "3")},
			k("вул. Садова", "5", "2", ""), k("вул. Садова", "5", "2", ""), false},
		{"a settlement renamed moves no key", action.AddressChange{Type: action.AddressSettlementRenamed, KATOTTG: c, Previous: &action.AddressNames{Settlement: "с. Тестове"}, New: &action.AddressNames{Settlement: "с. Зразкове"}},
			k("вул. Садова", "5", "", ""), k("вул. Садова", "5", "", ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, covers := guard.RenameKey(tc.change, tc.in)
			if got != tc.want || covers != tc.covers {
				t.Errorf("RenameKey = %+v, %v; want %+v, %v", got, covers, tc.want, tc.covers)
			}
		})
	}
}
