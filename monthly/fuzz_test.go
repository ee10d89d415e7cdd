package monthly

import (
	"testing"
	"time"
)

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{
		"2026-10", "2027-01", "0000-01", "9999-12", "0987-03", "", "2026", "2026-13", "2026-00", "2026-1",
		"2026-10-01", " 2026-10", "-001-01", "+2026-10", "2026-1\x00", "жовтень",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			if p != (Period{}) {
				t.Fatalf("ParsePeriod(%q) = %v with error %v, want the zero period", s, p, err)
			}
			return
		}
		if p.Month < time.January || p.Month > time.December || p.Year < 0 || p.Year > 9999 {
			t.Fatalf("ParsePeriod(%q) = %#v, not a calendar month", s, p)
		}
		back, err := ParsePeriod(p.String())
		if err != nil {
			t.Fatalf("ParsePeriod(%q) = %v, but its String %q does not parse: %v", s, p, p.String(), err)
		}
		if back != p {
			t.Fatalf("ParsePeriod(%q) = %v, String %q parses to %v", s, p, p.String(), back)
		}
		if got := p.Next().Prev(); got != p {
			t.Fatalf("%v.Next().Prev() = %v", p, got)
		}
		if got := p.Prev().Next(); got != p {
			t.Fatalf("%v.Prev().Next() = %v", p, got)
		}
	})
}
