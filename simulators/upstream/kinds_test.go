package upstream

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/simulators/localregistry"
)

// engineKind is how tests name the engine's kind of a hub action: the hub's
// kind without "residence." (test/faults replays decisions this way).
func engineKind(k action.Kind) Kind { return Kind(strings.TrimPrefix(string(k), "residence.")) }

func TestEveryHubKindIsKnown(t *testing.T) {
	for _, k := range action.Kinds() {
		if !knownKinds[engineKind(k)] {
			t.Errorf("hub kind %s is no engine kind (%q)", k, engineKind(k))
		}
	}
	for _, k := range action.CancellableKinds() {
		if !Cancellable(engineKind(k)) {
			t.Errorf("hub kind %s is cancellable, engine kind %q is not", k, engineKind(k))
		}
	}
	if len(knownKinds) != len(action.Kinds()) {
		t.Errorf("the engine knows %d kinds, the hub %d", len(knownKinds), len(action.Kinds()))
	}
}

// TestDecisionsNeedOnlyKindsAndKeys replays the synthetic registry's stream
// as a test replays an upstream's decisions: kind, cancelled kind and
// person key only, no addresses or person data. The engine must apply every
// action, as it does when it sees them in full (adapters/soap's
// TestEveryKindThroughSimulators): its rules look at the state, never at
// the message's data.
func TestDecisionsNeedOnlyKindsAndKeys(t *testing.T) {
	e := NewEngine("replay", Config{}, nil)
	gen := localregistry.NewGenerator(3, time.Now())
	render := func(Ack) ([]byte, error) { return nil, nil }
	for i := range 5000 {
		s := gen.Next()
		key := s.Person.UNZR
		if key == "" {
			key = s.Person.RNOKPP
		}
		m := Message{ID: fmt.Sprintf("m-%d", i), PersonKey: key, Kind: engineKind(s.Kind)}
		if s.Cancellation != nil {
			m.CancelOf = engineKind(s.Cancellation.Of)
		}
		r, err := e.Submit(m, render)
		if err != nil {
			t.Fatal(err)
		}
		if r.Ack.Status != AckApplied {
			t.Fatalf("action %d (%s of %q) %s %s: %s", i, s.Kind, key, r.Ack.Status, r.Ack.ReasonCode, r.Ack.ReasonText)
		}
	}
}
