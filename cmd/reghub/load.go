package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/reghub/reghub/simulators/localregistry"
)

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var cfg localregistry.LoadConfig
	fs.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8080", "the hub's base URL")
	fs.StringVar(&cfg.Token, "token", os.Getenv("REGHUB_TOKEN"), "a registry client's bearer token (default $REGHUB_TOKEN)")
	fs.IntVar(&cfg.Actions, "actions", 2000, "how many synthetic actions to send")
	fs.IntVar(&cfg.Concurrency, "concurrency", 32, "requests in flight")
	fs.Int64Var(&cfg.Seed, "seed", time.Now().UnixNano(), "seed of the synthetic data")
	fs.DurationVar(&cfg.Wait, "wait", 5*time.Minute, "how long to wait for acknowledgements")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Token == "" {
		return localregistry.ErrNoToken
	}
	cfg.Progress = os.Stderr
	rep, err := localregistry.RunLoad(ctx, cfg)
	fmt.Print(rep.String())
	return err
}
