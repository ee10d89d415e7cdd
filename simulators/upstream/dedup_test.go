package upstream

import (
	"bytes"
	"encoding/xml"
	"errors"
	"log/slog"
	"maps"
	"testing"

	"github.com/reghub/reghub/schemas/xroad"
)

func TestDedup(t *testing.T) {
	var d Dedup[string] // the zero value is ready
	one, other := Digest{1}, Digest{2}
	if got := d.DuplicatesByKey(); got == nil || len(got) != 0 {
		t.Fatalf("duplicates by key before the first: %#v, want empty, not nil", got)
	}
	if a, r := d.Check("k", one); r != ResendNone || a != "" {
		t.Fatalf("a new key: %q %v", a, r)
	}
	d.Keep("k", one, "first")
	for range 2 {
		if a, r := d.Check("k", one); r != ResendDuplicate || a != "first" {
			t.Fatalf("the same body again: %q %v", a, r)
		}
	}
	if a, r := d.Check("k", other); r != ResendConflict || a != "" {
		t.Fatalf("another body: %q %v", a, r)
	}
	if _, r := d.Check("l", one); r != ResendNone {
		t.Fatalf("another key: %v", r)
	}
	byKey := d.DuplicatesByKey()
	if d.Duplicates() != 2 || !maps.Equal(byKey, map[string]int{"k": 2}) || d.Conflicts() != 1 {
		t.Fatalf("duplicates %d %v, conflicts %d; want 2 {k: 2}, 1", d.Duplicates(), byKey, d.Conflicts())
	}
	byKey["k"] = 99
	if d.DuplicatesByKey()["k"] != 2 {
		t.Fatal("DuplicatesByKey is not a copy")
	}

	d.Reset()
	if _, r := d.Check("k", one); r != ResendNone || d.Duplicates() != 0 || len(d.DuplicatesByKey()) != 0 || d.Conflicts() != 0 {
		t.Fatalf("after reset: %v, duplicates %d %v, conflicts %d", r, d.Duplicates(), d.DuplicatesByKey(), d.Conflicts())
	}
}

// flaky is a payload whose first rendering fails.
type flaky struct {
	renders *int
}

func (f flaky) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	*f.renders++
	if *f.renders == 1 {
		return errors.New("render failed")
	}
	return e.EncodeElement("ok", xml.StartElement{Name: xml.Name{Local: "Answer"}})
}

// TestSOAPAnswers: a message id is decided once; a resend under it, whatever
// its body, gets the first answer verbatim and is counted; the answer is
// kept before it is rendered.
func TestSOAPAnswers(t *testing.T) {
	var a SOAPAnswers
	logger := slog.New(slog.DiscardHandler)
	decisions := 0
	decide := func() any {
		decisions++
		return &Fault{Code: "decision", String: string(rune('0' + decisions))}
	}
	call := func(id, issue string) *Call {
		return &Call{Headers: xroad.Headers{ID: id, Issue: issue, ProtocolVersion: xroad.ProtocolVersion}}
	}
	first, err := a.Answer(call("m1", "first"), logger, decide)
	if err != nil || !bytes.Contains(first, []byte("<faultstring>1</faultstring>")) || !bytes.Contains(first, []byte("first")) {
		t.Fatalf("first answer %s, %v", first, err)
	}
	again, err := a.Answer(call("m1", "resend"), logger, decide)
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("resend %s, %v; want the first answer verbatim", again, err)
	}
	if other, err := a.Answer(call("m2", "other"), logger, decide); err != nil || !bytes.Contains(other, []byte("<faultstring>2</faultstring>")) {
		t.Fatalf("another id: %s, %v", other, err)
	}
	if decisions != 2 || a.Duplicates() != 1 || !maps.Equal(a.DuplicatesByKey(), map[string]int{"m1": 1}) || a.Conflicts() != 0 {
		t.Fatalf("decisions %d, duplicates %d %v, conflicts %d", decisions, a.Duplicates(), a.DuplicatesByKey(), a.Conflicts())
	}

	renders := 0
	if _, err := a.Answer(call("m3", "x"), logger, func() any { return flaky{&renders} }); err == nil {
		t.Fatal("a failed rendering answered")
	}
	body, err := a.Answer(call("m3", "x"), logger, func() any { t.Fatal("decided twice"); return nil })
	if err != nil || !bytes.Contains(body, []byte("<Answer>ok</Answer>")) || a.DuplicatesByKey()["m3"] != 1 {
		t.Fatalf("resend after a failed rendering: %s, %v, duplicates %v", body, err, a.DuplicatesByKey())
	}
	if again, _ := a.Answer(call("m3", "x"), logger, nil); !bytes.Equal(again, body) || renders != 3 {
		t.Fatalf("resend %s, rendered %d times; want the answer rendered again, 3 times", again, renders)
	}

	a.Reset()
	if _, err := a.Answer(call("m1", "after reset"), logger, decide); err != nil || decisions != 3 || a.Duplicates() != 0 {
		t.Fatalf("after reset: decisions %d, duplicates %d, %v", decisions, a.Duplicates(), err)
	}
}

func TestRefusal(t *testing.T) {
	cfg := Config{RejectionRate: 0.5, Seed: 11}
	if code, reason := Refusal(cfg, "a", []string{"period", "registered[1].sex"}); code != ReasonInvalidRequest || reason != "missing or invalid: period, registered[1].sex" {
		t.Fatalf("values missing: %s %q", code, reason)
	}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		code, reason := Refusal(cfg, id, nil)
		if reject := RejectByHash(cfg.Seed, id, cfg.RejectionRate); reject != (code == ReasonSimulated) || (code == "") != (reason == "") || (!reject && code != "") {
			t.Fatalf("%s: %s %q, rejected by the hash %t", id, code, reason, reject)
		}
	}
}
