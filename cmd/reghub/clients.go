package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/auth"
)

const clientsUsage = `usage: reghub clients <subcommand> [flags]

Manage the hub's API clients directly on its database (works before any
admin token exists). The database is found as by serve: --database-url (or
$DATABASE_URL), else the embedded cluster under --data-dir.

subcommands:
  add     --id ID --role ROLE [--name NAME]   create a client and print its token, once
  list                                        list clients, revoked ones included
  revoke  --id ID                             revoke a client: its token stops working
  webhook --id ID --url URL                   send the client's status changes to URL, signed;
                                              prints the new signing secret, once (--url "" removes)

reghub clients <subcommand> -h shows its flags.`

// runClients is `reghub clients`.
func runClients(ctx context.Context, args []string) error {
	return runClientsTo(ctx, args, os.Stdout, os.Stderr)
}

// runClientsTo runs `reghub clients` writing results to stdout and notes to
// stderr.
func runClientsTo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, clientsUsage)
		return errors.New("missing subcommand: add, list, revoke or webhook")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(stderr, clientsUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("clients "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		db                      dbFlags
		id, name, role, hookURL string
		category                string
		asJSON                  bool
	)
	db.register(fs)
	switch sub {
	case "add":
		fs.StringVar(&id, "id", "", "client id (required; recorded with everything the client does)")
		fs.StringVar(&name, "name", "", "human-readable name (default: the id)")
		fs.StringVar(&role, "role", "", "registry, authority, operator, auditor or admin (required)")
		fs.StringVar(&category, "category", "", "an authority's requester category in the legal-basis catalogue (notary, social_protection…)")
		fs.BoolVar(&asJSON, "json", false, "print the new client as JSON")
	case "list":
		fs.BoolVar(&asJSON, "json", false, "print the clients as a JSON array")
	case "revoke":
		fs.StringVar(&id, "id", "", "id of the client to revoke (required)")
	case "webhook":
		fs.StringVar(&id, "id", "", "id of the client (required)")
		fs.StringVar(&hookURL, "url", "", "absolute http(s) URL to POST status changes to; empty removes the webhook")
	default:
		fmt.Fprintln(stderr, clientsUsage)
		return fmt.Errorf("unknown subcommand %q: want add, list, revoke or webhook", sub)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case sub != "list" && id == "":
		return errors.New("--id is required")
	case sub == "add" && !auth.Role(role).Valid():
		return fmt.Errorf("--role must be one of registry, authority, operator, auditor, admin (got %q)", role)
	case category != "" && auth.Role(role) != auth.RoleAuthority:
		return errors.New("--category is for authority clients only")
	}

	pool, closeDB, err := db.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeDB()
	store := postgres.New(pool)

	switch sub {
	case "add":
		if err := clientsAdd(ctx, store, id, name, auth.Role(role), asJSON, stdout, stderr); err != nil {
			return err
		}
		if category == "" {
			return nil
		}
		return store.SetCategory(ctx, id, category)
	case "list":
		return clientsList(ctx, store, asJSON, stdout)
	case "webhook":
		secret, err := auth.ConfigureWebhook(ctx, store, id, hookURL)
		if err != nil {
			return err
		}
		if hookURL == "" {
			fmt.Fprintf(stdout, "client %s: webhook removed\n", id)
			return nil
		}
		fmt.Fprintf(stdout, "client %s: status changes go to %s\nsigning secret (shown once): %s\n", id, hookURL, secret)
		return nil
	default:
		if err := store.RevokeClient(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client %s revoked\n", id)
		return nil
	}
}

// clientJSON is a client as `clients add|list --json` print it.
type clientJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      auth.Role  `json:"role"`
	Category  string     `json:"category,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at"`
	Token     string     `json:"token,omitempty"`
	Webhook   string     `json:"webhook_url,omitempty"`
}

func clientsAdd(ctx context.Context, store auth.Store, id, name string, role auth.Role, asJSON bool, stdout, stderr io.Writer) error {
	if name == "" {
		name = id
	}
	tok, err := auth.Register(ctx, store, id, name, role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "reghub clients add: the token is shown only this once; the hub keeps only its hash. Store it safely now.")
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(clientJSON{ID: id, Name: name, Role: role, Token: tok})
	}
	_, err = fmt.Fprintf(stdout, "client %s (%s, role %s) added\ntoken: %s\n", id, name, role, tok)
	return err
}

func clientsList(ctx context.Context, store auth.Store, asJSON bool, stdout io.Writer) error {
	cs, err := store.ListClients(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]clientJSON, 0, len(cs))
		for _, c := range cs {
			created := c.CreatedAt.UTC()
			var revoked *time.Time
			if c.RevokedAt != nil {
				r := c.RevokedAt.UTC()
				revoked = &r
			}
			out = append(out, clientJSON{ID: c.ID, Name: c.Name, Role: c.Role, Category: c.Category, CreatedAt: &created, RevokedAt: revoked, Webhook: c.WebhookURL})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED\tWEBHOOK")
	for _, c := range cs {
		revoked := "-"
		if c.RevokedAt != nil {
			revoked = c.RevokedAt.UTC().Format(time.RFC3339)
		}
		hook := c.WebhookURL
		if hook == "" {
			hook = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Role, c.CreatedAt.UTC().Format(time.RFC3339), revoked, hook)
	}
	return tw.Flush()
}
