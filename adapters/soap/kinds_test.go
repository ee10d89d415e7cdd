package soapclient_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/localregistry"
	sim "github.com/reghub/reghub/simulators/upstream"
)

// TestEveryKindThroughSimulators sends the synthetic registry's stream —
// every kind of action, in an order that makes sense per person — with the
// real Senders to both simulated upstreams, one message at a time as the
// relay's per-person order would, and expects every message acknowledged
// and applied once: the mapping of each kind carries what the simulators
// require, and the generator asks nothing their rules refuse.
func TestEveryKindThroughSimulators(t *testing.T) {
	s := startSims(t)
	senders := soapclient.NewSenders(soapclient.Config{DMSURL: s.dmsURL, EDDRURL: s.eddrURL, RegistrationBody: registrationBody}, nil)
	gen := localregistry.NewGenerator(11, time.Now())
	const n = 600
	kinds := map[action.Kind]int{}
	for i := range n {
		body := gen.NextJSON()
		sub, err := action.Parse(body, time.Now())
		if err != nil {
			t.Fatalf("generated submission %d rejected by the hub: %v", i, err)
		}
		kinds[sub.Kind]++
		spec, _ := action.Spec(sub.Kind)
		for _, dest := range spec.Destinations {
			m := outbox.Message{
				ID: uuid.New(), ActionID: uuid.New(), ActionRef: "RH-" + uuid.NewString(), Destination: dest,
				Kind: sub.Kind, Body: body, Stage: outbox.StageSend, Attempt: 1, CreatedAt: time.Now(),
			}
			r, err := senders[dest].Send(t.Context(), m)
			if err != nil || r.Kind != outbox.ReplyAcknowledged || r.Reference == "" {
				raw, _ := json.Marshal(sub)
				t.Fatalf("action %d (%s) to %s: %+v, %v\n%s", i, sub.Kind, dest, r, err, raw)
			}
		}
	}
	for _, k := range action.Kinds() {
		if kinds[k] == 0 {
			t.Errorf("no %s in the stream of %d", k, n)
		}
	}
	for _, base := range []string{s.base(access.SourceDMS), s.base(access.SourceEDDR)} {
		in, err := sim.Inspect(t.Context(), base)
		if err != nil {
			t.Fatal(err)
		}
		if in.AppliedCount != n || in.RejectedCount != 0 || in.Duplicates != 0 {
			t.Fatalf("%s: applied %d, rejected %d %+v, duplicates %d; want %d applied", in.Service, in.AppliedCount,
				in.RejectedCount, in.Rejected, in.Duplicates, n)
		}
		applied := map[sim.Kind]int{}
		for _, a := range in.Applied {
			applied[a.Kind]++
		}
		for _, k := range []sim.Kind{sim.KindExclude, sim.KindStayRegister, sim.KindChange, sim.KindCorrect,
			sim.KindDeregisterDeath, sim.KindAddressChange} {
			if applied[k] == 0 {
				t.Errorf("%s applied no %s: %v", in.Service, k, applied)
			}
		}
		if len(in.Addresses) == 0 {
			t.Errorf("%s recorded no address change", in.Service)
		}
		states := map[string]bool{}
		for _, p := range in.Persons {
			states[p.State] = true
		}
		for _, st := range []string{sim.StateExcluded, sim.StateDeceased} {
			if !states[st] {
				t.Errorf("%s: no person %s (states %v)", in.Service, st, slices.Sorted(maps.Keys(states)))
			}
		}
	}
}
