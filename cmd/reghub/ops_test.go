package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/httpapi"
	"github.com/reghub/reghub/adapters/postgres"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/test/pgtest"
)

// opsCLI is the API over a real database, and `reghub ops` pointed at it.
type opsCLI struct {
	url, operator, auditor string
}

// run runs `reghub ops args...` with an operator's token unless args name
// one, feeding stdin; it returns stdout, stderr and the error.
func (c opsCLI) run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	args = append(args, "--url", c.url)
	if !strings.Contains(strings.Join(args, " "), "--token") {
		args = append(args, "--token", c.operator)
	}
	var stdout, stderr bytes.Buffer
	err := runOpsTo(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// newOpsCLI serves the API and leaves two actions whose dms deliveries
// died on a timeout (their eddr deliveries were acknowledged).
func newOpsCLI(t *testing.T) (opsCLI, []action.Delivery) {
	t.Helper()
	store := postgres.New(pgtest.Pool(t))
	ctx := t.Context()
	var c opsCLI
	var err error
	if c.operator, err = auth.Register(ctx, store, "op-1", "operator one", auth.RoleOperator); err != nil {
		t.Fatal(err)
	}
	if c.auditor, err = auth.Register(ctx, store, "aud-1", "auditor one", auth.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	if _, err = auth.Register(ctx, store, "reg", "registry", auth.RoleRegistry); err != nil {
		t.Fatal(err)
	}
	actions := action.NewService(store, nil, nil)
	senders := soapclient.NewSenders(soapclient.Config{
		DMSURL: "http://127.0.0.1:1", EDDRURL: "http://127.0.0.1:1", RegistrationBody: mapping.RegistrationBody{Code: "X"},
	}, nil)
	srv := httptest.NewServer(httpapi.Handler(httpapi.Deps{
		Actions: actions, Ops: ops.NewService(store, ops.RenderWith(senders), nil), Clients: store,
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL

	gen := localregistry.NewGenerator(3, time.Now())
	for i := range 2 {
		if _, _, err := actions.Submit(ctx, "reg", "k"+string(rune('a'+i)), gen.NextJSON()); err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	msgs, err := store.Claim(ctx, 10, time.Minute, uuid.New())
	if err != nil || len(msgs) != 4 {
		t.Fatalf("claimed %d messages (err %v), want 4", len(msgs), err)
	}
	var results []outbox.Result
	for _, m := range msgs {
		r := outbox.Result{
			MessageID: m.ID, ActionID: m.ActionID, ClaimToken: m.ClaimToken, State: action.DeliveryAcknowledged, Sent: true,
			UpstreamRef: "EDDR-1", Attempt: outbox.Attempt{Number: 1, Stage: m.Stage, StartedAt: time.Now(), Duration: 2 * time.Second, Outcome: "acknowledged"},
		}
		if m.Destination == action.DestMigrationService {
			r.State, r.UpstreamRef, r.ErrorClass, r.LastError = action.DeliveryDead, "", outbox.ClassTimeout, "dms: context deadline exceeded"
			r.Attempt.Outcome, r.Attempt.ErrorClass, r.Attempt.Detail = "failed", outbox.ClassTimeout, "context deadline exceeded"
		}
		results = append(results, r)
	}
	if _, err := store.Complete(ctx, results); err != nil {
		t.Fatal(err)
	}
	page, err := store.List(ctx, action.ListFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var dead []action.Delivery
	for _, a := range page.Actions {
		for _, d := range a.Deliveries {
			if d.Status == action.DeliveryDead {
				dead = append(dead, d)
			}
		}
	}
	return c, dead
}

func TestOpsCLI(t *testing.T) {
	c, dead := newOpsCLI(t)
	if len(dead) != 2 {
		t.Fatalf("want 2 dead deliveries, got %d", len(dead))
	}
	id := dead[0].MessageID.String()

	// A table with a row per dead delivery.
	out, _, err := c.run(t, "", "deliveries", "--status", "dead", "--destination", "dms")
	if err != nil {
		t.Fatalf("deliveries: %v", err)
	}
	if !regexp.MustCompile(`(?m)^MESSAGE ID\s+DEST\s+KIND\s+STATUS`).MatchString(out) {
		t.Fatalf("no table header:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^` + id + `\s+dms\s+residence\.\S+\s+dead\s+1\s+timeout\s`).MatchString(out) {
		t.Fatalf("no row for dead delivery %s:\n%s", id, out)
	}

	// --json prints the API's JSON.
	out, _, err = c.run(t, "", "deliveries", "--json", "--status", "dead")
	if err != nil {
		t.Fatalf("deliveries --json: %v", err)
	}
	var page struct {
		Items []struct {
			MessageID string `json:"message_id"`
			Status    string `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Items) != 2 || page.Items[0].Status != "dead" {
		t.Fatalf("deliveries --json: %v\n%s", err, out)
	}

	// show: the delivery, its attempts, the message.
	out, _, err = c.run(t, "", "show", id)
	if err != nil {
		t.Fatalf("show: %v", err)
	}
	for _, want := range []string{"ATTEMPTS", "context deadline exceeded", "2s", "MESSAGE", ">" + id + "</"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show lacks %q:\n%s", want, out)
		}
	}

	// An auditor may look, not act: the problem is the error.
	_, _, err = c.run(t, "", "retry", id, "--reason", "try", "--token", c.auditor)
	var p *problemError
	if !errors.As(err, &p) || p.Status != 403 || err.Error() != "Forbidden: role auditor may not do this" {
		t.Fatalf("auditor retry: %v, want the 403 problem", err)
	}

	// retry ID --reason R: flags after the argument.
	out, _, err = c.run(t, "", "retry", id, "--reason", "dms is back")
	if err != nil || !strings.Contains(out, "delivery "+id+" retried: now pending") {
		t.Fatalf("retry: %v\n%s", err, out)
	}

	// Bulk: says how many, asks, does nothing unless told yes.
	out, errOut, err := c.run(t, "n\n", "retry", "--status", "dead", "--destination", "dms", "--reason", "outage over")
	if err == nil || !strings.Contains(out, "1 delivery matches (status dead, destination dms)") || !strings.Contains(errOut, "[y/N]") {
		t.Fatalf("bulk retry declined: err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	out, _, err = c.run(t, "", "retry", "--status", "dead", "--dry-run", "--json", "--reason", "count")
	if err != nil || !strings.Contains(out, `"matching": 1`) {
		t.Fatalf("bulk retry --dry-run --json: %v\n%s", err, out)
	}
	out, _, err = c.run(t, "y\n", "retry", "--status", "dead", "--destination", "dms", "--reason", "outage over")
	if err != nil || !strings.Contains(out, "retried 1 delivery") {
		t.Fatalf("bulk retry confirmed: %v\n%s", err, out)
	}
	out, _, err = c.run(t, "", "retry", "--status", "dead", "--reason", "nothing left", "--yes")
	if err != nil || !strings.Contains(out, "0 deliveries match") || !strings.Contains(out, "nothing to retry") {
		t.Fatalf("bulk retry with nothing dead: %v\n%s", err, out)
	}

	// pause, backlog, resume.
	if out, _, err = c.run(t, "", "pause", "dms", "--reason", "maintenance"); err != nil || !strings.Contains(out, "destination dms: paused (maintenance)") {
		t.Fatalf("pause: %v\n%s", err, out)
	}
	out, _, err = c.run(t, "", "backlog", "--token", c.auditor)
	if err != nil || !regexp.MustCompile(`(?m)^dms\s+2\s+0\s+0\s+0\s+0\s+\S+\s+closed\s+yes: maintenance$`).MatchString(out) {
		t.Fatalf("backlog: %v\n%s", err, out)
	}
	if out, _, err = c.run(t, "", "resume", "dms"); err != nil || !strings.Contains(out, "destination dms: flowing") {
		t.Fatalf("resume: %v\n%s", err, out)
	}

	// Every step, with who and why.
	out, _, err = c.run(t, "", "steps", "--json")
	if err != nil {
		t.Fatalf("steps --json: %v", err)
	}
	var steps struct {
		Items []struct {
			Actor, Operation, Reason string
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &steps); err != nil {
		t.Fatalf("steps --json: %v\n%s", err, out)
	}
	var ops []string
	for _, s := range steps.Items {
		if s.Actor != "op-1" {
			t.Fatalf("step by %q, want op-1: %s", s.Actor, out)
		}
		ops = append(ops, s.Operation+"/"+s.Reason)
	}
	want := []string{"resume/", "pause/maintenance", "bulk_retry/outage over", "retry/dms is back"}
	if strings.Join(ops, ",") != strings.Join(want, ",") {
		t.Fatalf("steps %v, want %v", ops, want)
	}
	out, _, err = c.run(t, "", "steps", "--target", "destination:dms")
	if err != nil || !regexp.MustCompile(`(?m)^\S+\s+op-1\s+operator\s+pause\s+destination:dms\s+maintenance\s+-$`).MatchString(out) {
		t.Fatalf("steps table: %v\n%s", err, out)
	}

	// Usage errors, caught before any call.
	for _, args := range [][]string{
		{"retry", id},              // no reason
		{"retry", "--reason", "r"}, // neither id nor filter
		{"retry", id, "--status", "dead", "--reason", "r"}, // both
		{"cancel", "--reason", "r"},                        // no action id
		{"ack", id, "--reference", "R"},                    // no justification
		{"show", id, "extra"},                              // too many arguments
		{"launch"},                                         // unknown subcommand
	} {
		if _, _, err := c.run(t, "", args...); err == nil {
			t.Errorf("ops %q succeeded, want a usage error", args)
		}
	}
	if _, _, err := c.run(t, "", "show", uuid.NewString()); err == nil || !strings.HasPrefix(err.Error(), "Not Found: ") {
		t.Errorf("show of an unknown delivery: %v, want the 404 problem", err)
	}
	t.Setenv("REGHUB_TOKEN", "")
	var stdout, stderr bytes.Buffer
	if err := runOpsTo(t.Context(), []string{"backlog", "--url", c.url}, strings.NewReader(""), &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "REGHUB_TOKEN") {
		t.Errorf("no token: %v, want to be told how to give one", err)
	}
}
