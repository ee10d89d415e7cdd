package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/adapters/console"
	"github.com/reghub/reghub/adapters/httpapi"
	"github.com/reghub/reghub/adapters/jetstream"
	"github.com/reghub/reghub/adapters/lifecycle"
	"github.com/reghub/reghub/adapters/metrics"
	"github.com/reghub/reghub/adapters/postgres"
	"github.com/reghub/reghub/adapters/postgres/pgcluster"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/adapters/soapnotice"
	"github.com/reghub/reghub/adapters/soapquery"
	"github.com/reghub/reghub/adapters/webhook"
	"github.com/reghub/reghub/audit"
	"github.com/reghub/reghub/auth"
	"github.com/reghub/reghub/guard"
	"github.com/reghub/reghub/mapping"
	"github.com/reghub/reghub/monthly"
	"github.com/reghub/reghub/notice"
	"github.com/reghub/reghub/ops"
	"github.com/reghub/reghub/outbox"
)

// serveConfig is everything `reghub serve` and `reghub demo` share.
type serveConfig struct {
	Listen      string
	DatabaseURL string
	DataDir     string
	DMSURL      string
	EDDRURL     string
	LogLevel    string
	LogJSON     bool
	Relay       outbox.Config
	DBMaxConns  int
	// AcceptBatch and AcceptCommitters tune the group commit of accepts.
	AcceptBatch, AcceptCommitters int
	BodyCode                      string
	BodyName                      string
	DebugListen                   string
	// DMSMemberCode is the migration service's X-Road member code: the id
	// of the client that may send notices to /soap/notices.
	DMSMemberCode string
	// Retain is how long completed history is kept (0: forever); see retention.go.
	Retain time.Duration
	// NATSURL, if set, hands the SOAP exchanges to delivery workers
	// (`reghub worker`) through JetStream instead of sending them here.
	NATSURL string
	// Query is how authorities' queries are answered; AuditKey signs the
	// audit log's checkpoints.
	Query           queryConfig
	AuditKey        string
	AuditCheckpoint time.Duration
	// Recipients are the recipients beyond the national systems and the
	// routing rules that choose them.
	Recipients recipientConfig
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	def := outbox.DefaultConfig()
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address of the REST API, health and metrics")
	fs.StringVar(&c.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL; empty: start an embedded cluster under --data-dir)")
	fs.StringVar(&c.DataDir, "data-dir", "reghub-data", "directory of the embedded PostgreSQL cluster, used when no database URL is set")
	fs.StringVar(&c.DMSURL, "dms-url", "http://127.0.0.1:8081/soap", "SOAP endpoint of the migration service")
	fs.StringVar(&c.EDDRURL, "eddr-url", "http://127.0.0.1:8082/soap", "SOAP endpoint of the national demographic registry")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&c.LogJSON, "log-json", false, "log as JSON lines")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", 32, "most database connections")
	fs.IntVar(&c.AcceptBatch, "accept-batch", 64, "most accepted actions stored in one transaction (group commit; 1: one transaction each)")
	fs.IntVar(&c.AcceptCommitters, "accept-committers", 4, "transactions storing accepted actions at once")
	fs.StringVar(&c.NATSURL, "nats-url", "", "NATS JetStream URL: forward the SOAP exchanges to reghub worker processes (empty: this process sends them)")
	c.Query.register(fs)
	fs.StringVar(&c.AuditKey, "audit-key", "", "Ed25519 key (PEM) signing the audit log's checkpoints; created if missing (default: audit.key under --data-dir)")
	fs.DurationVar(&c.AuditCheckpoint, "audit-checkpoint-every", time.Minute, "how often the audit log's head is signed")
	fs.StringVar(&c.DebugListen, "debug-listen", "", "address of the pprof endpoints (/debug/pprof/); empty: off. Keep it on loopback")
	fs.StringVar(&c.BodyCode, "registration-body-code", "UA1204-RB001", "code of the registration body this hub speaks for (sent upstream)")
	fs.StringVar(&c.BodyName, "registration-body-name", "Демонстраційний орган реєстрації", "name of the registration body")
	fs.StringVar(&c.DMSMemberCode, "dms-member-code", mapping.DefaultDMSService.MemberCode, "X-Road member code of the migration service: the id of the client (role authority) whose notices /soap/notices accepts")
	fs.IntVar(&c.Relay.BatchSize, "relay-batch", def.BatchSize, "most outbox messages claimed at once")
	fs.IntVar(&c.Relay.Concurrency, "relay-concurrency", def.Concurrency, "most messages in flight")
	fs.DurationVar(&c.Relay.IdlePoll, "relay-idle-poll", def.IdlePoll, "wait between claims when the outbox is empty")
	fs.DurationVar(&c.Relay.SendTimeout, "send-timeout", def.SendTimeout, "timeout of one exchange with an upstream")
	fs.DurationVar(&c.Relay.AckPoll, "ack-poll", def.AckPoll, "interval between status polls of an asynchronous receipt")
	fs.DurationVar(&c.Relay.AckTimeout, "ack-timeout", def.AckTimeout, "a receipt with no decision by then is resent")
	fs.IntVar(&c.Relay.MaxAttempts, "max-attempts", def.MaxAttempts, "sends before a delivery is dead")
	fs.DurationVar(&c.Relay.RetryInitial, "retry-initial", def.RetryInitial, "first retry delay (doubles, with jitter)")
	fs.DurationVar(&c.Relay.RetryMax, "retry-max", def.RetryMax, "longest retry delay")
	fs.IntVar(&c.Relay.CircuitThreshold, "circuit-threshold", def.CircuitThreshold, "consecutive upstream failures that open a destination's circuit (0: never)")
	fs.DurationVar(&c.Relay.CircuitCooldown, "circuit-cooldown", def.CircuitCooldown, "how long an open circuit waits before probing (doubles while probes fail)")
	fs.DurationVar(&c.Relay.CircuitMaxCooldown, "circuit-max-cooldown", def.CircuitMaxCooldown, "longest wait of an open circuit before a probe: a recovered upstream waits at most this long")
	fs.DurationVar(&c.Relay.Lease, "claim-lease", 0, "how long a claimed message is held before another relay may take it (0: twice the send timeout plus 5s)")
	c.Recipients.register(fs)
	c.Retain = defaultRetain
	fs.Var((*retainFlag)(&c.Retain), "retain", "how long (a `duration`) completed, rejected and cancelled actions and consumed lifecycle events are kept after their last change; an Idempotency-Key is honoured this long only. At least 24h; 0: keep forever")
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serveConfig
	cfg.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogJSON)
	// Refused before a database is started for it.
	if err := cfg.Recipients.checkMonthlyRetain(cfg.Retain); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg.DatabaseURL, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := startHub(ctx, cfg, db.URL, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	return h.Stop()
}

// database is the hub's PostgreSQL: an external one, or a cluster the hub
// started itself under its data directory.
type database struct {
	URL     string
	cluster *pgcluster.Cluster
	log     *slog.Logger
}

func openDatabase(ctx context.Context, url, dataDir string, log *slog.Logger) (*database, error) {
	if url != "" {
		return &database{URL: url, log: log}, nil
	}
	pgDir := filepath.Join(dataDir, "postgres")
	log.Info("no database URL set; starting the embedded PostgreSQL cluster", "dir", pgDir)
	c, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: pgDir, Durable: true, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start embedded PostgreSQL under %s: %w", dataDir, err)
	}
	log.Info("embedded PostgreSQL ready", "port", c.Port(), "reused_running_server", c.Reused())
	return &database{URL: c.URL(), cluster: c, log: log}, nil
}

// Close stops the embedded cluster, if the hub started one.
func (d *database) Close() {
	if d.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.cluster.Stop(ctx); err != nil {
		d.log.Error("stop embedded PostgreSQL", "err", err)
	}
}

// hub is a running hub: API server and relay over one pool.
type hub struct {
	Addr   string
	Store  *postgres.Store
	pool   *pgxpool.Pool
	sqlDB  *sql.DB
	srv    *http.Server
	cancel context.CancelFunc
	done   chan error
	log    *slog.Logger
	// fwd, if set, is closed once the relay has stopped.
	fwd *jetstream.Forwarder
}

func startHub(ctx context.Context, cfg serveConfig, dbURL string, log *slog.Logger) (*hub, error) {
	if cfg.Relay.Lease != 0 && cfg.Relay.Lease < cfg.Relay.SendTimeout+time.Second {
		// A claim that runs out while its exchange is still under way would
		// let another relay send the same message meanwhile.
		return nil, fmt.Errorf("--claim-lease %s must exceed --send-timeout %s by at least 1s", cfg.Relay.Lease, cfg.Relay.SendTimeout)
	}
	// A bad catalogue, rule file or key stops the start before anything is served.
	catalogue, calendar, err := loadQueryRules(cfg.Query)
	if err != nil {
		return nil, err
	}
	rules, err := cfg.Recipients.loadRouting()
	if err != nil {
		return nil, err
	}
	monthlyZone, err := cfg.Recipients.monthlyZone()
	if err != nil {
		return nil, err
	}
	if err := cfg.Recipients.checkMonthlyRetain(cfg.Retain); err != nil {
		return nil, err
	}
	keyPath := cfg.AuditKey
	if keyPath == "" {
		keyPath = filepath.Join(cfg.DataDir, "audit.key")
	}
	signer, created, err := audit.LoadOrCreateKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	if created {
		log.Info("created the audit log's signing key", "path", keyPath, "key_id", signer.KeyID())
	}
	if err := postgres.MigrateURL(ctx, dbURL); err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	if cfg.DBMaxConns > 0 {
		pcfg.MaxConns = int32(cfg.DBMaxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	store := postgres.New(pool)
	store.GroupAccepts(cfg.AcceptBatch, cfg.AcceptCommitters)
	sqlDB := stdlib.OpenDBFromPool(pool)
	events, err := lifecycle.NewRouter(sqlDB, log)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("lifecycle events: %w", err)
	}

	soapCfg := soapclient.Config{
		DMSURL: cfg.DMSURL, EDDRURL: cfg.EDDRURL, Timeout: cfg.Relay.SendTimeout,
		RegistrationBody: mapping.RegistrationBody{Code: cfg.BodyCode, Name: cfg.BodyName},
	}
	senders := soapclient.NewSenders(soapCfg, nil)
	addRecipientSenders(senders, cfg.Recipients, rules, soapCfg, cfg.Relay.SendTimeout, soapCfg.RegistrationBody, log)
	auditLog := postgres.NewAuditLog(pool, postgres.AuditOptions{})
	queries := newQueryService(catalogue, calendar, store, audit.Recorder{Log: auditLog}, soapCfg, log)
	clients := auth.NewCached(store, 5*time.Second)
	var fwd *jetstream.Forwarder
	if cfg.NATSURL != "" {
		nc, err := jetstream.Connect(cfg.NATSURL, "reghub serve")
		if err != nil {
			pool.Close()
			return nil, err
		}
		// Answers are awaited until Stop, past the end of ctx.
		if fwd, err = jetstream.NewForwarder(context.WithoutCancel(ctx), nc, log); err != nil {
			nc.Close()
			pool.Close()
			return nil, fmt.Errorf("forward through JetStream: %w", err)
		}
		for dest, local := range senders {
			if slices.Contains(monthly.Recipients, dest) {
				// A month's set may be megabytes: above a NATS server's
				// max_payload (1 MB by default). Once a month, the hub sends it.
				continue
			}
			senders[dest] = fwd.Sender(dest, local)
		}
		log.Info("SOAP exchanges forwarded to delivery workers", "nats", cfg.NATSURL, "stream", jetstream.StreamName)
	}
	// Webhooks stay here: signing needs the client's secret from the database.
	senders[action.DestWebhook] = webhook.New(store, cfg.Relay.SendTimeout)
	relay := outbox.NewRelay(store, senders, cfg.Relay, log)
	svc := action.NewService(store, nil, relay.Wake)
	svc.SetGuard(guard.New(store)) // 001 §2.5.16–2.5.18
	svc.SetRouter(rules)
	sched := cfg.Recipients.scheduler(monthlyZone, store, store, relay.Wake, log)
	opsSvc := ops.NewService(store, ops.RenderWith(senders), relay.Wake)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		if fwd != nil {
			_ = fwd.Close()
		}
		pool.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	api := httpapi.Handler(httpapi.Deps{
		Actions: svc, Ops: opsSvc, Clients: clients, Logger: log, Feed: action.NewFeed(store, 100*time.Millisecond),
		Queries: queries, Injunctions: ops.NewInjunctions(store),
		Ready: func(ctx context.Context) error {
			cur, latest, err := postgres.SchemaVersion(ctx, pool)
			if err != nil {
				return fmt.Errorf("database not reachable: %w", err)
			}
			if cur < latest {
				return fmt.Errorf("migrations not applied: schema version %d of %d", cur, latest)
			}
			return nil
		},
	})
	// The operator console lives in the same binary, under /console.
	mux := http.NewServeMux()
	con := console.Handler(console.Deps{Ops: opsSvc, Clients: clients, Activity: store, Logger: log})
	mux.Handle("/console/", con)
	mux.Handle("/console", con)
	// The same queries over SOAP, with X-Road headers (schemas/query).
	mux.Handle("/soap/queries", soapquery.Handler(queries, soapquery.Clients(clients), log))
	// The migration service's notices (schemas/notice), relayed to the registry's feed.
	notices := &notice.Service{Store: store, RegistrationBodyCode: cfg.BodyCode}
	mux.Handle("/soap/notices", soapnotice.Handler(notices, soapnotice.Clients(clients), soapnotice.Config{DMSMemberCode: cfg.DMSMemberCode}, log))
	mux.Handle("/", api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}

	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &hub{Addr: ln.Addr().String(), Store: store, pool: pool, sqlDB: sqlDB, srv: srv, cancel: cancel, done: make(chan error, 4), log: log, fwd: fwd}
	go func() { h.done <- relay.Run(rctx) }()
	go func() {
		// Returns once rctx is done and its handlers stopped.
		err := events.Run(rctx)
		if err != nil {
			log.Error("lifecycle event router stopped", "err", err)
		}
		h.done <- err
	}()
	go metrics.RunBacklogGauges(rctx, store, 15*time.Second, log)
	go startRetention(rctx, store, cfg.Retain, defaultRetentionEvery, log)
	go runQueryResolver(rctx, queries, cfg.Query.ResolveEvery, log)
	go func() {
		if sched != nil {
			h.done <- sched.Run(rctx, cfg.Recipients.MonthlyEvery)
			return
		}
		h.done <- nil
	}()
	go func() {
		// Signs once more on the way out: the last records are covered.
		auditLog.RunCheckpoints(rctx, cfg.AuditCheckpoint, signer)
		h.done <- nil
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "err", err)
		}
	}()
	if cfg.DebugListen != "" {
		// pprof's own mux, on its own listener: never on the API's address.
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
		dbg.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() {
			srv := &http.Server{Addr: cfg.DebugListen, Handler: dbg, ReadHeaderTimeout: 10 * time.Second}
			if err := srv.ListenAndServe(); err != nil {
				log.Error("debug server stopped", "err", err)
			}
		}()
	}
	log.Info("reghub serving", "addr", h.Addr, "dms", cfg.DMSURL, "eddr", cfg.EDDRURL)
	return h, nil
}

// Stop drains the API, lets the relay finish what is in flight and write its
// results, then closes the pool.
func (h *hub) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	h.cancel()
	for range cap(h.done) { // the relay, the lifecycle router, the audit checkpoints, the monthly sets
		if rerr := <-h.done; rerr != nil && err == nil {
			err = rerr
		}
	}
	if h.fwd != nil {
		if ferr := h.fwd.Close(); ferr != nil {
			h.log.Warn("close JetStream forwarder", "err", ferr)
		}
	}
	_ = h.sqlDB.Close()
	h.pool.Close()
	return err
}
