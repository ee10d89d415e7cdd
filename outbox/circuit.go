package outbox

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/action"
)

var (
	circuitState = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reghub_destination_circuit_state",
		Help: "Circuit breaker of a destination: 0 closed, 1 half-open (probing), 2 open.",
	}, []string{"destination"})
	destinationPaused = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reghub_destination_paused",
		Help: "1 while an operator has paused the destination.",
	}, []string{"destination"})
)

// breaker counts consecutive transient failures per destination; past the
// threshold it opens the destination's circuit (in the database, so every
// relay honours it). Deliveries then wait instead of spending their attempts
// against an upstream that is down; after the cool-down one probe decides.
type breaker struct {
	mu    sync.Mutex
	fails map[action.Destination]int
}

// unhealthy reports whether a failure says the upstream itself is unwell,
// as opposed to something wrong with one message.
func unhealthy(class ErrorClass) bool {
	switch class {
	case ClassTransport, ClassTimeout, ClassHTTP5xx, ClassSOAPServerFault:
		return true
	}
	return false
}

// observe feeds one exchange's outcome to the breaker.
func (r *Relay) observe(m Message, err error) {
	if r.cfg.CircuitThreshold <= 0 {
		return
	}
	class, _ := Classify(err)
	failed := err != nil && unhealthy(class)
	r.breaker.mu.Lock()
	if failed {
		r.breaker.fails[m.Destination]++
	} else {
		r.breaker.fails[m.Destination] = 0
	}
	trip := failed && (m.Probe || r.breaker.fails[m.Destination] >= r.cfg.CircuitThreshold)
	if trip {
		r.breaker.fails[m.Destination] = 0
	}
	r.breaker.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch {
	case trip:
		why := fmt.Sprintf("%d consecutive failures, last %s", r.cfg.CircuitThreshold, class)
		if m.Probe {
			why = "probe failed: " + string(class)
		}
		opened, oerr := r.store.OpenCircuit(ctx, m.Destination, r.cfg.CircuitCooldown, r.cfg.CircuitMaxCooldown, why)
		if oerr != nil {
			r.log.Error("open circuit", "destination", m.Destination, "err", oerr)
		} else if opened {
			r.log.Warn("circuit opened: deliveries to the destination wait", "destination", m.Destination, "reason", why)
		}
	case m.Probe && err == nil:
		if cerr := r.store.CloseCircuit(ctx, m.Destination, "probe succeeded"); cerr != nil {
			r.log.Error("close circuit", "destination", m.Destination, "err", cerr)
		} else {
			r.log.Info("circuit closed: destination answers again", "destination", m.Destination)
		}
	}
}

// probe reads the switches and, for each destination whose cool-down is
// over, claims one message to test it with. It returns the claimed probes.
func (r *Relay) probe(ctx context.Context, token uuid.UUID) []Message {
	sws, err := r.store.Switches(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("read destination switches", "err", err)
		}
		return nil
	}
	var out []Message
	for _, sw := range sws {
		state := 0.0
		switch sw.Circuit {
		case "half_open":
			state = 1
		case "open":
			state = 2
		}
		circuitState.WithLabelValues(string(sw.Destination)).Set(state)
		paused := 0.0
		if sw.Paused {
			paused = 1
		}
		destinationPaused.WithLabelValues(string(sw.Destination)).Set(paused)
		if !sw.ProbeDue {
			continue
		}
		msgs, err := r.store.ClaimProbe(ctx, sw.Destination, r.cfg.lease(), token)
		if err != nil {
			r.log.Error("claim probe", "destination", sw.Destination, "err", err)
			continue
		}
		out = append(out, msgs...)
	}
	return out
}
