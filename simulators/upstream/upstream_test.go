package upstream

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/schemas/dms"
	"github.com/reghub/reghub/schemas/eddr"
	"github.com/reghub/reghub/schemas/xroad"
)

func TestConfigJSONRoundTrip(t *testing.T) {
	from := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []Config{
		{},
		{Mode: ModeAsync, AsyncDelay: 250 * time.Millisecond, Latency: time.Second, LatencyJitter: 10 * time.Millisecond,
			ErrorRate: 0.1, ServerFaultRate: 0.2, ClientFaultRate: 0.3, MalformedRate: 0.4, MalformedApplies: true,
			RejectionRate: 0.5, SlowRate: 0.6, SlowDelay: 3 * time.Second, Outage: true, OutageFrom: from,
			OutageUntil: from.Add(time.Hour), OutageClose: true, AckTwice: true, Seed: 42},
	}
	for i, c := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var got Config
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !got.OutageFrom.Equal(c.OutageFrom) || !got.OutageUntil.Equal(c.OutageUntil) {
				t.Fatalf("outage window %v..%v, want %v..%v", got.OutageFrom, got.OutageUntil, c.OutageFrom, c.OutageUntil)
			}
			got.OutageFrom, got.OutageUntil, c.OutageFrom, c.OutageUntil = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != c {
				t.Fatalf("round trip %s:\n got %+v\nwant %+v", b, got, c)
			}
		})
	}
	var c Config
	if err := json.Unmarshal([]byte(`{"latency":"150ms","slow_delay":2000000000}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Latency != 150*time.Millisecond || c.SlowDelay != 2*time.Second {
		t.Fatalf("durations %v %v", c.Latency, c.SlowDelay)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"async", Config{Mode: ModeAsync}, true},
		{"bad mode", Config{Mode: "later"}, false},
		{"rate above 1", Config{RejectionRate: 1.01}, false},
		{"negative rate", Config{ErrorRate: -0.1}, false},
		{"negative delay", Config{SlowDelay: -time.Second}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
	}
}

func TestInOutage(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		cfg  Config
		want bool
	}{
		{"none", Config{}, false},
		{"flag", Config{Outage: true}, true},
		{"inside", Config{OutageFrom: now.Add(-time.Second), OutageUntil: now.Add(time.Second)}, true},
		{"before", Config{OutageFrom: now.Add(time.Second), OutageUntil: now.Add(time.Hour)}, false},
		{"after", Config{OutageFrom: now.Add(-time.Hour), OutageUntil: now}, false},
		{"open end", Config{OutageFrom: now.Add(-time.Second)}, true},
		{"open start", Config{OutageUntil: now.Add(time.Second)}, true},
	}
	for _, tc := range tests {
		if got := tc.cfg.inOutage(now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRejectByHash(t *testing.T) {
	const n = 10000
	rejected := 0
	for i := range n {
		id := fmt.Sprintf("msg-%d", i)
		r := RejectByHash(1, id, 0.3)
		if r != RejectByHash(1, id, 0.3) {
			t.Fatalf("%s: not deterministic", id)
		}
		if RejectByHash(1, id, 0) || !RejectByHash(1, id, 1) {
			t.Fatalf("%s: rates 0 and 1 not absolute", id)
		}
		if r {
			rejected++
		}
	}
	if rejected < n*27/100 || rejected > n*33/100 {
		t.Fatalf("%d of %d rejected at 0.3", rejected, n)
	}
}

func TestMarshalDecodeEnvelope(t *testing.T) {
	code := dms.ResultCodeREGISTERED
	h := xroad.Headers{Client: xroad.Identifier{XRoadInstance: "T", MemberClass: "GOV", MemberCode: "1", SubsystemCode: "HUB"},
		ID: "id-1", UserID: "u-1", Issue: "case", ProtocolVersion: "4.0"}
	b, err := MarshalEnvelope(&h, &dms.OtgToDmsResponse{RequestId: "id-1", Result: &code, RecordId: "DMS-1"})
	if err != nil {
		t.Fatal(err)
	}
	var resp dms.OtgToDmsResponse
	env, err := DecodeEnvelope(b, func(n xml.Name) any {
		if n == (xml.Name{Space: "urn:reghub:dms:otg:v1", Local: "OtgToDmsResponse"}) {
			return &resp
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Header.Headers(); got.ID != "id-1" || got.UserID != "u-1" || got.Client.String() != "T/GOV/1/HUB" || got.Client.ObjectType != "SUBSYSTEM" {
		t.Fatalf("headers %+v", got)
	}
	if resp.RecordId != "DMS-1" || *resp.Result != code {
		t.Fatalf("body %+v", resp)
	}

	// A prefixed body element resolves to the same name.
	prefixed := `<s:Envelope xmlns:s="` + NSEnvelope + `" xmlns:d="urn:reghub:dms:otg:v1"><s:Body><d:OtgToDmsResponse><d:recordId>R</d:recordId></d:OtgToDmsResponse></s:Body></s:Envelope>`
	resp = dms.OtgToDmsResponse{}
	if _, err := DecodeEnvelope([]byte(prefixed), func(xml.Name) any { return &resp }); err != nil || resp.RecordId != "R" {
		t.Fatalf("prefixed: %v %+v", err, resp)
	}

	fb, err := MarshalEnvelope(nil, ServerFault("down"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(fb), "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>down</faultstring></SOAP-ENV:Fault>") {
		t.Fatalf("fault %s", fb)
	}
	var f Fault
	if _, err := DecodeEnvelope(fb, func(xml.Name) any { return &f }); err != nil || !f.IsServer() || f.String != "down" {
		t.Fatalf("decoded fault %+v %v", f, err)
	}
}

// FuzzDecodeEnvelope: the request parser never panics, whatever arrives.
func FuzzDecodeEnvelope(f *testing.F) {
	h := xroad.Headers{ID: "id-1", ProtocolVersion: "4.0"}
	change := eddr.ChangeTypeRESIDENCE_REGISTERED
	action := dms.ActionCodeREGISTER
	for _, payload := range []any{
		&dms.OtgToDmsRequest{RequestId: "id-1", StatusCode: &action, Person: &dms.Person{Unzr: "19900101-00012"}},
		&dms.OtgToDmsStatusRequest{RequestId: "id-1", ReceiptId: "DMS-R-1"},
		&eddr.SubmitResidenceChange{MessageId: "id-1", ChangeType: &change},
		&eddr.GetChangeStatus{MessageId: "id-1", Ticket: "T"},
		ClientFault("x"),
	} {
		b, err := MarshalEnvelope(&h, payload)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Envelope xmlns="` + NSEnvelope + `"><Body><a/><b/></Body></Envelope>`))
	f.Add([]byte(`<Envelope xmlns="` + NSEnvelope + `"><Header><id xmlns="` + xroad.NS + `">x</id></Header><Body>text</Body></Envelope>`))
	f.Add([]byte(``))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))

	pick := func(n xml.Name) any {
		switch n.Local {
		case "OtgToDmsRequest":
			return new(dms.OtgToDmsRequest)
		case "OtgToDmsStatusRequest":
			return new(dms.OtgToDmsStatusRequest)
		case "SubmitResidenceChange":
			return new(eddr.SubmitResidenceChange)
		case "GetChangeStatus":
			return new(eddr.GetChangeStatus)
		case "Fault":
			return new(Fault)
		}
		return nil
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := DecodeEnvelope(data, pick)
		if err == nil && env == nil {
			t.Fatal("nil envelope without error")
		}
		if err == nil && env.Header != nil {
			_ = env.Header.Headers().Elements()
		}
		_, _ = DecodeEnvelope(data, nil)
	})
}
