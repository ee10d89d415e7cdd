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
	"github.com/reghub/reghub/simulators/upstream"
)

// simulators are the two upstreams, served over real HTTP, and any other
// simulator started with serve.
type simulators struct {
	DMSURL, EDDRURL string
	servers         []*http.Server
}

func startSimulators(dmsAddr, eddrAddr string, dmsCfg, eddrCfg upstream.Config, log *slog.Logger) (*simulators, error) {
	s := &simulators{}
	for _, sim := range []struct {
		name    string
		addr    string
		handler http.Handler
		url     *string
	}{
		{"migration service (dms)", dmsAddr, dmssim.New(dmsCfg, log.With("simulator", "dms")).Handler(), &s.DMSURL},
		{"national registry (eddr)", eddrAddr, eddrsim.New(eddrCfg, log.With("simulator", "eddr")).Handler(), &s.EDDRURL},
	} {
		url, err := s.serve(sim.name, sim.addr, sim.handler, log)
		if err != nil {
			s.Close()
			return nil, err
		}
		*sim.url = url
	}
	return s, nil
}

// serve starts one more simulator on addr and returns its base URL; Close
// stops it with the others.
func (s *simulators) serve(name, addr string, h http.Handler, log *slog.Logger) (string, error) {
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
	log.Info("simulator serving", "simulator", name, "soap", url+"/soap", "inspect", url+"/inspect")
	return url, nil
}

func (s *simulators) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
}

func runSimulate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	dmsAddr := fs.String("dms-listen", "127.0.0.1:8081", "address of the migration service simulator")
	eddrAddr := fs.String("eddr-listen", "127.0.0.1:8082", "address of the national registry simulator")
	regbodyAddr := fs.String("regbody-listen", "127.0.0.1:8083", "address of the other registration bodies' simulator (previous_body); empty: none")
	militaryAddr := fs.String("military-listen", "127.0.0.1:8084", "address of the military enlistment centre's simulator (REST); empty: none")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	var dmsCfg, eddrCfg, regbodyCfg, militaryCfg upstream.Config
	dmsCfg.RegisterFlags(fs, "dms-")
	eddrCfg.RegisterFlags(fs, "eddr-")
	regbodyCfg.RegisterFlags(fs, "regbody-")
	militaryCfg.RegisterFlags(fs, "military-")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for name, c := range map[string]upstream.Config{"dms": dmsCfg, "eddr": eddrCfg, "regbody": regbodyCfg, "military": militaryCfg} {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%s simulator flags: %w", name, err)
		}
	}
	log := newLogger(os.Stderr, *logLevel, false)
	sims, err := startSimulators(*dmsAddr, *eddrAddr, dmsCfg, eddrCfg, log)
	if err != nil {
		return err
	}
	defer sims.Close()
	if *regbodyAddr != "" {
		rb := regbodysim.New(regbodyCfg, log.With("simulator", "regbody")).Handler()
		if _, err := sims.serve("registration bodies (previous_body)", *regbodyAddr, rb, log); err != nil {
			return err
		}
	}
	if *militaryAddr != "" {
		ms := militarysim.New(militaryCfg, log.With("simulator", "military")).Handler()
		if _, err := sims.serve("military enlistment centre (military)", *militaryAddr, ms, log); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}
