package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/reghub/reghub/monthly"
)

// demoRecipients shows where the load went: the deliveries per recipient
// the routing rules chose, and the month's sets to the voter register and
// statistics, which the scheduler built at start (they are waited for a
// little, as their simulators inject faults).
func demoRecipients(ctx context.Context, h *hub) error {
	rows, err := h.pool.Query(ctx, `
		SELECT m.destination, m.state, count(*) FROM outbox_messages m JOIN actions a ON a.id = m.action_id
		WHERE a.client_id <> $1 GROUP BY 1, 2 ORDER BY 1, 2`, monthly.SystemClient)
	if err != nil {
		return fmt.Errorf("demo recipients: %w", err)
	}
	byDest := map[string][]string{}
	var order []string
	for rows.Next() {
		var dest, state string
		var n int
		if err := rows.Scan(&dest, &state, &n); err != nil {
			rows.Close()
			return fmt.Errorf("demo recipients: %w", err)
		}
		if byDest[dest] == nil {
			order = append(order, dest)
		}
		byDest[dest] = append(byDest[dest], fmt.Sprintf("%s %d", state, n))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("demo recipients: %w", err)
	}
	fmt.Println("\ndeliveries per recipient (routing rules):")
	for _, d := range order {
		fmt.Printf("  %-14s %s\n", d, strings.Join(byDest[d], ", "))
	}

	fmt.Println("monthly sets (built once per month, exactly once across replicas):")
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows, err := h.pool.Query(ctx, `SELECT idempotency_key, status, octet_length(body::text) FROM actions WHERE client_id = $1 ORDER BY idempotency_key`, monthly.SystemClient)
		if err != nil {
			return fmt.Errorf("demo monthly sets: %w", err)
		}
		var lines []string
		pending := false
		for rows.Next() {
			var key, status string
			var size int
			if err := rows.Scan(&key, &status, &size); err != nil {
				rows.Close()
				return fmt.Errorf("demo monthly sets: %w", err)
			}
			pending = pending || status == "pending"
			lines = append(lines, fmt.Sprintf("  %-26s %s (%d bytes)", key, status, size))
		}
		rows.Close()
		if (len(lines) > 0 && !pending) || time.Now().After(deadline) {
			if len(lines) == 0 {
				lines = []string{"  none yet (they wait --monthly-grace after a month's first midnight; --monthly-every 0 turns them off)"}
			}
			fmt.Println(strings.Join(lines, "\n"))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
