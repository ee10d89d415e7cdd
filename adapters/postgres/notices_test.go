package postgres_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/notice"
	"github.com/reghub/reghub/outbox"
)

// recheckOf is a checked notice to re-check a, by its hub action id.
func recheckOf(t *testing.T, id string, a action.NewAction) notice.Notice {
	t.Helper()
	n, err := notice.Check(notice.Notice{
		NoticeID: id, Kind: notice.KindRecheckAction,
		Action: notice.Action{HubActionID: a.Reference, RegistrationBodyCode: "UA1204-RB001"},
		Reason: "порушення вимог Закону (синтетичне)", IssuedAt: time.Now().Add(-time.Minute).Format(time.RFC3339),
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (b bundle) addClient(t *testing.T, id string, role auth.Role) {
	t.Helper()
	if err := b.store.AddClient(b.ctx, auth.Client{ID: id, Name: id, Role: role}, auth.HashToken("tok-"+id)); err != nil {
		t.Fatalf("add client %s: %v", id, err)
	}
}

func (b bundle) receive(t *testing.T, m notice.Message) (notice.Received, bool) {
	t.Helper()
	r, dup, err := b.store.ReceiveNotice(b.ctx, m)
	if err != nil {
		t.Fatalf("receive notice %s under %s: %v", m.Notice.NoticeID, m.MessageID, err)
	}
	return r, dup
}

// noticeEvents reads client's feed from the start and returns its notice
// events, each with its notice decoded.
func (b bundle) noticeEvents(t *testing.T, client string) ([]action.Event, []notice.View) {
	t.Helper()
	evs, _, err := b.store.Events(b.ctx, client, "", 100)
	if err != nil {
		t.Fatalf("events of %q: %v", client, err)
	}
	var out []action.Event
	var views []notice.View
	for _, e := range evs {
		if e.Type != action.EventNotice {
			continue
		}
		var v notice.View
		if err := json.Unmarshal(e.Notice, &v); err != nil {
			t.Fatalf("notice of event %s: %v (%s)", e.Cursor, err, e.Notice)
		}
		out, views = append(out, e), append(views, v)
	}
	return out, views
}

func (b bundle) countNotices(t *testing.T) int {
	t.Helper()
	var n int
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM notices`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A notice is stored and relayed once, to the registry that submitted the
// action; sent again under the same X-Road id or the same notice id, it
// is a duplicate answered with the notice first stored, and not relayed
// again; either id reused for another notice is refused.
func TestReceiveNoticeStoresAndRelaysOnce(t *testing.T) {
	b := setup(t)
	b.addClient(t, "reg2", auth.RoleRegistry)
	a := newAction("unzr:N1", "n1")
	b.insert(t, a)
	n := recheckOf(t, "DMS-N-1", a)
	m := notice.Message{MessageID: "xroad-1", Sender: "SEVDEIR-TEST/GOV/00000001/DMS", UserID: "DMS-OFF-7", Notice: n}

	first, dup := b.receive(t, m)
	if dup || first.ActionID != a.ID || !reflect.DeepEqual(first.Recipients, []string{"reg"}) || first.ReceivedAt.IsZero() {
		t.Fatalf("first receipt: dup=%v %+v; want new, for action %s, relayed to reg", dup, first, a.ID)
	}
	evs, views := b.noticeEvents(t, "reg")
	if len(evs) != 1 || evs[0].ActionID != a.ID || !evs[0].At.Equal(first.ReceivedAt) {
		t.Fatalf("reg's notice events %+v; want one for action %s", evs, a.ID)
	}
	if v := views[0]; v.ID != first.ID || !reflect.DeepEqual(v.Notice, n) || !v.ReceivedAt.Equal(first.ReceivedAt) {
		t.Fatalf("relayed notice %+v; want %+v", v, n)
	}
	if evs, _ := b.noticeEvents(t, "reg2"); len(evs) != 0 {
		t.Fatalf("another registry sees %d notices of reg's action", len(evs))
	}

	again, dup := b.receive(t, m) // the same message resent
	if !dup || again.ID != first.ID || !again.ReceivedAt.Equal(first.ReceivedAt) {
		t.Fatalf("same X-Road id: dup=%v %+v; want the first receipt", dup, again)
	}
	m2 := m
	m2.MessageID = "xroad-2" // the same notice, in a new message
	again, dup = b.receive(t, m2)
	if !dup || again.ID != first.ID || again.MessageID != "xroad-1" {
		t.Fatalf("same notice id: dup=%v %+v; want the first receipt", dup, again)
	}
	if evs, _ := b.noticeEvents(t, "reg"); len(evs) != 1 {
		t.Fatalf("after duplicates reg has %d notice events, want 1", len(evs))
	}

	conflicts := map[string]notice.Message{
		"X-Road id reused for another notice": {MessageID: "xroad-1", Notice: recheckOf(t, "DMS-N-2", a)},
		"notice id reused with other content": func() notice.Message {
			c := m
			c.MessageID = "xroad-3"
			c.Notice.Reason = "інша причина"
			return c
		}(),
	}
	for name, c := range conflicts {
		if _, _, err := b.store.ReceiveNotice(b.ctx, c); !errors.Is(err, notice.ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
	}
	if got := b.countNotices(t); got != 1 {
		t.Fatalf("%d notices stored, want 1", got)
	}
	if evs, _ := b.noticeEvents(t, "reg"); len(evs) != 1 {
		t.Fatalf("after conflicts reg has %d notice events, want 1", len(evs))
	}
}

// An action named only by the migration service's record id is found by
// its delivery's upstream reference.
func TestReceiveNoticeFindsTheActionByItsRecordID(t *testing.T) {
	b := setup(t)
	a := newAction("unzr:N2", "n2")
	b.insert(t, a)
	for _, msg := range b.claim(t, 10) {
		if msg.Destination == action.DestMigrationService {
			if _, err := b.store.Complete(b.ctx, []outbox.Result{ack(msg)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ref string
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT upstream_ref FROM outbox_messages WHERE action_id = $1 AND destination = 'dms'`, a.ID).Scan(&ref); err != nil || ref == "" {
		t.Fatalf("record id: %q, %v", ref, err)
	}
	n := recheckOf(t, "DMS-N-3", a)
	n.Action.HubActionID, n.Action.UpstreamReference = "", ref
	got, _ := b.receive(t, notice.Message{MessageID: "xroad-3", Notice: n})
	if got.ActionID != a.ID || !reflect.DeepEqual(got.Recipients, []string{"reg"}) {
		t.Fatalf("received %+v; want action %s, relayed to reg", got, a.ID)
	}
}

// A notice whose action the hub does not know goes to every active
// registry client, each reading it once; operators see every copy. With
// no registry client left, operators still see it.
func TestReceiveNoticeOfAnUnknownActionGoesToEveryRegistry(t *testing.T) {
	b := setup(t)
	b.addClient(t, "reg2", auth.RoleRegistry)
	b.addClient(t, "reg3", auth.RoleRegistry)
	b.addClient(t, "op", auth.RoleOperator)
	if err := b.store.RevokeClient(b.ctx, "reg3"); err != nil {
		t.Fatal(err)
	}
	unknown := newAction("unzr:N3", "never stored")
	n := recheckOf(t, "DMS-N-4", unknown)
	got, _ := b.receive(t, notice.Message{MessageID: "xroad-4", Notice: n})
	if got.ActionID != uuid.Nil || !reflect.DeepEqual(got.Recipients, []string{"reg", "reg2"}) {
		t.Fatalf("received %+v; want no action, relayed to reg and reg2", got)
	}
	for _, c := range []string{"reg", "reg2"} {
		if evs, views := b.noticeEvents(t, c); len(evs) != 1 || views[0].ID != got.ID || evs[0].ActionID != uuid.Nil {
			t.Errorf("%s's notice events %+v", c, evs)
		}
	}
	if evs, _ := b.noticeEvents(t, "reg3"); len(evs) != 0 {
		t.Errorf("a revoked registry was relayed the notice")
	}
	if evs, _ := b.noticeEvents(t, ""); len(evs) != 2 {
		t.Errorf("operators see %d copies, want 2", len(evs))
	}

	for _, c := range []string{"reg", "reg2"} {
		if err := b.store.RevokeClient(b.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	n = recheckOf(t, "DMS-N-5", unknown)
	got, _ = b.receive(t, notice.Message{MessageID: "xroad-5", Notice: n})
	if len(got.Recipients) != 0 {
		t.Fatalf("recipients %v with no registry client", got.Recipients)
	}
	if evs, views := b.noticeEvents(t, ""); len(evs) != 3 || views[2].ID != got.ID {
		t.Fatalf("operators see %d notice events, want 3 ending with the last", len(evs))
	}
}

// The same notice arriving at once on several connections (replicas, or a
// resend racing the first) is stored and relayed once; every other
// receipt is a duplicate.
func TestReceiveNoticeConcurrentlyRelaysOnce(t *testing.T) {
	b := setup(t)
	a := newAction("unzr:N6", "n6")
	b.insert(t, a)
	n := recheckOf(t, "DMS-N-6", a)
	const par = 8
	type result struct {
		r   notice.Received
		dup bool
		err error
	}
	results := make(chan result, par)
	for i := range par {
		go func() {
			// Half under the same X-Road id, half under their own.
			m := notice.Message{MessageID: "xroad-6", Notice: n}
			if i%2 == 1 {
				m.MessageID = uuid.NewString()
			}
			r, dup, err := b.store.ReceiveNotice(b.ctx, m)
			results <- result{r, dup, err}
		}()
	}
	var fresh int
	ids := map[uuid.UUID]bool{}
	for range par {
		res := <-results
		if res.err != nil {
			t.Fatalf("receive: %v", res.err)
		}
		if !res.dup {
			fresh++
		}
		ids[res.r.ID] = true
	}
	if fresh != 1 || len(ids) != 1 {
		t.Fatalf("%d new receipts of %d notices; want 1 of 1", fresh, len(ids))
	}
	if evs, _ := b.noticeEvents(t, "reg"); len(evs) != 1 {
		t.Fatalf("%d notice events, want 1", len(evs))
	}
}
