package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/reghub/reghub/simulators/dmssim"
	"github.com/reghub/reghub/simulators/eddrsim"
	"github.com/reghub/reghub/simulators/militarysim"
	"github.com/reghub/reghub/simulators/regbodysim"
	"github.com/reghub/reghub/simulators/statsim"
	"github.com/reghub/reghub/simulators/upstream"
	"github.com/reghub/reghub/simulators/votersim"
)

// simulator is one recipient's simulator: where it listens, how it
// behaves, and once started its base URL.
type simulator struct {
	Name   string // the flags' prefix
	Title  string
	Addr   string // empty: not started
	Config upstream.Config
	URL    string
	build  func(upstream.Config, *slog.Logger) http.Handler
}

// simulatorSet is every recipient's simulator, in the order they start.
type simulatorSet struct {
	DMS, EDDR, RegBody, Military, Voter, Statistics simulator
	servers                                         []*http.Server
}

// newSimulatorSet gives every simulator its default address (a fixed
// port for `simulate`, port 0 for the demo).
func newSimulatorSet(fixedPorts bool) *simulatorSet {
	addr := func(port int) string {
		if fixedPorts {
			return fmt.Sprintf("127.0.0.1:%d", port)
		}
		return "127.0.0.1:0"
	}
	return &simulatorSet{
		DMS: simulator{Name: "dms", Title: "migration service (dms)", Addr: addr(8081),
			build: func(c upstream.Config, l *slog.Logger) http.Handler { return dmssim.New(c, l).Handler() }},
		EDDR: simulator{Name: "eddr", Title: "national registry (eddr)", Addr: addr(8082),
			build: func(c upstream.Config, l *slog.Logger) http.Handler { return eddrsim.New(c, l).Handler() }},
		RegBody: simulator{Name: "regbody", Title: "other registration bodies (previous_body)", Addr: addr(8083),
			build: func(c upstream.Config, l *slog.Logger) http.Handler { return regbodysim.New(c, l).Handler() }},
		Military: simulator{Name: "military", Title: "military enlistment centre (military)", Addr: addr(8084),
			build: func(c upstream.Config, l *slog.Logger) http.Handler { return militarysim.New(c, l).Handler() }},
		Voter: simulator{Name: "voter", Title: "State Voter Register (voter_register)", Addr: addr(8085),
			build: func(c upstream.Config, l *slog.Logger) http.Handler { return votersim.New(c, l).Handler() }},
		Statistics: simulator{Name: "statistics", Title: "State Statistics Service (statistics)", Addr: addr(8086),
			build: func(c upstream.Config, l *slog.Logger) http.Handler { return statsim.New(c, l).Handler() }},
	}
}

func (s *simulatorSet) all() []*simulator {
	return []*simulator{&s.DMS, &s.EDDR, &s.RegBody, &s.Military, &s.Voter, &s.Statistics}
}

// register adds each simulator's -listen flag and fault flags.
func (s *simulatorSet) register(fs *flag.FlagSet) {
	for _, sim := range s.all() {
		fs.StringVar(&sim.Addr, sim.Name+"-listen", sim.Addr, "address of the "+sim.Title+" simulator; empty: not started")
		sim.Config.RegisterFlags(fs, sim.Name+"-")
	}
}

// start validates every simulator's configuration and serves each that
// has an address; on an error the ones started are stopped.
func (s *simulatorSet) start(log *slog.Logger) error {
	for _, sim := range s.all() {
		if err := sim.Config.Validate(); err != nil {
			return fmt.Errorf("%s simulator flags: %w", sim.Name, err)
		}
	}
	for _, sim := range s.all() {
		if sim.Addr == "" {
			continue
		}
		url, err := s.serve(sim.Title, sim.Addr, sim.build(sim.Config, log.With("simulator", sim.Name)), log)
		if err != nil {
			s.Close()
			return err
		}
		sim.URL = url
	}
	return nil
}

// serve starts one simulator on addr and returns its base URL.
func (s *simulatorSet) serve(name, addr string, h http.Handler, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("simulator %s: listen on %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	url := "http://" + ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("simulator stopped", "simulator", name, "err", err)
		}
	}()
	log.Info("simulator serving", "simulator", name, "url", url, "inspect", url+"/inspect")
	return url, nil
}

// pointHub sends the hub to the simulators that were started.
func (s *simulatorSet) pointHub(cfg *serveConfig) {
	if s.DMS.URL != "" {
		cfg.DMSURL = s.DMS.URL + "/soap"
	}
	if s.EDDR.URL != "" {
		cfg.EDDRURL = s.EDDR.URL + "/soap"
	}
	if s.RegBody.URL != "" {
		cfg.Recipients.RegBodyURL = s.RegBody.URL + "/soap"
	}
	if s.Military.URL != "" {
		cfg.Recipients.MilitaryURL = s.Military.URL
	}
	if s.Voter.URL != "" {
		cfg.Recipients.VoterURL = s.Voter.URL + "/soap"
	}
	if s.Statistics.URL != "" {
		cfg.Recipients.StatisticsURL = s.Statistics.URL
	}
}

func (s *simulatorSet) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
}

func runSimulate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	sims := newSimulatorSet(true)
	sims.register(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(os.Stderr, *logLevel, false)
	if err := sims.start(log); err != nil {
		return err
	}
	defer sims.Close()
	<-ctx.Done()
	return nil
}

// inspectURLs lists the started simulators' inspection pages.
func (s *simulatorSet) inspectURLs() string {
	var out string
	for _, sim := range s.all() {
		if sim.URL != "" {
			out += fmt.Sprintf("\n    %-9s %s/inspect", sim.Name, sim.URL)
		}
	}
	return out
}
