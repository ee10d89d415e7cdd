package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/guard"
	"github.com/reghub/reghub/ops"
)

// The register's guards (001 §2.5.16–2.5.18): what they read of the read
// model, the injunctions operators keep, and the injunction check of the
// accept transaction.

var (
	_ guard.Store         = (*Store)(nil)
	_ ops.InjunctionStore = (*Store)(nil)
)

// blockedSQL selects the first injunction in force on $17 that covers one
// of the addresses $12–$16 (parallel arrays of guard.Key parts): the same
// decision as guard.Blocking. It is the first CTE of queueInsert's
// statement, so the action is refused by the statement that would store
// it, on that statement's snapshot.
const blockedSQL = `
			SELECT i.id, i.reference, i.court, i.decided_on
			FROM injunctions i
			JOIN unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::text[]) AS g(katottg, street, building, block, apartment)
			  ON i.katottg = g.katottg AND i.street_key = g.street AND i.building_key = g.building AND i.block_key = g.block
			 AND (i.apartment_key = '' OR i.apartment_key = g.apartment)
			WHERE i.lifted_at IS NULL AND i.valid_from <= $17::date AND (i.valid_until IS NULL OR i.valid_until >= $17::date)
			ORDER BY i.decided_on, i.id
			LIMIT 1`

// guardParams are the arguments $12–$18 of queueInsert's statement.
type guardParams struct {
	katottg, street, building, block, apartment []string
	on, warnings                                *string
}

func guardArgs(g action.Guarded) guardParams {
	n := len(g.Addresses)
	p := guardParams{
		katottg: make([]string, n), street: make([]string, n), building: make([]string, n),
		block: make([]string, n), apartment: make([]string, n),
	}
	for i, k := range g.Addresses {
		p.katottg[i], p.street[i], p.building[i], p.block[i], p.apartment[i] = k.KATOTTG, k.Street, k.Building, k.Block, k.Apartment
	}
	if g.On != "" {
		p.on = &g.On
	}
	if len(g.Warnings) > 0 {
		b, _ := json.Marshal(g.Warnings) // strings only: never fails
		w := string(b)
		p.warnings = &w
	}
	return p
}

// scanInsert reads the answer of queueInsert's statement: whether the
// action was stored, or the injunction that refused it.
func scanInsert(row pgx.Row) (created bool, blocked *action.InjunctionError, err error) {
	var id, ref, court, decided *string
	if err := row.Scan(&created, &id, &ref, &court, &decided); err != nil {
		return false, nil, err
	}
	if id != nil {
		blocked = &action.InjunctionError{ID: *id, Reference: deref(ref), Court: deref(court), DecidedOn: deref(decided)}
	}
	return created, blocked, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// existingOr answers an action an injunction refused: when the client used
// its idempotency key before, the action stored then (a resubmission is
// answered as ever, whatever happened to its address since); otherwise the
// refusal.
func (s *Store) existingOr(ctx context.Context, a action.NewAction, blocked *action.InjunctionError) (*action.Action, []byte, bool, error) {
	var id uuid.UUID
	var prevHash []byte
	err := s.pool.QueryRow(ctx, `SELECT id, body_hash FROM actions WHERE client_id = $1 AND idempotency_key = $2`,
		a.ClientID, a.IdempotencyKey).Scan(&id, &prevHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, false, blocked
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("find action by idempotency key: %w", err)
	}
	existing, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, false, err
	}
	return existing, prevHash, false, nil
}

func decodeWarnings(raw *string) ([]action.Warning, error) {
	if raw == nil {
		return nil, nil
	}
	var ws []action.Warning
	if err := json.Unmarshal([]byte(*raw), &ws); err != nil {
		return nil, fmt.Errorf("decode an action's warnings: %w", err)
	}
	return ws, nil
}

// PersonRegistration implements guard.Store on the read model.
func (s *Store) PersonRegistration(ctx context.Context, personKey string) (*action.Registration, error) {
	var rec string
	err := s.pool.QueryRow(ctx, `SELECT record::text FROM registrations WHERE person_key = $1`, personKey).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read registration: %w", err)
	}
	var r action.Registration
	if err := json.Unmarshal([]byte(rec), &r); err != nil {
		return nil, fmt.Errorf("decode registration: %w", err)
	}
	return &r, nil
}

// Residents implements guard.Store: who the read model has registered at
// addr now, compared as queries by address compare (Find), but the person
// except. At most 1,000.
func (s *Store) Residents(ctx context.Context, addr action.Address, except string) ([]guard.Resident, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT person_key, birth_date FROM registrations
		WHERE registered AND katottg = $1 AND lower(street) = lower($2) AND lower(building) = lower($3)
		  AND lower(coalesce(apartment, '')) = lower($4) AND person_key <> $5
		ORDER BY person_key LIMIT 1000`,
		strings.TrimSpace(addr.KATOTTG), strings.TrimSpace(addr.Street), strings.TrimSpace(addr.Building), strings.TrimSpace(addr.Apartment), except)
	if err != nil {
		return nil, fmt.Errorf("read residents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (guard.Resident, error) {
		var r guard.Resident
		err := row.Scan(&r.PersonKey, &r.BirthDate)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read residents: %w", err)
	}
	return out, nil
}

// ActionAddress implements guard.Store: the address a stored action names.
func (s *Store) ActionAddress(ctx context.Context, id uuid.UUID) (*action.Address, error) {
	var raw *string
	err := s.pool.QueryRow(ctx, `SELECT (body->'address')::text FROM actions WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (raw == nil || *raw == "null")) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read action address: %w", err)
	}
	var a action.Address
	if err := json.Unmarshal([]byte(*raw), &a); err != nil {
		return nil, fmt.Errorf("decode action address: %w", err)
	}
	return &a, nil
}

const injunctionColumns = `id, court, reference, decided_on::text, katottg, street, building, block, apartment,
	valid_from::text, valid_until::text, note, created_at, created_by, lifted_at, lifted_by, lift_reason,
	street_key, building_key, block_key, apartment_key`

func scanInjunction(row pgx.Row) (guard.Injunction, error) {
	var in guard.Injunction
	var until *string
	a := &in.Address
	m := &in.Matched
	err := row.Scan(&in.ID, &in.Court, &in.Reference, &in.DecidedOn, &a.KATOTTG, &a.Street, &a.Building, &a.Block, &a.Apartment,
		&in.ValidFrom, &until, &in.Note, &in.CreatedAt, &in.CreatedBy, &in.LiftedAt, &in.LiftedBy, &in.LiftReason,
		&m.Street, &m.Building, &m.Block, &m.Apartment)
	m.KATOTTG = a.KATOTTG
	in.ValidUntil = deref(until)
	return in, err
}

// renameInjunctions moves the match keys of the injunctions in force in a
// community on by a completed directory change (guard.RenameKey), in the
// transaction that completes it: an injunction on a street keeps covering
// it under its new name. The address as the court wrote it is kept. The
// updates are made at once, not queued, so that the next change of the
// same batch (a renumbering in the street just renamed) sees them.
func renameInjunctions(ctx context.Context, tx pgx.Tx, c action.AddressChange) error {
	rows, err := tx.Query(ctx, `
		SELECT id, katottg, street_key, building_key, block_key, apartment_key FROM injunctions
		WHERE katottg = $1 AND lifted_at IS NULL FOR UPDATE`, c.KATOTTG)
	if err != nil {
		return fmt.Errorf("injunctions under %s: %w", c.KATOTTG, err)
	}
	type renamed struct {
		id  uuid.UUID
		key action.AddressKey
	}
	var todo []renamed
	for rows.Next() {
		var r renamed
		k := &r.key
		if err := rows.Scan(&r.id, &k.KATOTTG, &k.Street, &k.Building, &k.Block, &k.Apartment); err != nil {
			rows.Close()
			return fmt.Errorf("injunctions under %s: %w", c.KATOTTG, err)
		}
		if n, ok := guard.RenameKey(c, r.key); ok {
			r.key = n
			todo = append(todo, r)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("injunctions under %s: %w", c.KATOTTG, err)
	}
	for _, r := range todo {
		// The same ruling already recorded under the new name keeps it; this
		// one stays on the old (injunctions_once allows one of each).
		if _, err := tx.Exec(ctx, `
			UPDATE injunctions i SET street_key = $2, building_key = $3, block_key = $4
			WHERE i.id = $1 AND NOT EXISTS (
				SELECT 1 FROM injunctions o
				WHERE o.id <> i.id AND o.lifted_at IS NULL AND o.reference = i.reference AND o.katottg = i.katottg
				  AND o.street_key = $2 AND o.building_key = $3 AND o.block_key = $4 AND o.apartment_key = i.apartment_key)`,
			r.id, r.key.Street, r.key.Building, r.key.Block); err != nil {
			return fmt.Errorf("rename injunction %s: %w", r.id, err)
		}
	}
	return nil
}

// AddInjunction implements ops.InjunctionStore.
func (s *Store) AddInjunction(ctx context.Context, st ops.Step, in guard.Injunction) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		k, a := guard.Key(in.Address), in.Address
		_, err := tx.Exec(ctx, `
			INSERT INTO injunctions (id, court, reference, decided_on, katottg, street, building, block, apartment,
			                         street_key, building_key, block_key, apartment_key, valid_from, valid_until, note, created_at, created_by)
			VALUES ($1, $2, $3, $4::date, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::date, NULLIF($15, '')::date, $16, $17, $18)`,
			in.ID, in.Court, in.Reference, in.DecidedOn, k.KATOTTG, a.Street, a.Building, a.Block, a.Apartment,
			k.Street, k.Building, k.Block, k.Apartment, in.ValidFrom, in.ValidUntil, in.Note, in.CreatedAt, in.CreatedBy)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation: injunctions_once
			return fmt.Errorf("%w: injunction %s is already recorded for this address and not lifted", ops.ErrConflict, in.Reference)
		}
		if err != nil {
			return fmt.Errorf("record injunction: %w", err)
		}
		return insertStep(ctx, tx, st)
	})
}

// LiftInjunction implements ops.InjunctionStore. The step's details name
// the injunction lifted, for the audit log.
func (s *Store) LiftInjunction(ctx context.Context, st ops.Step, id uuid.UUID) (*guard.Injunction, error) {
	var out guard.Injunction
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		in, err := scanInjunction(tx.QueryRow(ctx, `
			UPDATE injunctions SET lifted_at = $2, lifted_by = $3, lift_reason = $4
			WHERE id = $1 AND lifted_at IS NULL
			RETURNING `+injunctionColumns, id, st.At, st.Actor, st.Reason))
		if errors.Is(err, pgx.ErrNoRows) {
			var lifted *time.Time
			switch err := tx.QueryRow(ctx, `SELECT lifted_at FROM injunctions WHERE id = $1`, id).Scan(&lifted); {
			case errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("%w: injunction %s", ops.ErrNotFound, id)
			case err != nil:
				return fmt.Errorf("find injunction: %w", err)
			}
			return fmt.Errorf("%w: injunction %s was lifted at %s", ops.ErrConflict, id, lifted.UTC().Format(time.RFC3339))
		}
		if err != nil {
			return fmt.Errorf("lift injunction: %w", err)
		}
		if st.Details, err = json.Marshal(map[string]string{"court": in.Court, "reference": in.Reference}); err != nil {
			return fmt.Errorf("step details: %w", err)
		}
		out = in
		return insertStep(ctx, tx, st)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Injunctions implements ops.InjunctionStore.
func (s *Store) Injunctions(ctx context.Context, f ops.InjunctionFilter) ([]guard.Injunction, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+injunctionColumns+` FROM injunctions
		WHERE ($1 = '' OR katottg = $1) AND ($2 OR lifted_at IS NULL)
		ORDER BY created_at DESC, id DESC LIMIT $3`, f.KATOTTG, f.Lifted, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list injunctions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (guard.Injunction, error) { return scanInjunction(row) })
	if err != nil {
		return nil, fmt.Errorf("list injunctions: %w", err)
	}
	return out, nil
}
