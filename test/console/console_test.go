// Package console_e2e drives the operator web console (/console) with
// headless Chromium against a running hub and the upstream simulators: an
// outage makes deliveries dead, an operator signs in, filters, bulk-retries
// and sees them complete; an auditor finds no button that changes anything.
// Screenshots of the dashboard and of a delivery's page are written to
// $REGHUB_ARTIFACTS, else test/console/artifacts/.
package console_e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/test/hubtest"
)

func TestMain(m *testing.M) { hubtest.Main(m) }

// stepTimeout bounds each browser step.
const stepTimeout = 90 * time.Second

// browserPath finds a Chromium (or Chrome) binary. Without one the test is
// skipped, except under CI=true, where a missing browser is a failure.
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REGHUB_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium binary found (/usr/bin/chromium, chromium, chromium-browser, google-chrome, headless-shell; or set REGHUB_CHROMIUM); " +
		"install the Debian package chromium (test/run.sh does)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// artifactsDir is where screenshots go: $REGHUB_ARTIFACTS, else artifacts/
// beside this file (test/console/artifacts/, ignored by git).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("REGHUB_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts dir: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("artifacts dir: %v", err)
	}
	return abs
}

// browser is one headless Chromium with its own profile (so its own cookies).
type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
	name      string // who uses it, for failure screenshots
}

func newBrowser(t *testing.T, exe, artifacts, name string) *browser {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still write to the
	// profile for a moment after the browser exits, which fails its
	// RemoveAll; the profile is removed here, with retries.
	profile, err := os.MkdirTemp("", "reghub-console-chromium-")
	if err != nil {
		t.Fatalf("profile dir: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 768),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser gracefully
		cancelCtx()
		cancelAlloc() // waits for the browser process to exit
		for i := 0; ; i++ {
			err := os.RemoveAll(profile)
			if err == nil || i == 20 {
				if err != nil {
					t.Logf("remove Chromium profile %s: %v", profile, err)
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first Run starts the browser; it runs on ctx itself (no timeout),
	// so that the browser lives as long as the test.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	return &browser{t: t, ctx: ctx, artifacts: artifacts, name: name}
}

// run runs one step's actions within stepTimeout; on failure it saves a
// screenshot and the page's location and text, then fails the test.
func (b *browser) run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	err := chromedp.Run(ctx, actions...)
	if err == nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.New("timed out after " + stepTimeout.String() + " (an element the step waits for never appeared?)")
	}
	dctx, dcancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer dcancel()
	var loc, text string
	var shot []byte
	_ = chromedp.Run(dctx,
		chromedp.Location(&loc),
		chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 3000) : ''`, &text),
		chromedp.FullScreenshot(&shot, 100),
	)
	if len(shot) > 0 {
		p := b.save("failure-"+b.name+"-"+slug(step)+".png", shot)
		b.t.Logf("failure screenshot: %s", p)
	}
	b.t.Fatalf("%s: %s: %v\npage %s:\n%s", b.name, step, err, loc, text)
}

// screenshot saves a full-page PNG of the current page.
func (b *browser) screenshot(file string) string {
	b.t.Helper()
	var buf []byte
	b.run("screenshot "+file, chromedp.FullScreenshot(&buf, 100)) // 100: PNG
	p := b.save(file, buf)
	b.t.Logf("screenshot: %s", p)
	return p
}

func (b *browser) save(file string, data []byte) string {
	b.t.Helper()
	p := filepath.Join(b.artifacts, file)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.t.Fatalf("write %s: %v", p, err)
	}
	return p
}

// absent reports whether no element matches the CSS selector.
func (b *browser) absent(sel string) bool {
	b.t.Helper()
	var none bool
	b.run("look for "+sel, chromedp.Evaluate(`document.querySelector(`+strconv.Quote(sel)+`) === null`, &none))
	return none
}

// signIn opens the login page and signs in with token.
func (b *browser) signIn(base, token string) {
	b.t.Helper()
	b.run("sign in",
		chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(`#login`, chromedp.ByQuery),
		chromedp.SendKeys(`#token`, token, chromedp.ByQuery),
		chromedp.Click(`#sign-in`, chromedp.ByQuery),
		chromedp.WaitVisible(`#destinations`, chromedp.ByQuery),
	)
}

// waitLocation waits until the page's URL contains every one of parts,
// riding out a navigation in progress.
func waitLocation(parts ...string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var loc string
			if err := chromedp.Location(&loc).Do(ctx); err == nil {
				ok := true
				for _, p := range parts {
					ok = ok && strings.Contains(loc, p)
				}
				if ok {
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r - 'A' + 'a'
		}
		return '-'
	}, s)
}

func register(t *testing.T, e *hubtest.Env, id string, role auth.Role) string {
	t.Helper()
	tok, err := auth.Register(context.Background(), postgres.New(e.Pool), id, id, role)
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	return tok
}

// waitDMSDead waits until every person's first dms message is dead (later
// ones for the same person wait behind it, still pending), and returns how
// many are dead.
func waitDMSDead(t *testing.T, e *hubtest.Env) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var dead, movable int
		if err := e.Pool.QueryRow(context.Background(), `
			SELECT count(*) FILTER (WHERE state = 'dead'),
			       count(*) FILTER (WHERE state = 'pending' AND NOT EXISTS (
			           SELECT 1 FROM outbox_messages e WHERE e.destination = m.destination AND e.person_key = m.person_key
			             AND e.seq < m.seq AND e.state IN ('pending', 'awaiting_ack', 'dead')))
			FROM outbox_messages m WHERE destination = 'dms'`).Scan(&dead, &movable); err != nil {
			t.Fatal(err)
		}
		if dead > 0 && movable == 0 {
			return dead
		}
		if time.Now().After(deadline) {
			t.Fatalf("dms deliveries not dead after 30s of outage: %d dead, %d still trying", dead, movable)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// After an outage makes deliveries dead, an operator signs in to the
// console, filters the dead dms deliveries, looks at one, bulk-retries them
// and sees every action complete; an auditor signed in finds no retry,
// bulk retry or acknowledge button.
func TestConsoleBulkRetryAfterOutage(t *testing.T) {
	exe := browserPath(t)
	artifacts := artifactsDir(t)
	e := hubtest.NewEnv(t, hubtest.Opts{
		DMS:     upstream.Config{Outage: true},
		HubArgs: []string{"--max-attempts", "2", "--circuit-threshold", "0"},
	})
	base := e.Hub.Base
	subs := e.SubmitMany(8, 42)
	dead := waitDMSDead(t, e)
	deadIDs := map[string]bool{}
	rows, err := e.Pool.Query(context.Background(),
		`SELECT id::text FROM outbox_messages WHERE destination = 'dms' AND state = 'dead'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		deadIDs[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d dms deliveries dead", dead)

	opToken := register(t, e, "op-console", auth.RoleOperator)
	audToken := register(t, e, "auditor-console", auth.RoleAuditor)

	// The operator signs in and sees the dashboard.
	op := newBrowser(t, exe, artifacts, "operator")
	op.signIn(base, opToken)
	var whoami string
	op.run("dashboard",
		chromedp.WaitVisible(`#destinations tr[data-destination="dms"]`, chromedp.ByQuery),
		chromedp.WaitReady(`svg#activity-chart`, chromedp.ByQuery),
		chromedp.Text(`#whoami`, &whoami, chromedp.ByQuery),
	)
	t.Logf("signed in as %q", whoami)
	op.screenshot("dashboard-outage.png")

	// Filters: dead deliveries to dms.
	var listURL string
	var n int
	var firstID string
	op.run("filter dead dms deliveries",
		chromedp.Navigate(base+"/console/deliveries"),
		chromedp.WaitVisible(`#filters`, chromedp.ByQuery),
		chromedp.SetValue(`#f-status`, "dead", chromedp.ByQuery),
		chromedp.SetValue(`#f-destination`, "dms", chromedp.ByQuery),
		chromedp.Click(`#apply-filters`, chromedp.ByQuery),
		// The list page is already showing: wait for the filtered one.
		waitLocation("status=dead", "destination=dms"),
		chromedp.WaitVisible(`#deliveries tr[data-message-id]`, chromedp.ByQuery),
		chromedp.Location(&listURL),
		chromedp.Evaluate(`document.querySelectorAll('#deliveries tr[data-message-id]').length`, &n),
		chromedp.AttributeValue(`#deliveries tr[data-message-id]`, "data-message-id", &firstID, nil, chromedp.ByQuery),
	)
	t.Logf("filtered list %s: %d rows", listURL, n)
	if !strings.Contains(listURL, "status=dead") || !strings.Contains(listURL, "destination=dms") {
		t.Errorf("filtered list's URL %s lacks status=dead and destination=dms", listURL)
	}
	var listed []string
	op.run("read listed ids", chromedp.Evaluate(
		`Array.from(document.querySelectorAll('#deliveries tr[data-message-id]')).map(r => r.dataset.messageId)`, &listed))
	for _, id := range listed {
		if !deadIDs[id] {
			t.Errorf("filtered list shows %s, not a dead dms delivery", id)
		}
	}
	if op.absent(`#next-page`) && n != dead {
		t.Errorf("filtered list shows %d deliveries on its only page, want %d (dead dms in the database)", n, dead)
	}

	// One delivery's page.
	var xml, deliveryURL string
	op.run("open a delivery",
		chromedp.Click(`#deliveries tr[data-message-id] a[href^="/console/deliveries/"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#message-xml`, chromedp.ByQuery),
		chromedp.WaitReady(`#attempts`, chromedp.ByQuery),
		chromedp.Location(&deliveryURL),
		chromedp.Text(`#message-xml`, &xml, chromedp.ByQuery),
	)
	if !strings.HasSuffix(deliveryURL, "/console/deliveries/"+firstID) {
		t.Errorf("first row's link led to %s, want /console/deliveries/%s", deliveryURL, firstID)
	}
	if !strings.Contains(strings.ToLower(xml), "xroad") && !strings.Contains(xml, firstID) {
		t.Errorf("#message-xml of %s shows neither an X-Road header nor the message id:\n%s", firstID, hubtest.Tail(xml, 1500))
	}
	for _, sel := range []string{"#retry", "#retry-reason", "#acknowledge", "#cancel-action"} {
		if op.absent(sel) {
			t.Errorf("operator's delivery page lacks %s", sel)
		}
	}
	op.screenshot("delivery-dead.png")

	// Bulk retry from the filtered list: confirm, heal, then confirm.
	var confirm string
	op.run("bulk retry",
		chromedp.Navigate(listURL),
		chromedp.WaitVisible(`#bulk-reason`, chromedp.ByQuery),
		chromedp.SendKeys(`#bulk-reason`, "migration service back after outage", chromedp.ByQuery),
		chromedp.Click(`#bulk-retry`, chromedp.ByQuery),
		chromedp.WaitVisible(`#confirm-count`, chromedp.ByQuery),
		chromedp.Text(`#confirm-count`, &confirm, chromedp.ByQuery),
	)
	var deadNow int
	if err := e.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM outbox_messages WHERE destination = 'dms' AND state = 'dead'`).Scan(&deadNow); err != nil {
		t.Fatal(err)
	}
	t.Logf("confirmation: %q (%d dead in the database)", confirm, deadNow)
	if !strings.Contains(confirm, strconv.Itoa(deadNow)) {
		t.Errorf("#confirm-count says %q, want it to name %d deliveries", confirm, deadNow)
	}
	e.SetConfig(e.DMS, upstream.Config{})
	var flash string
	op.run("confirm bulk retry",
		chromedp.Click(`#confirm-retry`, chromedp.ByQuery),
		chromedp.WaitVisible(`#flash`, chromedp.ByQuery),
		chromedp.Text(`#flash`, &flash, chromedp.ByQuery),
	)
	t.Logf("flash: %q", flash)

	all := e.WaitResolved(hubtest.IDs(subs), 60*time.Second)
	if c := hubtest.CountStatus(all); c["completed"] != len(subs) {
		t.Fatalf("statuses %v after the bulk retry; want all %d completed", c, len(subs))
	}
	if in := e.Inspect(e.DMS); in.AppliedCount != len(subs) {
		t.Errorf("dms applied %d, want %d", in.AppliedCount, len(subs))
	}
	op.run("dashboard after retry",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(`#destinations tr[data-destination="dms"]`, chromedp.ByQuery),
	)
	op.screenshot("dashboard-recovered.png")
	op.run("delivery after retry",
		chromedp.Navigate(deliveryURL),
		chromedp.WaitVisible(`#message-xml`, chromedp.ByQuery),
	)
	op.screenshot("delivery-acknowledged.png")

	// An auditor, in a browser of their own, may look but not act.
	aud := newBrowser(t, exe, artifacts, "auditor")
	aud.signIn(base, audToken)
	aud.run("auditor's delivery page",
		chromedp.Navigate(deliveryURL),
		chromedp.WaitVisible(`#message-xml`, chromedp.ByQuery),
	)
	for _, sel := range []string{"#retry", "#retry-reason", "#acknowledge", "#cancel-action"} {
		if !aud.absent(sel) {
			t.Errorf("auditor's delivery page has %s", sel)
		}
	}
	aud.run("auditor's deliveries list",
		chromedp.Navigate(listURL),
		chromedp.WaitVisible(`#filters`, chromedp.ByQuery),
	)
	for _, sel := range []string{"#bulk-retry", "#bulk-retry-form", "#bulk-reason"} {
		if !aud.absent(sel) {
			t.Errorf("auditor's deliveries list has %s", sel)
		}
	}
	t.Logf("auditor sees no retry, bulk retry, acknowledge or cancel control")
}
