package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
)

// Switches returns each destination's pause and circuit state.
func (s *Store) Switches(ctx context.Context) ([]outbox.Switches, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT name, paused, circuit_state, circuit_open_until,
		       circuit_state <> 'closed' AND NOT paused AND circuit_open_until <= now()
		           AND (probe_until IS NULL OR probe_until <= now())
		FROM destinations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read destination switches: %w", err)
	}
	defer rows.Close()
	var out []outbox.Switches
	for rows.Next() {
		var sw outbox.Switches
		var name string
		if err := rows.Scan(&name, &sw.Paused, &sw.Circuit, &sw.OpenUntil, &sw.ProbeDue); err != nil {
			return nil, fmt.Errorf("scan destination switches: %w", err)
		}
		sw.Destination = action.Destination(name)
		out = append(out, sw)
	}
	return out, rows.Err()
}

// OpenCircuit stops claims for dest for a cool-down that doubles with each
// consecutive opening, up to max. It reports whether this call opened it
// (another relay may have done so first).
func (s *Store) OpenCircuit(ctx context.Context, dest action.Destination, cooldown, max time.Duration, why string) (bool, error) {
	opened := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var until time.Time
		var count int
		err := tx.QueryRow(ctx, `
			INSERT INTO destinations AS d (name, circuit_state, circuit_opened_count, circuit_open_until)
			VALUES ($1, 'open', 1, now() + $2::interval)
			ON CONFLICT (name) DO UPDATE SET
				circuit_state = 'open',
				circuit_opened_count = d.circuit_opened_count + 1,
				circuit_open_until = now() + LEAST($2::interval * power(2, d.circuit_opened_count), $3::interval),
				probe_until = NULL,
				updated_at = now()
			WHERE d.circuit_state <> 'open'
			RETURNING circuit_open_until, circuit_opened_count`, string(dest), cooldown, max).Scan(&until, &count)
		if err == pgx.ErrNoRows {
			return nil
		}
		if err != nil {
			return fmt.Errorf("open circuit of %s: %w", dest, err)
		}
		opened = true
		details, _ := json.Marshal(map[string]any{"open_until": until, "consecutive_openings": count})
		return insertStep(ctx, tx, ops.Step{At: time.Now(), Actor: ops.System.ID, Role: ops.System.Role, Operation: ops.OpCircuitOpen,
			Target: "destination:" + string(dest), Reason: why, Details: details})
	})
	return opened, err
}

// CloseCircuit lets claims for dest flow again after a successful probe.
func (s *Store) CloseCircuit(ctx context.Context, dest action.Destination, why string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE destinations SET circuit_state = 'closed', circuit_opened_count = 0, circuit_open_until = NULL,
			       probe_until = NULL, updated_at = now()
			WHERE name = $1 AND circuit_state <> 'closed'`, string(dest))
		if err != nil {
			return fmt.Errorf("close circuit of %s: %w", dest, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return insertStep(ctx, tx, ops.Step{At: time.Now(), Actor: ops.System.ID, Role: ops.System.Role, Operation: ops.OpCircuitShut,
			Target: "destination:" + string(dest), Reason: why})
	})
}

// ClaimProbe takes the probe of a destination whose cool-down is over: it
// marks the circuit half-open (so no other relay probes meanwhile) and
// claims one due message. With nothing to send there is nothing to probe
// with, and the circuit closes.
func (s *Store) ClaimProbe(ctx context.Context, dest action.Destination, lease time.Duration, token uuid.UUID) ([]outbox.Message, error) {
	var msgs []outbox.Message
	closeIt := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE destinations SET circuit_state = 'half_open', probe_until = now() + $2::interval, updated_at = now()
			WHERE name = $1 AND NOT paused AND circuit_state <> 'closed' AND circuit_open_until <= now()
			  AND (probe_until IS NULL OR probe_until <= now())`, string(dest), lease)
		if err != nil {
			return fmt.Errorf("take probe of %s: %w", dest, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		msgs, err = s.claim(ctx, tx, 1, lease, token, string(dest))
		closeIt = err == nil && len(msgs) == 0
		return err
	})
	if err != nil {
		return nil, err
	}
	if closeIt {
		return nil, s.CloseCircuit(ctx, dest, "nothing due to probe with")
	}
	for i := range msgs {
		msgs[i].Probe = true
	}
	return msgs, nil
}
