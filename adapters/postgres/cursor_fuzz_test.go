package postgres

// An internal test: encodeCursor and decodeCursor are unexported. It shares
// the package's test binary, and so the TestMain of migrate_test.go
// (package postgres_test); it must not declare its own.

import (
	"errors"
	"math"
	"testing"

	"github.com/reghub/reghub/action"
)

// FuzzDecodeCursor: a list cursor comes from the client's query string.
// Whatever it is, decodeCursor does not panic; it fails with an error
// wrapping action.ErrBadCursor (the API's 400), or it gives a position that
// encodeCursor renders back to a cursor of that same position.
func FuzzDecodeCursor(f *testing.F) {
	for _, seq := range []int64{0, 1, 42, 1 << 32, math.MaxInt64, -1, math.MinInt64} {
		f.Add(encodeCursor(seq))
	}
	for _, c := range []string{
		"", "not-a-cursor", "AAAAAAAAAAA=", "AAAAAAAAAAAA", "AAAAAAAAAA", "AAAAAAAAAAB",
		"AAAA\nAAAAAAA", "////////////", "________-__", "AAAAAAAAAA\x00", "ÿÿÿÿÿÿÿÿ",
	} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		seq, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, action.ErrBadCursor) {
				t.Fatalf("decodeCursor(%q): error %v does not wrap action.ErrBadCursor", c, err)
			}
			return
		}
		// Only the exact text the store issued is accepted.
		if again := encodeCursor(seq); again != c {
			t.Fatalf("decodeCursor(%q) = %d, but that position's cursor is %q", c, seq, again)
		}
	})
}

// FuzzCursorRoundTrip: every position the store issues a cursor for decodes
// back to itself.
func FuzzCursorRoundTrip(f *testing.F) {
	for _, seq := range []int64{0, 1, 42, 1 << 32, math.MaxInt64, -1, math.MinInt64} {
		f.Add(seq)
	}
	f.Fuzz(func(t *testing.T, seq int64) {
		c := encodeCursor(seq)
		got, err := decodeCursor(c)
		if err != nil || got != seq {
			t.Fatalf("decodeCursor(encodeCursor(%d) = %q) = %d, %v", seq, c, got, err)
		}
	})
}
