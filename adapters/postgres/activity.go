package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/reghub/reghub/ops"
)

// Activity counts delivery attempts since since, per bucket and destination:
// acknowledged ones (by the upstream or by an operator) and failed or
// rejected ones. Buckets start at since plus a whole number of buckets.
func (s *Store) Activity(ctx context.Context, since time.Time, bucket time.Duration) ([]ops.ActivityBucket, error) {
	if bucket <= 0 {
		return nil, fmt.Errorf("activity bucket must be positive, got %s", bucket)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT date_bin(make_interval(secs => $2::double precision), a.started_at, $1::timestamptz) AS b,
		       m.destination,
		       count(*) FILTER (WHERE a.outcome IN ('acknowledged', 'acknowledged_by_operator')),
		       count(*) FILTER (WHERE a.outcome IN ('error', 'rejected'))
		FROM delivery_attempts a
		JOIN outbox_messages m ON m.id = a.message_id
		WHERE a.started_at >= $1::timestamptz
		GROUP BY 1, 2
		ORDER BY 1, 2`, since, bucket.Seconds())
	if err != nil {
		return nil, fmt.Errorf("read activity: %w", err)
	}
	defer rows.Close()
	var out []ops.ActivityBucket
	for rows.Next() {
		var b ops.ActivityBucket
		if err := rows.Scan(&b.Start, &b.Destination, &b.Acknowledged, &b.Failed); err != nil {
			return nil, fmt.Errorf("scan activity: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
