package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/reghub/reghub/access"
	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/monthly"
)

// applyRegistrations moves the read model on by the actions that have just
// completed, in the transaction that completed them: a query never sees an
// action before the national systems confirmed it, and never misses one
// they confirmed. The persons' locks, which deriveStatus took, serialise it
// with other completions of the same persons.
func applyRegistrations(ctx context.Context, tx pgx.Tx, completed []uuid.UUID) error {
	if len(completed) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT a.id, a.person_key, a.body::text, r.record::text
		FROM actions a LEFT JOIN registrations r ON r.person_key = a.person_key
		WHERE a.id = ANY($1) AND a.kind NOT LIKE $2 ORDER BY a.seq`, completed, monthly.KindPrefix+"%")
	if err != nil {
		return fmt.Errorf("read registrations: %w", err)
	}
	type change struct {
		actionID uuid.UUID
		reg      action.Registration
	}
	var order []string
	byPerson := map[string]*change{}
	var dirChanges []dirChange
	for rows.Next() {
		var id uuid.UUID
		var person, body string
		var prev *string
		if err := rows.Scan(&id, &person, &body, &prev); err != nil {
			rows.Close()
			return fmt.Errorf("scan registration: %w", err)
		}
		c, ok := byPerson[person]
		if !ok {
			c = &change{}
			if prev != nil {
				if err := json.Unmarshal([]byte(*prev), &c.reg); err != nil {
					rows.Close()
					return fmt.Errorf("decode registration of an action's person: %w", err)
				}
			}
			byPerson[person] = c
			order = append(order, person)
		}
		var s action.Submission
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			rows.Close()
			return fmt.Errorf("decode action %s: %w", id, err)
		}
		if s.Kind == action.KindAddressChange {
			// Not a person's action: it rewrites the addresses of everyone
			// registered under the old name or number, below.
			delete(byPerson, person)
			order = slices.DeleteFunc(order, func(p string) bool { return p == person })
			if s.AddressChange != nil {
				dirChanges = append(dirChanges, dirChange{id, *s.AddressChange})
			}
			continue
		}
		// Two completions of one person in one batch apply in submission
		// order, the second on top of the first.
		c.reg.Apply(s)
		c.actionID = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read registrations: %w", err)
	}
	b := &pgx.Batch{}
	if err := rewriteAddresses(ctx, tx, dirChanges, b); err != nil {
		return err
	}
	for _, person := range order {
		c := byPerson[person]
		rec, err := json.Marshal(c.reg)
		if err != nil {
			return fmt.Errorf("encode registration: %w", err)
		}
		queueRegistration(b, person, c.reg, rec, c.actionID)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write registrations: %w", err)
	}
	return nil
}

// dirChange is a completed address-directory change.
type dirChange struct {
	actionID uuid.UUID
	change   action.AddressChange
}

// rewriteAddresses applies completed directory changes (renumbering,
// renaming; 002 §7.4) to the registrations whose current or previous
// address they cover, and to the match keys of the injunctions in force
// there, queueing the updates on b.
func rewriteAddresses(ctx context.Context, tx pgx.Tx, changes []dirChange, b *pgx.Batch) error {
	for _, dc := range changes {
		if err := renameInjunctions(ctx, tx, dc.change); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT person_key, record::text FROM registrations
			WHERE katottg = $1 OR record->'previous_address'->>'katottg' = $1
			FOR UPDATE`, dc.change.KATOTTG)
		if err != nil {
			return fmt.Errorf("registrations under %s: %w", dc.change.KATOTTG, err)
		}
		type hit struct {
			person string
			reg    action.Registration
		}
		var hits []hit
		for rows.Next() {
			var h hit
			var rec string
			if err := rows.Scan(&h.person, &rec); err != nil {
				rows.Close()
				return fmt.Errorf("registrations under %s: %w", dc.change.KATOTTG, err)
			}
			if err := json.Unmarshal([]byte(rec), &h.reg); err != nil {
				rows.Close()
				return fmt.Errorf("decode registration: %w", err)
			}
			hits = append(hits, h)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("registrations under %s: %w", dc.change.KATOTTG, err)
		}
		for _, h := range hits {
			if !h.reg.ApplyAddressChange(dc.change) {
				continue
			}
			rec, err := json.Marshal(h.reg)
			if err != nil {
				return fmt.Errorf("encode registration: %w", err)
			}
			queueRegistration(b, h.person, h.reg, rec, dc.actionID)
		}
	}
	return nil
}

// queueRegistration queues the upsert of one person's registration.
func queueRegistration(b *pgx.Batch, person string, reg action.Registration, rec []byte, actionID uuid.UUID) {
	p, a := reg.Person, reg.Address
	if a == nil {
		a = &action.Address{}
	}
	b.Queue(`
			INSERT INTO registrations (person_key, unzr, rnokpp, surname, given_names, birth_date,
			                           katottg, street, building, apartment, registered, record, action_id, updated_at)
			VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), $4, $5, $6, NULLIF($7, ''), $8, $9, NULLIF($10, ''), $11, $12, $13, now())
			ON CONFLICT (person_key) DO UPDATE SET
				unzr = EXCLUDED.unzr, rnokpp = EXCLUDED.rnokpp, surname = EXCLUDED.surname,
				given_names = EXCLUDED.given_names, birth_date = EXCLUDED.birth_date,
				katottg = EXCLUDED.katottg, street = EXCLUDED.street, building = EXCLUDED.building,
				apartment = EXCLUDED.apartment, registered = EXCLUDED.registered, record = EXCLUDED.record,
				action_id = EXCLUDED.action_id, updated_at = now()`,
		person, p.UNZR, p.RNOKPP, p.Surname, p.GivenNames, p.BirthDate,
		a.KATOTTG, a.Street, a.Building, a.Apartment, reg.Registered, string(rec), actionID)
}

// Find implements access.Finder on the read model: the local register's
// answer to a granted query.
func (s *Store) Find(ctx context.Context, r access.FindRequest) ([]access.Found, error) {
	search, param := r.Search, r.Param
	var rows pgx.Rows
	var err error
	const cols = `SELECT person_key, record::text FROM registrations `
	switch param {
	case access.ParamUNZR:
		rows, err = s.pool.Query(ctx, cols+`WHERE unzr = $1`, search.UNZR)
	case access.ParamRNOKPP:
		rows, err = s.pool.Query(ctx, cols+`WHERE rnokpp = $1`, search.RNOKPP)
	case access.ParamNameBirthDate:
		n := search.NameBirthDate
		rows, err = s.pool.Query(ctx, cols+`
			WHERE lower(surname) = lower($1) AND lower(given_names) = lower($2) AND birth_date = $3
			  AND ($4 = '' OR lower(record->'person'->>'patronymic') = lower($4))
			ORDER BY person_key LIMIT 100`, n.Surname, n.GivenNames, n.BirthDate, n.Patronymic)
	case access.ParamAddress:
		a := search.Address
		rows, err = s.pool.Query(ctx, cols+`
			WHERE registered AND katottg = $1 AND lower(street) = lower($2) AND lower(building) = lower($3)
			  AND lower(coalesce(apartment, '')) = lower($4)
			ORDER BY person_key LIMIT 1000`, a.KATOTTG, strings.TrimSpace(a.Street), strings.TrimSpace(a.Building), strings.TrimSpace(a.Apartment))
	default:
		return nil, fmt.Errorf("search the read model: unknown parameter set %q", param)
	}
	if err != nil {
		return nil, fmt.Errorf("search the read model: %w", err)
	}
	defer rows.Close()
	var out []access.Found
	for rows.Next() {
		var person, rec string
		if err := rows.Scan(&person, &rec); err != nil {
			return nil, fmt.Errorf("search the read model: %w", err)
		}
		var r action.Registration
		if err := json.Unmarshal([]byte(rec), &r); err != nil {
			return nil, fmt.Errorf("decode registration: %w", err)
		}
		out = append(out, access.Found{Person: person, Record: access.RecordOf(r)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search the read model: %w", err)
	}
	return out, nil
}
