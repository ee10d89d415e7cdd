package access

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// Calendar counts working days in Kyiv: Monday to Friday, except the
// configured public holidays. An answer that needs a system that is down
// is due by the end of the third working day after the query (001 §5.5).
type Calendar struct {
	// Holidays are days off (YYYY-MM-DD) besides weekends.
	Holidays map[string]bool
}

// DueWorkingDays is the time the register has to answer (001 §5.5).
const DueWorkingDays = 3

// Due is the end (24:00 Kyiv time) of the third working day after t.
func (c Calendar) Due(t time.Time) time.Time {
	day := t.In(kyiv())
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, kyiv())
	for n := 0; n < DueWorkingDays; {
		day = day.AddDate(0, 0, 1)
		if c.Working(day) {
			n++
		}
	}
	return day.AddDate(0, 0, 1)
}

// Working says whether the Kyiv calendar day of t is a working day.
func (c Calendar) Working(t time.Time) bool {
	d := t.In(kyiv())
	if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		return false
	}
	return !c.Holidays[d.Format(time.DateOnly)]
}

// ParseHolidays reads one date (YYYY-MM-DD) per line; blank lines and
// lines starting with # are skipped, and text after a date is a comment.
func ParseHolidays(r io.Reader) (map[string]bool, error) {
	out := map[string]bool{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if _, err := time.Parse(time.DateOnly, f[0]); err != nil {
			return nil, fmt.Errorf("holidays line %d: %q is not a date YYYY-MM-DD", line, f[0])
		}
		out[f[0]] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read holidays: %w", err)
	}
	return out, nil
}
