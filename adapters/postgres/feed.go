package postgres

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// Events reads status changes and notices (notices.go) after the cursor
// from the lifecycle topic's table, in the order a watermill subscriber
// reads them: by transaction, and only from transactions older than every
// one still running, so an event committed late is never skipped by a
// reader that moved on. clientID "" reads every client's. A notice event's
// notice is read from the notices table after the page.
func (s *Store) Events(ctx context.Context, clientID, after string, limit int) ([]action.Event, string, error) {
	var xid uint64
	var off int64
	if after != "" {
		var err error
		if xid, off, err = decodeFeedCursor(after); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT transaction_id::text::numeric::bigint, "offset", payload::text
		FROM watermill_action_lifecycle
		WHERE (transaction_id, "offset") > ($1::text::xid8, $2)
		  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		  AND ($3 = '' OR payload->>'client_id' = $3)
		ORDER BY transaction_id, "offset"
		LIMIT $4`, fmt.Sprint(xid), off, clientID, limit)
	if err != nil {
		return nil, "", fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []action.Event
	var notices []uuid.UUID // the notices of the notice events, in order
	next := after
	for rows.Next() {
		var x, o int64
		var payload string
		if err := rows.Scan(&x, &o, &payload); err != nil {
			return nil, "", fmt.Errorf("scan event: %w", err)
		}
		// A status change (LifecycleEvent), or a notice (noticeEvent).
		var e struct {
			LifecycleEvent
			Type     string    `json:"type"`
			NoticeID uuid.UUID `json:"notice_id"`
		}
		if err := json.Unmarshal([]byte(payload), &e); err != nil {
			return nil, "", fmt.Errorf("decode event: %w", err)
		}
		next = encodeFeedCursor(uint64(x), o)
		if e.Type == noticeEventType {
			notices = append(notices, e.NoticeID)
			out = append(out, action.Event{Cursor: next, Type: action.EventNotice, ActionID: e.ActionID, At: e.At})
			continue
		}
		out = append(out, action.Event{Cursor: next, Type: action.EventStatus, ActionID: e.ActionID, Status: e.Status, Kind: e.Kind, Reason: e.Reason, At: e.At})
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("read events: %w", err)
	}
	rows.Close()
	if len(notices) > 0 {
		views, err := s.noticeViews(ctx, notices)
		if err != nil {
			return nil, "", err
		}
		i := 0
		for k := range out {
			if out[k].Type != action.EventNotice {
				continue
			}
			id := notices[i]
			i++
			if out[k].Notice = views[id]; out[k].Notice == nil {
				// Notices are never deleted; should one be missing, its
				// event still says which it was.
				out[k].Notice, _ = json.Marshal(map[string]string{"id": id.String()})
			}
		}
	}
	return out, next, nil
}

func encodeFeedCursor(xid uint64, off int64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], xid)
	binary.BigEndian.PutUint64(b[8:], uint64(off))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeFeedCursor(c string) (uint64, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 16 {
		return 0, 0, fmt.Errorf("%w: %.64q", action.ErrBadCursor, c)
	}
	xid, off := binary.BigEndian.Uint64(b[:8]), int64(binary.BigEndian.Uint64(b[8:]))
	if encodeFeedCursor(xid, off) != c || xid > 1<<62 {
		return 0, 0, fmt.Errorf("%w: %.64q", action.ErrBadCursor, c)
	}
	return xid, off, nil
}
