package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reghub/reghub/action"
)

// `reghub ops injunctions list|add|lift`: the court injunctions that block
// registration actions at an address (001 §2.5.17), through
// /v1/ops/injunctions.

// injunctionArgs are the flags of `reghub ops injunctions VERB`.
type injunctionArgs struct {
	verb                                string
	court, reference, decidedOn         string
	address                             action.Address
	validFrom, validUntil, note, reason string
	katottg                             string // list filter
	lifted                              bool
	limit                               int
}

// injunctionFlags reads the verb from args and defines its flags on fs; it
// returns the name of its positional argument ("" for none) and the
// arguments after the verb.
func injunctionFlags(fs *flag.FlagSet, args []string, in *injunctionArgs) (positional string, rest []string, err error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, errors.New("missing the injunctions subcommand: list, add or lift")
	}
	in.verb, rest = args[0], args[1:]
	switch in.verb {
	case "list":
		fs.StringVar(&in.katottg, "katottg", "", "only the injunctions in this community (KATOTTG code)")
		fs.BoolVar(&in.lifted, "lifted", false, "list lifted injunctions too")
		fs.IntVar(&in.limit, "limit", 0, "most injunctions listed (1-1000; default 200)")
	case "add":
		fs.StringVar(&in.court, "court", "", "the court that ruled (required)")
		fs.StringVar(&in.reference, "reference", "", "the case or decision number (required)")
		fs.StringVar(&in.decidedOn, "decided-on", "", "the date of the ruling, YYYY-MM-DD (required)")
		fs.StringVar(&in.address.KATOTTG, "katottg", "", "the address's KATOTTG code (required)")
		fs.StringVar(&in.address.Street, "street", "", "the street")
		fs.StringVar(&in.address.Building, "building", "", "the building (required)")
		fs.StringVar(&in.address.Block, "block", "", "the building's block")
		fs.StringVar(&in.address.Apartment, "apartment", "", "the apartment; without it the whole building is covered")
		fs.StringVar(&in.validFrom, "valid-from", "", "in force from, YYYY-MM-DD (default: the date of the ruling)")
		fs.StringVar(&in.validUntil, "valid-until", "", "in force until, YYYY-MM-DD (default: until lifted)")
		fs.StringVar(&in.note, "note", "", "a note kept with the injunction")
		fs.StringVar(&in.reason, "reason", "", "why it is recorded now (recorded with the step)")
	case "lift":
		positional = "injunction ID"
		fs.StringVar(&in.reason, "reason", "", "the ruling that lifted it, or why (required; recorded with the step)")
	default:
		return "", nil, fmt.Errorf("unknown injunctions subcommand %q: list, add or lift", in.verb)
	}
	return positional, rest, nil
}

// runInjunctions calls the API for `reghub ops injunctions VERB` and prints
// its answer.
func runInjunctions(ctx context.Context, c *opsClient, out *opsOutput, in injunctionArgs, arg string) error {
	switch in.verb {
	case "list":
		q := url.Values{}
		if in.katottg != "" {
			q.Set("katottg", in.katottg)
		}
		if in.lifted {
			q.Set("lifted", "true")
		}
		if in.limit != 0 {
			q.Set("limit", strconv.Itoa(in.limit))
		}
		raw, err := c.do(ctx, http.MethodGet, "/v1/ops/injunctions", q, nil)
		if err != nil {
			return err
		}
		return out.injunctions(raw)
	case "add":
		var missing []string
		for _, f := range []struct{ name, v string }{
			{"--court", in.court}, {"--reference", in.reference}, {"--decided-on", in.decidedOn},
			{"--katottg", in.address.KATOTTG}, {"--building", in.address.Building},
		} {
			if strings.TrimSpace(f.v) == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s required", strings.Join(missing, ", "))
		}
		body := map[string]any{"court": in.court, "reference": in.reference, "decided_on": in.decidedOn, "address": in.address}
		for k, v := range map[string]string{"valid_from": in.validFrom, "valid_until": in.validUntil, "note": in.note, "reason": in.reason} {
			if v != "" {
				body[k] = v
			}
		}
		raw, err := c.do(ctx, http.MethodPost, "/v1/ops/injunctions", nil, body)
		if err != nil {
			return err
		}
		return out.injunction(raw, "recorded")
	default: // lift
		if strings.TrimSpace(in.reason) == "" {
			return errors.New("--reason is required: name the ruling that lifted it, it is recorded with the step")
		}
		raw, err := c.do(ctx, http.MethodPost, "/v1/ops/injunctions/"+url.PathEscape(arg)+"/lift", nil, map[string]string{"reason": in.reason})
		if err != nil {
			return err
		}
		return out.injunction(raw, "lifted")
	}
}

// cliInjunction is what the CLI reads of an injunction (schema Injunction).
type cliInjunction struct {
	ID         string         `json:"id"`
	Court      string         `json:"court"`
	Reference  string         `json:"reference"`
	DecidedOn  string         `json:"decided_on"`
	Address    action.Address `json:"address"`
	ValidFrom  string         `json:"valid_from"`
	ValidUntil string         `json:"valid_until"`
	Active     bool           `json:"active"`
	Lifted     bool           `json:"lifted"`
	LiftedAt   *time.Time     `json:"lifted_at"`
	LiftedBy   string         `json:"lifted_by"`
	LiftReason string         `json:"lift_reason"`
	CreatedBy  string         `json:"created_by"`
}

func (o *opsOutput) injunctions(raw []byte) error {
	if o.json {
		return o.raw(raw)
	}
	var list struct {
		Items []cliInjunction `json:"items"`
	}
	if err := decode(raw, &list); err != nil {
		return err
	}
	tw := o.table()
	fmt.Fprintln(tw, "ID\tREFERENCE\tCOURT\tDECIDED\tADDRESS\tIN FORCE\tSTATE\tBY")
	for _, in := range list.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Reference, clip(in.Court, 40), in.DecidedOn,
			addressLine(in.Address), validity(in), injunctionState(in), in.CreatedBy)
	}
	return tw.Flush()
}

func (o *opsOutput) injunction(raw []byte, done string) error {
	if o.json {
		return o.raw(raw)
	}
	var in cliInjunction
	if err := decode(raw, &in); err != nil {
		return err
	}
	_, err := fmt.Fprintf(o.stdout, "%s injunction %s (%s, %s, %s) on %s, in force %s: %s\n",
		done, in.ID, in.Reference, in.Court, in.DecidedOn, addressLine(in.Address), validity(in), injunctionState(in))
	return err
}

// addressLine prints an injunction's address on one line.
func addressLine(a action.Address) string {
	parts := []string{a.KATOTTG}
	if a.Street != "" {
		parts = append(parts, a.Street)
	}
	b := "bldg " + a.Building
	if a.Block != "" {
		b += " block " + a.Block
	}
	parts = append(parts, b)
	if a.Apartment != "" {
		parts = append(parts, "apt "+a.Apartment)
	} else {
		parts = append(parts, "whole building")
	}
	return strings.Join(parts, ", ")
}

func validity(in cliInjunction) string {
	if in.ValidUntil == "" {
		return in.ValidFrom + " until lifted"
	}
	return in.ValidFrom + " to " + in.ValidUntil
}

func injunctionState(in cliInjunction) string {
	switch {
	case in.Lifted:
		s := "lifted"
		if in.LiftedAt != nil {
			s += " " + stamp(*in.LiftedAt)
		}
		if in.LiftedBy != "" {
			s += " by " + in.LiftedBy
		}
		if in.LiftReason != "" {
			s += " (" + clip(in.LiftReason, 60) + ")"
		}
		return s
	case in.Active:
		return "active: actions at the address are refused"
	default:
		return "not in force today"
	}
}
