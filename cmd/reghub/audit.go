package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/audit"
)

// auditKeyFile is the checkpoint signing key's file under the data
// directory, when no --key is given (its public key is beside it, .pub).
const auditKeyFile = "audit.key"

const auditUsage = `usage: reghub audit <subcommand> [flags]

Read and check the audit log directly on the hub's database: every query,
granted or refused, and every operator step, hash-chained, with signed
checkpoints. The database is found as by serve: --database-url (or
$DATABASE_URL), else the embedded cluster under --data-dir.

subcommands:
  verify                 check the chain, the checkpoints' signatures and the head;
                         prints each problem (modified, deleted, reordered records,
                         forged checkpoints, a cut tail) and exits 1 if there is any
  subject ID             who accessed a person's data, and on what basis (ID: UNZR or
                         РНОКПП, or "unzr:…" / "rnokpp:…")
  requester ORG          an organisation's queries (or an operator's steps)
  checkpoint             sign the head now (creates the key file if there is none)

--key FILE: the signing key (PEM "PRIVATE KEY") or its public key ("PUBLIC KEY");
verify accepts it several times. Default: DATA-DIR/audit.key(.pub) when present.
Without a key, verify checks checkpoints against the public keys stored with
them, which shows them unaltered but not who signed them.

reghub audit <subcommand> -h shows its flags.`

// runAudit is `reghub audit`.
func runAudit(ctx context.Context, args []string) error {
	return runAuditTo(ctx, args, os.Stdout, os.Stderr)
}

// runAuditTo runs `reghub audit` writing results to stdout and notes to
// stderr.
func runAuditTo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, auditUsage)
		return errors.New("missing subcommand: verify, subject, requester or checkpoint")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(stderr, auditUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("audit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		db           dbFlags
		keys         []string
		asJSON       bool
		since, until string
		limit        int
		before       int64
	)
	db.register(fs)
	keyHelp := "PEM file of the checkpoint signing key or of its public key (default DATA-DIR/" + auditKeyFile + " when present)"
	var pos string // the positional argument of subject and requester
	switch sub {
	case "verify":
		fs.Func("key", keyHelp+"; may be repeated", func(s string) error { keys = append(keys, s); return nil })
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	case "subject", "requester":
		fs.BoolVar(&asJSON, "json", false, "print the records as a JSON array")
		fs.StringVar(&since, "since", "", "only records at or after this time (YYYY-MM-DD or RFC 3339)")
		fs.StringVar(&until, "until", "", "only records before this time (YYYY-MM-DD or RFC 3339)")
		fs.IntVar(&limit, "limit", 100, "at most this many records, newest first")
		fs.Int64Var(&before, "before", 0, "only records with seq below this (to page on)")
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			pos, args = args[0], args[1:]
		}
	case "checkpoint":
		fs.Func("key", "PEM file of the checkpoint signing key, created (mode 0600) if missing (default DATA-DIR/"+auditKeyFile+")",
			func(s string) error { keys = append(keys, s); return nil })
	default:
		fmt.Fprintln(stderr, auditUsage)
		return fmt.Errorf("unknown subcommand %q: want verify, subject, requester or checkpoint", sub)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if pos == "" && (sub == "subject" || sub == "requester") && fs.NArg() == 1 {
		pos = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var page audit.Page
	switch sub {
	case "subject", "requester":
		if strings.TrimSpace(pos) == "" {
			return fmt.Errorf("reghub audit %s needs the %s", sub, map[string]string{"subject": "person's UNZR or РНОКПП", "requester": "organisation's code"}[sub])
		}
		var err error
		if page.Since, err = parseWhen(since); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		if page.Until, err = parseWhen(until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
		if limit <= 0 {
			return errors.New("--limit must be positive")
		}
		page.Limit, page.Before = limit, before
	case "checkpoint":
		if len(keys) > 1 {
			return errors.New("checkpoint signs with one --key")
		}
	}

	pool, closeDB, err := db.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	alog := postgres.NewAuditLog(pool, postgres.AuditOptions{})

	switch sub {
	case "verify":
		return auditVerify(ctx, alog, keys, db.DataDir, asJSON, stdout, stderr)
	case "subject":
		recs, err := alog.BySubject(ctx, subjectIDs(pos), page)
		if err != nil {
			return err
		}
		return printAuditRecords(recs, page, true, asJSON, stdout, stderr)
	case "requester":
		recs, err := alog.ByRequester(ctx, pos, page)
		if err != nil {
			return err
		}
		return printAuditRecords(recs, page, false, asJSON, stdout, stderr)
	default:
		path := filepath.Join(db.DataDir, auditKeyFile)
		if len(keys) == 1 {
			path = keys[0]
		}
		s, created, err := audit.LoadOrCreateKey(path)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stderr, "reghub audit: created the signing key %s (public key in %s.pub); keep it safe\n", path, path)
		}
		c, ok, err := alog.WriteCheckpoint(ctx, s)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(stdout, "nothing to sign: the log is empty or its head is already checkpointed")
			return nil
		}
		fmt.Fprintf(stdout, "checkpoint at record %d signed by key %s at %s\n", c.Seq, c.KeyID, c.At.Format(time.RFC3339))
		return nil
	}
}

// parseWhen reads YYYY-MM-DD (midnight UTC) or RFC 3339; "" is no bound.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	return t, nil
}

// subjectIDs turns a person's identifier into those the log keeps: as
// given when it names its kind, else as UNZR and as РНОКПП.
func subjectIDs(id string) []string {
	id = strings.TrimSpace(id)
	if strings.HasPrefix(id, "unzr:") || strings.HasPrefix(id, "rnokpp:") {
		return []string{id}
	}
	return []string{audit.UNZR(id), audit.RNOKPP(id)}
}

// trustedKeys loads the keys given, else the default key file when present.
func trustedKeys(paths []string, dataDir string) ([]ed25519.PublicKey, []string, error) {
	if len(paths) == 0 {
		for _, p := range []string{filepath.Join(dataDir, auditKeyFile+".pub"), filepath.Join(dataDir, auditKeyFile)} {
			if _, err := os.Stat(p); err == nil {
				paths = []string{p}
				break
			}
		}
	}
	var keys []ed25519.PublicKey
	for _, p := range paths {
		k, err := audit.LoadPublicKey(p)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
	}
	return keys, paths, nil
}

type verifyJSON struct {
	Intact         bool            `json:"intact"`
	Records        int64           `json:"records"`
	First          int64           `json:"first_seq"`
	Last           int64           `json:"last_seq"`
	HeadSeq        int64           `json:"head_seq"`
	HeadHash       string          `json:"head_hash"`
	Checkpoints    int             `json:"checkpoints"`
	LastCheckpoint *checkpointJSON `json:"last_checkpoint"`
	TrustedKeys    []string        `json:"trusted_keys"`
	Problems       []audit.Problem `json:"problems"`
}

type checkpointJSON struct {
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	KeyID string    `json:"key_id"`
}

func auditVerify(ctx context.Context, src audit.Source, keyPaths []string, dataDir string, asJSON bool, stdout, stderr io.Writer) error {
	keys, paths, err := trustedKeys(keyPaths, dataDir)
	if err != nil {
		return err
	}
	rep, err := audit.VerifyStored(ctx, src, keys)
	if err != nil {
		return err
	}
	var failed error
	if n := len(rep.Problems); n > 0 {
		failed = reported{fmt.Errorf("audit log: %d problem(s) found", n)}
	}
	if asJSON {
		out := verifyJSON{Intact: len(rep.Problems) == 0, Records: rep.Records, First: rep.First, Last: rep.Last,
			HeadSeq: rep.Head.Seq, HeadHash: hex.EncodeToString(rep.Head.Hash), Checkpoints: rep.Checkpoints,
			TrustedKeys: []string{}, Problems: rep.Problems}
		for _, k := range keys {
			out.TrustedKeys = append(out.TrustedKeys, audit.KeyID(k))
		}
		if c := rep.LastCheckpoint; c != nil {
			out.LastCheckpoint = &checkpointJSON{Seq: c.Seq, At: c.At.UTC(), KeyID: c.KeyID}
		}
		if out.Problems == nil {
			out.Problems = []audit.Problem{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		return failed
	}

	span := "no records"
	if rep.Records > 0 {
		span = fmt.Sprintf("%d records (%d–%d)", rep.Records, rep.First, rep.Last)
	}
	fmt.Fprintf(stdout, "audit log: %s, head at %d; %d checkpoint(s)", span, rep.Head.Seq, rep.Checkpoints)
	if c := rep.LastCheckpoint; c != nil {
		fmt.Fprintf(stdout, ", the last valid at record %d (signed %s by key %s)", c.Seq, c.At.UTC().Format(time.RFC3339), c.KeyID)
	}
	fmt.Fprintln(stdout)
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "signatures checked against the public keys stored with the checkpoints (no --key): this shows them unaltered, not who signed them")
	} else {
		var ids []string
		for i, k := range keys {
			ids = append(ids, audit.KeyID(k)+" ("+paths[i]+")")
		}
		fmt.Fprintf(stdout, "signatures checked against: %s\n", strings.Join(ids, ", "))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "PROBLEM %s: %s\n", p.Kind, p.Message)
	}
	if failed != nil {
		fmt.Fprintf(stdout, "%d problem(s): the audit log has been tampered with\n", len(rep.Problems))
		return failed
	}
	signed := int64(0)
	if rep.LastCheckpoint != nil {
		signed = rep.LastCheckpoint.Seq
	}
	fmt.Fprintf(stdout, "OK: the chain is intact")
	if rep.Last > signed {
		fmt.Fprintf(stdout, "; records %d–%d are not yet covered by a checkpoint", signed+1, rep.Last)
	}
	fmt.Fprintln(stdout)
	return nil
}

// printAuditRecords prints a listing, as a table or JSON. bySubject picks
// the columns: who and on what basis for a data subject; what and about
// whom for a requester.
func printAuditRecords(recs []audit.Stored, page audit.Page, bySubject, asJSON bool, stdout, stderr io.Writer) error {
	if len(recs) == page.Limit {
		fmt.Fprintf(stderr, "reghub audit: %d records shown; older ones with --before %d\n", len(recs), recs[len(recs)-1].Seq)
	}
	if asJSON {
		if recs == nil {
			recs = []audit.Stored{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(recs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if bySubject {
		fmt.Fprintln(tw, "SEQ\tAT\tORG\tOFFICIAL\tBASIS\tPURPOSE\tCASE\tFIELDS DELIVERED")
	} else {
		fmt.Fprintln(tw, "SEQ\tAT\tKIND\tOFFICIAL\tBASIS\tCASE\tDECISION\tREASON\tPERSONS\tFIELDS DELIVERED")
	}
	for _, s := range recs {
		at := s.At.UTC().Format(time.RFC3339)
		if bySubject {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Seq, at, cell(s.Org), cell(s.Official), cell(s.Basis),
				cell(s.Purpose), cell(s.CaseRef), cell(strings.Join(s.FieldsDelivered, ",")))
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Seq, at, s.Kind, cell(s.Official), cell(s.Basis),
			cell(s.CaseRef), cell(s.Decision), cell(s.Reason), cell(strings.Join(s.Persons, ",")), cell(strings.Join(s.FieldsDelivered, ",")))
	}
	return tw.Flush()
}

// cell makes a value fit one table cell: "-" when empty, control
// characters and tabs quoted.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		q := strconv.Quote(s)
		return q[1 : len(q)-1]
	}
	return s
}
