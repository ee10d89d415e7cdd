package postgres_test

import (
	"fmt"
	"sync"
	"testing"
)

// TestGroupAcceptsKeepQueuesAndKeys stores concurrent accepts — several per
// person, some resubmitting a key — with and without group commit, and
// checks what every accept must leave: one row per key, every message
// queued, exactly one ready head per (destination, person), the head being
// the earliest, and resubmissions answered with the stored action.
func TestGroupAcceptsKeepQueuesAndKeys(t *testing.T) {
	for _, tc := range []struct {
		name              string
		batch, committers int
		wantShared        bool // some transaction must have stored several actions
	}{
		{"one transaction each", 1, 0, false},
		{"group commit, one committer", 64, 1, true},
		{"group commit, four committers", 64, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			b.store.GroupAccepts(tc.batch, tc.committers)
			const persons, perPerson = 8, 25
			var wg sync.WaitGroup
			type outcome struct {
				key     string
				created bool
				err     error
			}
			out := make(chan outcome, persons*perPerson*2)
			for p := range persons {
				for i := range perPerson {
					key := fmt.Sprintf("p%d-a%d", p, i)
					// Every fifth key is sent twice at once.
					copies := 1
					if i%5 == 0 {
						copies = 2
					}
					for range copies {
						wg.Add(1)
						go func() {
							defer wg.Done()
							_, _, created, err := b.store.Insert(b.ctx, newAction(fmt.Sprintf("unzr:%d", p), key))
							out <- outcome{key, created, err}
						}()
					}
				}
			}
			wg.Wait()
			close(out)
			createdByKey := map[string]int{}
			for o := range out {
				if o.err != nil {
					t.Fatalf("insert %s: %v", o.key, o.err)
				}
				if o.created {
					createdByKey[o.key]++
				}
			}
			if len(createdByKey) != persons*perPerson {
				t.Errorf("%d keys created, want %d", len(createdByKey), persons*perPerson)
			}
			for k, n := range createdByKey {
				if n != 1 {
					t.Errorf("key %s created %d times", k, n)
				}
			}

			pool := b.store.Pool()
			var actions, msgs, txs int
			if err := pool.QueryRow(b.ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM actions`).Scan(&actions, &txs); err != nil {
				t.Fatal(err)
			}
			if err := pool.QueryRow(b.ctx, `SELECT count(*) FROM outbox_messages`).Scan(&msgs); err != nil {
				t.Fatal(err)
			}
			if actions != persons*perPerson || msgs != 2*actions {
				t.Errorf("%d actions and %d messages stored, want %d and %d", actions, msgs, persons*perPerson, 2*persons*perPerson)
			}
			if tc.batch <= 1 && txs != actions {
				t.Errorf("without group commit %d actions were stored by %d transactions", actions, txs)
			}
			if tc.wantShared && txs >= actions {
				t.Errorf("with one committer under %d concurrent accepts, every action had its own transaction", actions)
			}
			t.Logf("%d actions stored by %d transactions", actions, txs)

			rows, err := pool.Query(b.ctx, `
				SELECT destination, person_key,
				       count(*) FILTER (WHERE ready),
				       bool_and(ready = (seq = first))
				FROM (SELECT *, min(seq) OVER (PARTITION BY destination, person_key) AS first FROM outbox_messages) m
				GROUP BY destination, person_key`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			queues := 0
			for rows.Next() {
				var dest, person string
				var ready int
				var headFirst bool
				if err := rows.Scan(&dest, &person, &ready, &headFirst); err != nil {
					t.Fatal(err)
				}
				queues++
				if ready != 1 || !headFirst {
					t.Errorf("queue %s/%s: %d ready messages, head is the earliest: %v", dest, person, ready, headFirst)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if queues != 2*persons {
				t.Errorf("%d queues, want %d", queues, 2*persons)
			}
		})
	}
}

// TestGroupAcceptIsolatesAFailingAction: an action the database refuses
// fails alone; the others that shared its transaction are stored.
func TestGroupAcceptIsolatesAFailingAction(t *testing.T) {
	b := setup(t)
	b.store.GroupAccepts(64, 1)
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	created := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newAction(fmt.Sprintf("unzr:%d", i%4), fmt.Sprintf("k%d", i))
			if i == n/2 {
				a.Body = []byte(`not json`) // the body column is json
			}
			_, _, created[i], errs[i] = b.store.Insert(b.ctx, a)
		}()
	}
	wg.Wait()
	for i := range n {
		if i == n/2 {
			if errs[i] == nil {
				t.Errorf("the action with a body that is not JSON was stored")
			}
			continue
		}
		if errs[i] != nil || !created[i] {
			t.Errorf("action %d: created=%v err=%v", i, created[i], errs[i])
		}
	}
	var stored int
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM actions`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != n-1 {
		t.Errorf("%d actions stored, want %d", stored, n-1)
	}
}
