package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/reghub/reghub/ops"
)

const opsUsage = `usage: reghub ops <subcommand> [flags] [args]

Resolve failed deliveries through a running hub's operations API (/v1/ops).
Every subcommand takes:
  --url URL     the hub (default $REGHUB_URL, else http://127.0.0.1:8080)
  --token TOK   bearer token (default $REGHUB_TOKEN): an operator's or an
                admin's; an auditor's can only look
  --json        print the API's JSON instead of a table

subcommands:
  deliveries [--status S]... [--destination D] [--error-class C] [--kind K]
             [--older-than 10m] [--limit N] [--cursor C]
                                  list deliveries, newest first
  backlog                         unresolved deliveries per destination, pause
                                  and circuit state
  show ID                         one delivery: the message sent, every
                                  attempt, every operator step
  retry ID --reason R             make a dead delivery due now
  retry [--status S]... [--destination D] [--error-class C] [--kind K]
        [--older-than 10m] --reason R [--yes | --dry-run]
                                  retry every matching delivery (dead unless
                                  --status says otherwise); says how many and
                                  asks first unless --yes
  ack ID --reference REF --justification J
                                  acknowledge by hand, confirmed out of band
  cancel ACTION_ID --reason R     cancel an action; the registry sees it
  pause DEST --reason R           deliveries to DEST wait instead of failing
  resume DEST [--reason R]        let them flow again
  steps [--target T] [--limit N]  recorded operator steps, newest first
  injunctions list [--katottg K] [--lifted] [--limit N]
                                  court injunctions that block registration
                                  actions at an address (001 §2.5.17)
  injunctions add --court C --reference R --decided-on YYYY-MM-DD
        --katottg K [--street S] --building B [--block X] [--apartment A]
        [--valid-from D] [--valid-until D] [--note N] [--reason R]
                                  record one; without --apartment it covers
                                  the whole building
  injunctions lift ID --reason R  lift one; actions there are accepted again

reghub ops <subcommand> -h shows its flags.`

// runOps is `reghub ops`. An error is printed as "error: ..." (for an API
// problem "error: <title>: <detail>") and the process exits 1.
func runOps(ctx context.Context, args []string) error {
	err := runOpsTo(ctx, args, os.Stdin, os.Stdout, os.Stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	fmt.Fprintln(os.Stderr, "error: "+err.Error())
	return reported{err}
}

// runOpsTo runs `reghub ops`, reading confirmations from stdin, writing
// results to stdout and notes and questions to stderr.
func runOpsTo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, opsUsage)
		return errors.New("missing subcommand")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(stderr, opsUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("ops "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseURL := os.Getenv("REGHUB_URL")
	if baseURL == "" {
		baseURL = "http://127.0.0.1:8080"
	}
	c := &opsClient{hc: &http.Client{Timeout: time.Minute}}
	var asJSON bool
	fs.StringVar(&c.base, "url", baseURL, "the hub's API (default $REGHUB_URL, else http://127.0.0.1:8080)")
	fs.StringVar(&c.token, "token", os.Getenv("REGHUB_TOKEN"), "bearer token (default $REGHUB_TOKEN)")
	fs.BoolVar(&asJSON, "json", false, "print the API's JSON")

	var (
		f                                filterFlags
		reason, reference, justification string
		target, cursor                   string
		limit                            int
		yes, dryRun                      bool
		positional                       string // name of the one argument, "" for none
		inj                              injunctionArgs
	)
	filters := func() {
		fs.Var(&f.status, "status", "delivery status: pending, awaiting_ack, acknowledged, rejected, dead, cancelled (repeat or comma-separate)")
		fs.StringVar(&f.destination, "destination", "", "dms, eddr or webhook")
		fs.StringVar(&f.errorClass, "error-class", "", "class of the last failure: transport, timeout, http_5xx, soap_server_fault, ...")
		fs.StringVar(&f.kind, "kind", "", "action kind, e.g. residence.register")
		fs.StringVar(&f.olderThan, "older-than", "", "only deliveries created at least this long ago (90s, 10m, 48h)")
	}
	switch sub {
	case "deliveries":
		filters()
		fs.IntVar(&limit, "limit", 0, "most deliveries listed (1-500; default 100)")
		fs.StringVar(&cursor, "cursor", "", "next page, as printed after the previous one")
	case "backlog":
	case "show":
		positional = "delivery ID"
	case "retry":
		positional = "?delivery ID"
		filters()
		fs.StringVar(&reason, "reason", "", "why (required; recorded with the step)")
		fs.BoolVar(&yes, "yes", false, "bulk retry without asking")
		fs.BoolVar(&dryRun, "dry-run", false, "bulk retry: only say how many deliveries match")
	case "ack":
		positional = "delivery ID"
		fs.StringVar(&reference, "reference", "", "the upstream's record reference, confirmed out of band (required)")
		fs.StringVar(&justification, "justification", "", "how it was confirmed (required; recorded with the step)")
	case "cancel":
		positional = "action ID"
		fs.StringVar(&reason, "reason", "", "why (required; recorded with the step and shown to the registry)")
	case "pause":
		positional = "destination"
		fs.StringVar(&reason, "reason", "", "why (required; recorded with the step)")
	case "resume":
		positional = "destination"
		fs.StringVar(&reason, "reason", "", "why (recorded with the step)")
	case "steps":
		fs.StringVar(&target, "target", "", "only steps on this target: delivery:ID, action:ID, destination:NAME or deliveries (bulk retries)")
		fs.IntVar(&limit, "limit", 0, "most steps listed (1-1000; default 200)")
	case "injunctions":
		var ierr error
		if positional, args, ierr = injunctionFlags(fs, args, &inj); ierr != nil {
			fmt.Fprintln(stderr, opsUsage)
			return ierr
		}
		sub += " " + inj.verb
	default:
		fmt.Fprintln(stderr, opsUsage)
		return fmt.Errorf("unknown subcommand %q", sub)
	}
	fs.Usage = func() {
		usage := "reghub ops " + sub + " [flags]"
		if positional != "" {
			usage += " " + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(positional, "?"), " ", "_"))
		}
		fmt.Fprintf(stderr, "usage: %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	args, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	optional := strings.HasPrefix(positional, "?")
	switch {
	case positional == "" && len(args) > 0:
		return fmt.Errorf("unexpected arguments: %q", args)
	case positional != "" && len(args) > 1:
		return fmt.Errorf("one %s expected, got %q", strings.TrimPrefix(positional, "?"), args)
	case positional != "" && !optional && len(args) == 0:
		return fmt.Errorf("missing the %s (reghub ops %s -h)", positional, sub)
	}
	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}
	if c.token == "" {
		return errors.New("no token: pass --token or set $REGHUB_TOKEN")
	}
	out := &opsOutput{stdout: stdout, json: asJSON}

	switch sub {
	case "deliveries":
		q := f.query()
		if limit != 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		raw, err := c.do(ctx, http.MethodGet, "/v1/ops/deliveries", q, nil)
		if err != nil {
			return err
		}
		return out.deliveries(raw, stderr)
	case "backlog":
		raw, err := c.do(ctx, http.MethodGet, "/v1/ops/destinations", nil, nil)
		if err != nil {
			return err
		}
		return out.backlog(raw)
	case "show":
		raw, err := c.do(ctx, http.MethodGet, "/v1/ops/deliveries/"+url.PathEscape(arg), nil, nil)
		if err != nil {
			return err
		}
		return out.show(raw)
	case "retry":
		if reason == "" {
			return errors.New("--reason is required: say why, it is recorded with the step")
		}
		if arg != "" {
			if !f.empty() || yes || dryRun {
				return errors.New("retry takes a delivery ID, or filter flags for a bulk retry, not both")
			}
			raw, err := c.do(ctx, http.MethodPost, "/v1/ops/deliveries/"+url.PathEscape(arg)+"/retry", nil, map[string]string{"reason": reason})
			if err != nil {
				return err
			}
			return out.delivery(raw, "retried")
		}
		if f.empty() {
			return errors.New("retry needs a delivery ID, or for a bulk retry at least one of --status, --destination, --error-class, --kind, --older-than")
		}
		return bulkRetry(ctx, c, out, f, reason, yes, dryRun, stdin, stderr)
	case "ack":
		if reference == "" || justification == "" {
			return errors.New("--reference and --justification are both required")
		}
		raw, err := c.do(ctx, http.MethodPost, "/v1/ops/deliveries/"+url.PathEscape(arg)+"/acknowledge", nil,
			map[string]string{"reference": reference, "justification": justification})
		if err != nil {
			return err
		}
		return out.delivery(raw, "acknowledged by hand")
	case "cancel":
		if reason == "" {
			return errors.New("--reason is required: it is recorded and shown to the local registry")
		}
		raw, err := c.do(ctx, http.MethodPost, "/v1/ops/actions/"+url.PathEscape(arg)+"/cancel", nil, map[string]string{"reason": reason})
		if err != nil {
			return err
		}
		return out.action(raw)
	case "pause", "resume":
		if sub == "pause" && reason == "" {
			return errors.New("--reason is required: say why, it is recorded with the step")
		}
		raw, err := c.do(ctx, http.MethodPost, "/v1/ops/destinations/"+url.PathEscape(arg)+"/"+sub, nil, map[string]string{"reason": reason})
		if err != nil {
			return err
		}
		return out.destination(raw)
	case "injunctions list", "injunctions add", "injunctions lift":
		return runInjunctions(ctx, c, out, inj, arg)
	default: // steps
		q := url.Values{}
		if target != "" {
			q.Set("target", target)
		}
		if limit != 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		raw, err := c.do(ctx, http.MethodGet, "/v1/ops/steps", q, nil)
		if err != nil {
			return err
		}
		return out.steps(raw)
	}
}

// parseInterspersed parses flags given before, between and after the
// positional arguments (`retry ID --reason R`), which flag.Parse alone stops
// at; everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// bulkRetry asks the API how many deliveries match, says so, and retries
// them once confirmed.
func bulkRetry(ctx context.Context, c *opsClient, out *opsOutput, f filterFlags, reason string, yes, dryRun bool,
	stdin io.Reader, stderr io.Writer) error {
	body := map[string]any{"filter": f.body(), "reason": reason, "dry_run": true}
	raw, err := c.do(ctx, http.MethodPost, "/v1/ops/deliveries/retry", nil, body)
	if err != nil {
		return err
	}
	var count struct {
		Matching int `json:"matching"`
	}
	if err := json.Unmarshal(raw, &count); err != nil {
		return fmt.Errorf("decode the hub's answer: %w", err)
	}
	// The count is the answer of a dry run; otherwise a note before the result.
	note := stderr
	if dryRun || !out.json {
		note = out.stdout
	}
	if dryRun && out.json {
		return out.raw(raw)
	}
	verb := "match"
	if count.Matching == 1 {
		verb = "matches"
	}
	fmt.Fprintf(note, "%s %s %s\n", plural(count.Matching, "delivery", "deliveries"), verb, f.describe())
	if dryRun {
		return nil
	}
	if count.Matching == 0 {
		fmt.Fprintln(note, "nothing to retry")
		if out.json {
			return out.raw(raw)
		}
		return nil
	}
	if !yes {
		fmt.Fprintf(stderr, "Retry %s? [y/N] ", plural(count.Matching, "delivery", "deliveries"))
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(stderr)
			return errors.New("not confirmed; nothing was retried (--yes retries without asking)")
		}
	}
	delete(body, "dry_run")
	raw, err = c.do(ctx, http.MethodPost, "/v1/ops/deliveries/retry", nil, body)
	if err != nil {
		return err
	}
	if out.json {
		return out.raw(raw)
	}
	var done struct {
		Retried int `json:"retried"`
	}
	if err := json.Unmarshal(raw, &done); err != nil {
		return fmt.Errorf("decode the hub's answer: %w", err)
	}
	fmt.Fprintf(out.stdout, "retried %s\n", plural(done.Retried, "delivery", "deliveries"))
	if done.Retried != count.Matching {
		fmt.Fprintln(out.stdout, "(the backlog changed since the count: relays resolved some or new ones failed)")
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// stringList is a repeatable, comma-separable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

type filterFlags struct {
	status                                   stringList
	destination, errorClass, kind, olderThan string
}

func (f filterFlags) empty() bool {
	return len(f.status) == 0 && f.destination == "" && f.errorClass == "" && f.kind == "" && f.olderThan == ""
}

func (f filterFlags) query() url.Values {
	q := url.Values{}
	for _, s := range f.status {
		q.Add("status", s)
	}
	for k, v := range map[string]string{"destination": f.destination, "error_class": f.errorClass, "kind": f.kind, "older_than": f.olderThan} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (f filterFlags) body() map[string]any {
	b := map[string]any{}
	for k, v := range f.query() {
		if k == "status" {
			b[k] = v
		} else {
			b[k] = v[0]
		}
	}
	return b
}

func (f filterFlags) describe() string {
	var parts []string
	status := "dead"
	if len(f.status) > 0 {
		status = strings.Join(f.status, " or ")
	}
	parts = append(parts, "status "+status)
	if f.destination != "" {
		parts = append(parts, "destination "+f.destination)
	}
	if f.errorClass != "" {
		parts = append(parts, "error class "+f.errorClass)
	}
	if f.kind != "" {
		parts = append(parts, "kind "+f.kind)
	}
	if f.olderThan != "" {
		parts = append(parts, "older than "+f.olderThan)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// opsClient calls the operations API.
type opsClient struct {
	base, token string
	hc          *http.Client
}

// problemError is an RFC 9457 problem the API answered.
type problemError struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

func (p *problemError) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// maxAnswer bounds what the CLI reads of an answer.
const maxAnswer = 32 << 20

func (c *opsClient) do(ctx context.Context, method, path string, q url.Values, body any) ([]byte, error) {
	u := strings.TrimRight(c.base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("bad --url %q: %w", c.base, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call the hub: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("read the hub's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		p := &problemError{}
		if json.Unmarshal(raw, p) != nil || p.Title == "" {
			p = &problemError{Status: resp.StatusCode, Title: resp.Status, Detail: strings.TrimSpace(string(raw))}
			if len(p.Detail) > 300 {
				p.Detail = p.Detail[:300] + "…"
			}
		}
		return nil, p
	}
	return raw, nil
}

// What the CLI reads of the API's answers: the core's own types, whose JSON
// the API writes (schemas in openapi.yaml); only the detail's attempt log is
// shaped for the wire (milliseconds).
type (
	cliDelivery    = ops.Delivery
	cliStep        = ops.Step
	cliDestination = ops.DestinationState
	cliDetail      struct {
		cliDelivery
		Message string `json:"message"`
		Log     []struct {
			Number     int       `json:"number"`
			Stage      string    `json:"stage"`
			StartedAt  time.Time `json:"started_at"`
			DurationMS float64   `json:"duration_ms"`
			Outcome    string    `json:"outcome"`
			ErrorClass string    `json:"error_class"`
			Detail     string    `json:"detail"`
		} `json:"attempts_log"`
		Steps     []cliStep `json:"operator_steps"`
		BlockedBy string    `json:"blocked_by"`
	}
)

// opsOutput prints answers as tables, or the API's JSON with --json.
type opsOutput struct {
	stdout io.Writer
	json   bool
}

// raw prints the API's JSON, indented.
func (o *opsOutput) raw(b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		buf.Reset()
		buf.Write(b)
	}
	buf.WriteByte('\n')
	_, err := o.stdout.Write(buf.Bytes())
	return err
}

func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode the hub's answer: %w", err)
	}
	return nil
}

func (o *opsOutput) table() *tabwriter.Writer { return tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0) }

func (o *opsOutput) deliveries(raw []byte, stderr io.Writer) error {
	if o.json {
		return o.raw(raw)
	}
	var page struct {
		Items      []cliDelivery `json:"items"`
		NextCursor string        `json:"next_cursor"`
	}
	if err := decode(raw, &page); err != nil {
		return err
	}
	tw := o.table()
	fmt.Fprintln(tw, "MESSAGE ID\tDEST\tKIND\tSTATUS\tATTEMPTS\tERROR CLASS\tAGE\tACTION ID\tLAST ERROR")
	for _, d := range page.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.MessageID, d.Destination, d.Kind, d.Status, d.Attempts,
			dash(d.ErrorClass), age(d.CreatedAt), d.ActionID, dash(clip(d.LastError, 60)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.NextCursor != "" {
		fmt.Fprintf(stderr, "more: add --cursor %s\n", page.NextCursor)
	}
	return nil
}

func (o *opsOutput) backlog(raw []byte) error {
	if o.json {
		return o.raw(raw)
	}
	var list struct {
		Items []cliDestination `json:"items"`
	}
	if err := decode(raw, &list); err != nil {
		return err
	}
	tw := o.table()
	fmt.Fprintln(tw, "DESTINATION\tPENDING\tAWAITING ACK\tDEAD\tREJECTED\tCANCELLED\tOLDEST PENDING\tCIRCUIT\tPAUSED")
	for _, d := range list.Items {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", d.Name, d.Counts["pending"], d.Counts["awaiting_ack"],
			d.Counts["dead"], d.Counts["rejected"], d.Counts["cancelled"], ageOf(d.OldestPending), circuit(d), paused(d))
	}
	return tw.Flush()
}

func (o *opsOutput) destination(raw []byte) error {
	if o.json {
		return o.raw(raw)
	}
	var d cliDestination
	if err := decode(raw, &d); err != nil {
		return err
	}
	state := "flowing"
	if d.Paused {
		state = "paused (" + d.PausedReason + ")"
	}
	_, err := fmt.Fprintf(o.stdout, "destination %s: %s; circuit %s; %d pending, %d dead\n",
		d.Name, state, circuit(d), d.Counts["pending"], d.Counts["dead"])
	return err
}

func (o *opsOutput) show(raw []byte) error {
	if o.json {
		return o.raw(raw)
	}
	var d cliDetail
	if err := decode(raw, &d); err != nil {
		return err
	}
	tw := o.table()
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("delivery", d.MessageID.String())
	row("action", fmt.Sprintf("%s (%s, %s, %s)", d.ActionID, d.ActionRef, d.Kind, d.ActionStatus))
	row("destination", string(d.Destination))
	row("status", fmt.Sprintf("%s after %s", d.Status, plural(d.Attempts, "attempt", "attempts")))
	if d.LastError != "" {
		row("last error", strings.TrimPrefix(d.ErrorClass+": ", ": ")+d.LastError)
	}
	row("upstream ref", d.UpstreamRef)
	row("receipt", d.Receipt)
	row("blocked by", d.BlockedBy)
	row("created", stamp(d.CreatedAt)+" ("+age(d.CreatedAt)+" ago)")
	row("updated", stamp(d.UpdatedAt))
	if d.NextAttemptAt != nil {
		row("next attempt", stamp(*d.NextAttemptAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(o.stdout, "\nATTEMPTS")
	tw = o.table()
	fmt.Fprintln(tw, "#\tSTAGE\tSTARTED\tDURATION\tOUTCOME\tERROR CLASS\tANSWER OR FAULT")
	for _, a := range d.Log {
		dur := (time.Duration(a.DurationMS * float64(time.Millisecond))).Round(time.Millisecond)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Number, a.Stage, stamp(a.StartedAt), dur, a.Outcome, dash(a.ErrorClass), dash(a.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Steps) > 0 {
		fmt.Fprintln(o.stdout, "\nOPERATOR STEPS")
		if err := o.stepTable(d.Steps); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(o.stdout, "\nMESSAGE\n%s\n", d.Message)
	return err
}

// delivery prints the delivery an action left, after what was done to it.
func (o *opsOutput) delivery(raw []byte, done string) error {
	if o.json {
		return o.raw(raw)
	}
	var d cliDelivery
	if err := decode(raw, &d); err != nil {
		return err
	}
	ref := ""
	if d.UpstreamRef != "" {
		ref = ", upstream reference " + d.UpstreamRef
	}
	_, err := fmt.Fprintf(o.stdout, "delivery %s %s: now %s%s; action %s is %s\n", d.MessageID, done, d.Status, ref, d.ActionID, d.ActionStatus)
	return err
}

func (o *opsOutput) action(raw []byte) error {
	if o.json {
		return o.raw(raw)
	}
	var a struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		StatusReason string `json:"status_reason"`
		Deliveries   []struct {
			Destination string `json:"destination"`
			Status      string `json:"status"`
		} `json:"deliveries"`
	}
	if err := decode(raw, &a); err != nil {
		return err
	}
	var ds []string
	for _, d := range a.Deliveries {
		ds = append(ds, d.Destination+" "+d.Status)
	}
	_, err := fmt.Fprintf(o.stdout, "action %s is %s (%s); deliveries: %s\n", a.ID, a.Status, a.StatusReason, strings.Join(ds, ", "))
	return err
}

func (o *opsOutput) steps(raw []byte) error {
	if o.json {
		return o.raw(raw)
	}
	var list struct {
		Items []cliStep `json:"items"`
	}
	if err := decode(raw, &list); err != nil {
		return err
	}
	return o.stepTable(list.Items)
}

func (o *opsOutput) stepTable(steps []cliStep) error {
	tw := o.table()
	fmt.Fprintln(tw, "AT\tACTOR\tROLE\tOPERATION\tTARGET\tREASON\tDETAILS")
	for _, s := range steps {
		details := strings.TrimSpace(string(s.Details))
		if details == "{}" || details == "null" {
			details = ""
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", stamp(s.At), s.Actor, s.Role, s.Operation, s.Target, dash(s.Reason), dash(details))
	}
	return tw.Flush()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// age is how long ago t was, to the second under an hour, to the minute
// under two days, in days and hours beyond.
func age(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	default:
		days := int(d / (24 * time.Hour))
		return fmt.Sprintf("%dd%dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
	}
}

func ageOf(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return age(*t)
}

func circuit(d cliDestination) string {
	if d.CircuitOpenUntil != nil && d.Circuit != "closed" {
		return d.Circuit + " until " + stamp(*d.CircuitOpenUntil)
	}
	return d.Circuit
}

func paused(d cliDestination) string {
	if !d.Paused {
		return "no"
	}
	return "yes: " + d.PausedReason
}
