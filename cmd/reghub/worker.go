package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reghub/reghub/adapters/jetstream"
	soapclient "github.com/reghub/reghub/adapters/soap"
	"github.com/reghub/reghub/mapping"
)

// runWorker performs the SOAP exchanges that `reghub serve --nats-url`
// forwards through JetStream; run as many as the upstreams' traffic needs,
// on any machine that reaches NATS and the upstreams.
func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	natsURL := fs.String("nats-url", "nats://127.0.0.1:4222", "NATS JetStream URL the hub forwards to")
	listen := fs.String("listen", "127.0.0.1:0", "address of /metrics and /healthz")
	name := fs.String("name", "", "worker name in answers and logs (default: a random one)")
	concurrency := fs.Int("concurrency", 64, "exchanges under way at once, per destination")
	sendTimeout := fs.Duration("send-timeout", 10*time.Second, "timeout of one exchange (the hub's deadline also bounds it)")
	dmsURL := fs.String("dms-url", "http://127.0.0.1:8081/soap", "SOAP endpoint of the migration service")
	eddrURL := fs.String("eddr-url", "http://127.0.0.1:8082/soap", "SOAP endpoint of the national demographic registry")
	bodyCode := fs.String("registration-body-code", "UA1204-RB001", "code of the registration body the hub speaks for (sent upstream)")
	bodyName := fs.String("registration-body-name", "Демонстраційний орган реєстрації", "name of the registration body")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	var recipients recipientConfig
	recipients.registerEndpoints(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	rules, err := recipients.loadRouting()
	if err != nil {
		return err
	}
	if *concurrency <= 0 {
		return fmt.Errorf("--concurrency must be positive, got %d", *concurrency)
	}
	log := newLogger(os.Stderr, *logLevel, *logJSON)
	// The same senders, mapping and registration body as the hub: what a
	// worker sends is exactly what the hub would have sent.
	soapCfg := soapclient.Config{
		DMSURL: *dmsURL, EDDRURL: *eddrURL, Timeout: *sendTimeout,
		RegistrationBody: mapping.RegistrationBody{Code: *bodyCode, Name: *bodyName},
	}
	senders := soapclient.NewSenders(soapCfg, nil)
	addRecipientSenders(senders, recipients, rules, soapCfg, *sendTimeout, soapCfg.RegistrationBody, log)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("worker HTTP server stopped", "err", err)
		}
	}()
	defer func() { _ = srv.Close() }()
	log.Info("worker metrics", "addr", ln.Addr().String())

	w := jetstream.NewWorker(*natsURL, senders, jetstream.WorkerConfig{
		Name: *name, Concurrency: *concurrency, AckWait: *sendTimeout + 5*time.Second,
	}, log)
	return w.Run(ctx)
}
