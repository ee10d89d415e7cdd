package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/simulators/localregistry"
	"github.com/reghub/reghub/simulators/upstream"
)

// credentials is what the demo writes for the user: each client's token.
type credentials struct {
	HubURL  string            `json:"hub_url"`
	Clients []credentialEntry `json:"clients"`
}

type credentialEntry struct {
	ID    string    `json:"id"`
	Role  auth.Role `json:"role"`
	Token string    `json:"token"`
}

func runDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var cfg serveConfig
	cfg.register(fs)
	actions := fs.Int("actions", 5000, "synthetic actions to send (0: just serve)")
	concurrency := fs.Int("concurrency", 32, "requests in flight while sending")
	exitWhenDone := fs.Bool("exit-when-done", false, "exit after the summary instead of serving on")
	seed := fs.Int64("seed", 1, "seed of the synthetic data")
	sims := newSimulatorSet(false)
	sims.DMS.Config = upstream.Config{Mode: upstream.ModeSync, Latency: 2 * time.Millisecond, LatencyJitter: 4 * time.Millisecond, RejectionRate: 0.01, Seed: 1}
	sims.EDDR.Config = upstream.Config{Mode: upstream.ModeAsync, AsyncDelay: 50 * time.Millisecond, Latency: 2 * time.Millisecond, LatencyJitter: 4 * time.Millisecond, ServerFaultRate: 0.02, Seed: 2}
	sims.RegBody.Config = upstream.Config{Latency: 2 * time.Millisecond, LatencyJitter: 4 * time.Millisecond, ServerFaultRate: 0.02, Seed: 3}
	sims.Military.Config = upstream.Config{Latency: 2 * time.Millisecond, LatencyJitter: 4 * time.Millisecond, ServerFaultRate: 0.02, Seed: 4}
	sims.Voter.Config = upstream.Config{Latency: 2 * time.Millisecond, ServerFaultRate: 0.2, Seed: 5}
	sims.Statistics.Config = upstream.Config{Latency: 2 * time.Millisecond, ServerFaultRate: 0.2, Seed: 6}
	sims.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.Lookup("data-dir").Value.String() == "reghub-data" {
		cfg.DataDir = "reghub-demo"
	}
	if cfg.Relay.RetryInitial == time.Second {
		// The demo's faults are brief; retry sooner so the summary comes soon.
		cfg.Relay.RetryInitial = 100 * time.Millisecond
	}
	if cfg.Relay.AckPoll == 500*time.Millisecond {
		cfg.Relay.AckPoll = 50 * time.Millisecond
	}
	// The terminal is for the progress and the summary; the hub's and the
	// simulators' logs (every injected fault, every retry) go to a file.
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", cfg.DataDir, err)
	}
	logPath := filepath.Join(cfg.DataDir, "reghub.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	defer logFile.Close()
	log := newLogger(logFile, cfg.LogLevel, cfg.LogJSON)

	if err := sims.start(log); err != nil {
		return err
	}
	defer sims.Close()
	sims.pointHub(&cfg)

	db, err := openDatabase(ctx, cfg.DatabaseURL, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := startHub(ctx, cfg, db.URL, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := h.Stop(); err != nil {
			log.Error("stop hub", "err", err)
		}
	}()
	base := "http://" + h.Addr

	creds := credentials{HubURL: base}
	stamp := time.Now().UTC().Format("20060102T150405")
	for _, c := range []struct {
		id   string
		role auth.Role
	}{
		{"local-registry", auth.RoleRegistry},
		{"authority", auth.RoleAuthority},
		{"operator", auth.RoleOperator},
		{"auditor", auth.RoleAuditor},
		{"admin", auth.RoleAdmin},
	} {
		// A demo rerun on the same data directory adds fresh clients.
		id := c.id + "-" + stamp
		tok, err := auth.Register(ctx, h.Store, id, "demo "+c.id, c.role)
		if err != nil {
			return fmt.Errorf("create demo client %s: %w", id, err)
		}
		if c.role == auth.RoleAuthority {
			// A social protection department: the shipped catalogue grants
			// its category the social.services basis.
			if err := h.Store.SetCategory(ctx, id, "social_protection"); err != nil {
				return fmt.Errorf("demo client %s: %w", id, err)
			}
		}
		creds.Clients = append(creds.Clients, credentialEntry{ID: id, Role: c.role, Token: tok})
	}
	credPath, err := writeCredentials(cfg, creds)
	if err != nil {
		return err
	}
	fmt.Printf("reghub demo\n  API:         %s  (try: curl -H 'Authorization: Bearer <registry token>' %s/v1/actions)\n  console:     %s/console/  (sign in with the operator token from the credentials file)\n  metrics:     %s/metrics\n  simulators:  %s\n  credentials: %s\n  log:         %s\n",
		base, base, base, base, sims.inspectURLs(), credPath, logPath)

	if *actions > 0 {
		fmt.Printf("sending %d synthetic actions…\n", *actions)
		rep, err := localregistry.RunLoad(ctx, localregistry.LoadConfig{
			BaseURL: base, Token: creds.Clients[0].Token, Actions: *actions, Concurrency: *concurrency,
			Seed: *seed, Progress: os.Stdout, Wait: 10 * time.Minute,
		})
		fmt.Print("\nsummary\n" + rep.String())
		if err != nil {
			return err
		}
		if err := demoRecipients(ctx, h); err != nil {
			return err
		}
		if err := demoQueries(ctx, h, base, creds.Clients[1].Token); err != nil {
			return err
		}
	}
	if *exitWhenDone {
		return nil
	}
	fmt.Println("serving; Ctrl-C to stop")
	<-ctx.Done()
	return nil
}

func writeCredentials(cfg serveConfig, c credentials) (string, error) {
	dir := cfg.DataDir
	if cfg.DatabaseURL != "" && dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, "credentials.json")
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode credentials: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	abs, _ := filepath.Abs(path)
	return abs, nil
}
