package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	wsdl "github.com/reghub/reghub/schemas/notice"
	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

// The hub's registration body, as hubtest starts it (serve's default).
const hubBodyCode = "UA1204-RB001"

type feedEvent struct {
	Cursor   string          `json:"cursor"`
	Type     string          `json:"type"`
	ActionID string          `json:"action_id"`
	Status   string          `json:"status"`
	Notice   json.RawMessage `json:"notice"`
}

type feedNotice struct {
	ID       string `json:"id"`
	NoticeID string `json:"notice_id"`
	Kind     string `json:"kind"`
	Action   struct {
		HubActionID       string `json:"hub_action_id"`
		UpstreamReference string `json:"upstream_reference"`
	} `json:"action"`
	Person struct {
		UNZR   string `json:"unzr"`
		RNOKPP string `json:"rnokpp"`
	} `json:"person"`
	Document *struct {
		Type, Number string
	} `json:"document"`
	Reason     string    `json:"reason"`
	ReceivedAt time.Time `json:"received_at"`
}

// TestMigrationServiceNoticesReachTheRegistryOnce runs the real binary:
// the registry's action completes at the simulated migration service,
// which then sends notices over HTTP — to re-check that action (§7.7), to
// cancel records made on a document it declared invalid (§7.8) — each
// twice; the registry reads each notice once from GET /v1/events (a long
// poll wakes for it), in the shape the contract gives; an invalid notice
// is refused and never relayed.
func TestMigrationServiceNoticesReachTheRegistryOnce(t *testing.T) {
	e := hubtest.NewEnv(t, hubtest.Opts{})
	ctx := context.Background()
	store := postgres.New(e.Pool)
	// The migration service's client: its X-Road member code, role authority.
	dmsToken, err := auth.Register(ctx, store, dmssim.NoticeClient.MemberCode, "Міграційна служба (вигадана)", auth.RoleAuthority)
	if err != nil {
		t.Fatal(err)
	}
	otherRegistry, err := auth.Register(ctx, store, "registry-2", "Another local registry", auth.RoleRegistry)
	if err != nil {
		t.Fatal(err)
	}
	target := dmssim.NoticeTarget{URL: e.Hub.Base + "/soap/notices", Token: dmsToken, UserID: "DMS-OFF-0007"}

	// A registration completes upstream.
	gen := localregistry.NewGenerator(11, time.Now())
	var sub action.Submission
	for sub = gen.Next(); sub.Kind != action.KindRegister || sub.Person.UNZR == ""; sub = gen.Next() {
	}
	body, _ := json.Marshal(sub)
	a := e.Submit(body)
	if got := e.WaitResolved([]string{a.ID}, 30*time.Second)[a.ID]; got.Status != "completed" {
		t.Fatalf("registration %s: %s", got.Status, got.StatusReason)
	}
	var applied upstream.AppliedEntry
	for _, x := range e.Inspect(e.DMS).Applied {
		if x.Reference == a.Reference {
			applied = x
		}
	}
	if applied.RecordID == "" {
		t.Fatalf("the migration service did not apply %s", a.Reference)
	}

	// The registry waits on its feed, past its action's status change.
	events, cursor := readFeed(t, e, e.Token, "", 0)
	if len(events) != 1 || events[0].Type != "status" || events[0].ActionID != a.ID {
		t.Fatalf("feed before notices: %+v", events)
	}
	woken := make(chan []feedEvent, 1)
	go func() {
		evs, _ := readFeed(t, e, e.Token, cursor, 20*time.Second)
		woken <- evs
	}()
	time.Sleep(200 * time.Millisecond) // the long poll is waiting

	// §7.7: re-check the registration; sent twice, under one X-Road id,
	// then under another.
	recheck := dmssim.NoticeOf(wsdl.NoticeKindRecheck_action, applied, hubBodyCode, time.Now().Add(-time.Minute))
	msgID := uuid.NewString()
	first := send(t, target, msgID, recheck)
	if first.Duplicate {
		t.Fatalf("first notice acknowledged as a duplicate")
	}
	for _, id := range []string{msgID, ""} {
		if ack := send(t, target, id, recheck); !ack.Duplicate || !ack.ReceivedAt.ToGoTime().Equal(first.ReceivedAt.ToGoTime()) {
			t.Fatalf("resent notice: %+v; want a duplicate of the first receipt", ack)
		}
	}
	select {
	case evs := <-woken:
		if len(evs) != 1 || evs[0].Type != "notice" {
			t.Fatalf("the long poll woke with %+v; want the notice", evs)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("the long poll did not wake for the notice")
	}

	// §7.8: records made on a document declared invalid; the hub does not
	// know the action it names, so every registry hears of it.
	unknown := applied
	unknown.Reference, unknown.RecordID = "RH-"+uuid.NewString(), "DMS-99999999"
	cancel := dmssim.NoticeOf(wsdl.NoticeKindCancel_invalid_document, unknown, hubBodyCode, time.Now().Add(-time.Minute))
	send(t, target, "", cancel)
	send(t, target, "", cancel)

	// An invalid notice is refused, and never relayed.
	bad := dmssim.NoticeOf(wsdl.NoticeKindCancel_annulled_civil_record, applied, hubBodyCode, time.Now())
	bad.CivilRecord.Office = ""
	var fault *dmssim.NoticeFault
	if _, err := dmssim.SendNotice(ctx, target, "", bad); !errors.As(err, &fault) || fault.Reason != "invalid_notice" || fault.Server() {
		t.Fatalf("invalid notice: %v, want an invalid_notice Client fault", err)
	}
	// Only the migration service sends notices.
	wrong := target
	wrong.Token = e.Token
	if _, err := dmssim.SendNotice(ctx, wrong, "", recheck); !errors.As(err, &fault) || fault.Reason != "not_authorised" {
		t.Fatalf("a registry sending a notice: %v, want not_authorised", err)
	}

	// The registry reads each notice once, its action's with the action id.
	events, _ = readFeed(t, e, e.Token, cursor, 0)
	notices := noticesOf(t, events)
	if len(notices) != 2 {
		t.Fatalf("the registry read %d notices, want 2: %+v", len(notices), events)
	}
	n := notices[0]
	if events[0].ActionID != a.ID || n.NoticeID != recheck.NoticeId || n.Kind != "recheck_action" ||
		n.Action.HubActionID != a.ID || n.Action.UpstreamReference != applied.RecordID || n.Person.UNZR != sub.Person.UNZR ||
		!n.ReceivedAt.Equal(first.ReceivedAt.ToGoTime()) {
		t.Fatalf("recheck notice %+v (event %+v)", n, events[0])
	}
	if n := notices[1]; events[1].ActionID != "" || n.NoticeID != cancel.NoticeId || n.Kind != "cancel_invalid_document" || n.Document == nil {
		t.Fatalf("cancel notice %+v (event %+v)", n, events[1])
	}
	// The other registry hears only of the notice about an unknown action.
	others, _ := readFeed(t, e, otherRegistry, "", 0)
	if got := noticesOf(t, others); len(got) != 1 || got[0].NoticeID != cancel.NoticeId {
		t.Fatalf("the other registry read %+v; want only the cancellation", got)
	}
}

func send(t *testing.T, target dmssim.NoticeTarget, messageID string, n *wsdl.Notice) *wsdl.NoticeAck {
	t.Helper()
	ack, err := dmssim.SendNotice(context.Background(), target, messageID, n)
	if err != nil {
		t.Fatalf("send notice %s: %v", n.NoticeId, err)
	}
	if ack.NoticeId != n.NoticeId {
		t.Fatalf("acknowledged %s, sent %s", ack.NoticeId, n.NoticeId)
	}
	return ack
}

// readFeed reads GET /v1/events after cursor as token's client (a long
// poll when wait > 0), checks the page against the contract, and returns
// its events and next cursor.
func readFeed(t *testing.T, e *hubtest.Env, token, cursor string, wait time.Duration) ([]feedEvent, string) {
	path := fmt.Sprintf("/v1/events?after=%s&wait=%s", cursor, wait)
	req, err := http.NewRequest(http.MethodGet, e.Hub.Base+path, nil)
	if err != nil {
		t.Error(err)
		return nil, cursor
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return nil, cursor
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: HTTP %d, %v", path, resp.StatusCode, err)
		return nil, cursor
	}
	checkContract(t, "EventPage", raw)
	var page struct {
		Items      []feedEvent `json:"items"`
		NextCursor string      `json:"next_cursor"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Errorf("decode events: %v", err)
	}
	return page.Items, page.NextCursor
}

// checkContract validates a JSON answer against a schema of
// schemas/openapi.yaml.
func checkContract(t *testing.T, schema string, raw []byte) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../schemas/openapi.yaml")
	if err == nil {
		err = doc.Validate(context.Background())
	}
	if err != nil {
		t.Errorf("openapi.yaml: %v", err)
		return
	}
	ref, ok := doc.Components.Schemas[schema]
	if !ok {
		t.Errorf("openapi.yaml has no schema %s", schema)
		return
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Errorf("decode: %v", err)
		return
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		t.Errorf("the answer does not match %s: %v\n%s", schema, err, raw)
	}
}

func noticesOf(t *testing.T, events []feedEvent) []feedNotice {
	t.Helper()
	var out []feedNotice
	for _, ev := range events {
		if ev.Type != "notice" {
			continue
		}
		var n feedNotice
		if err := json.Unmarshal(ev.Notice, &n); err != nil {
			t.Fatalf("notice of event %s: %v", ev.Cursor, err)
		}
		out = append(out, n)
	}
	return out
}
