package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

var workerExchanges = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "reghub_worker_exchanges_total",
	Help: "Exchanges a delivery worker performed, by destination and outcome (answered, failed, stale, unreadable).",
}, []string{"destination", "outcome"})

// WorkerConfig tunes a delivery worker.
type WorkerConfig struct {
	// Name identifies the worker in answers and logs.
	Name string
	// Concurrency is how many exchanges per destination run at once.
	Concurrency int
	// AckWait is how long JetStream waits for the worker before handing the
	// request to another: longer than the hub's send timeout.
	AckWait time.Duration
}

// Worker consumes forwarded exchanges and performs them with its senders.
type Worker struct {
	url     string
	senders map[action.Destination]outbox.Sender
	cfg     WorkerConfig
	log     *slog.Logger
}

// NewWorker builds a worker for the destinations it has senders for, on
// the NATS server at url.
func NewWorker(url string, senders map[action.Destination]outbox.Sender, cfg WorkerConfig, log *slog.Logger) *Worker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.Name == "" {
		cfg.Name = "worker-" + watermill.NewShortUUID()
	}
	return &Worker{url: url, senders: senders, cfg: cfg, log: log}
}

// Run consumes until ctx ends, then lets exchanges under way finish.
func (w *Worker) Run(ctx context.Context) error {
	// A connection per subscriber and one for answers: closing a
	// subscriber drains its connection, which must not cut the answers of
	// exchanges still under way for another destination.
	answersConn, err := Connect(w.url, w.cfg.Name+" answers")
	if err != nil {
		return err
	}
	if err := EnsureStream(answersConn); err != nil {
		answersConn.Close()
		return err
	}
	wlog := watermillLogger(w.log)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: w.cfg.AckWait}, wlog)
	if err != nil {
		answersConn.Close()
		return fmt.Errorf("watermill router: %w", err)
	}
	router.AddMiddleware(middleware.Recoverer)
	answers, err := wmnats.NewPublisherWithNatsConn(answersConn, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         wmnats.JetStreamConfig{Disabled: true},
	}, wlog)
	if err != nil {
		answersConn.Close()
		return fmt.Errorf("answer publisher: %w", err)
	}
	// Closed once the router has stopped, so the last answers go out.
	defer answers.Close()
	for dest, sender := range w.senders {
		// One durable consumer per destination, shared by every worker as a
		// queue group: each request goes to one worker, and a request a
		// worker took but never acknowledged goes to another after AckWait.
		group := "reghub-" + string(dest)
		nc, err := Connect(w.url, w.cfg.Name+" "+string(dest))
		if err != nil {
			return err
		}
		sub, err := wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
			Unmarshaler:      &wmnats.NATSMarshaler{},
			SubscribersCount: w.cfg.Concurrency,
			AckWaitTimeout:   w.cfg.AckWait,
			CloseTimeout:     w.cfg.AckWait,
			QueueGroupPrefix: group,
			JetStream: wmnats.JetStreamConfig{
				DurablePrefix: group,
				SubscribeOptions: []nats.SubOpt{
					nats.ManualAck(), nats.AckExplicit(), nats.AckWait(w.cfg.AckWait),
					nats.MaxAckPending(4 * w.cfg.Concurrency), nats.DeliverAll(),
				},
			},
		}, wlog)
		if err != nil {
			nc.Close()
			return fmt.Errorf("subscribe to %s: %w", dest, err)
		}
		router.AddConsumerHandler("deliver-"+string(dest), destinationSubjects(dest), sub, w.handler(dest, sender, answers))
	}
	w.log.Info("delivery worker consuming", "worker", w.cfg.Name, "destinations", len(w.senders), "concurrency", w.cfg.Concurrency)
	if err := router.Run(ctx); err != nil {
		return fmt.Errorf("delivery worker: %w", err)
	}
	return nil
}

// handler performs one exchange and answers the hub that asked for it. Only
// a failure to answer is returned (so JetStream redelivers); an exchange that
// failed is an answer like any other, and the hub decides on retries.
func (w *Worker) handler(dest action.Destination, sender outbox.Sender, answers message.Publisher) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		req, err := decodeRequest(msg.Payload)
		if err != nil {
			workerExchanges.WithLabelValues(string(dest), "unreadable").Inc()
			w.log.Error("dropping an unreadable forwarded exchange", "err", err)
			return nil
		}
		m := req.Message
		if time.Now().After(req.Deadline) {
			// The hub stopped waiting and will resend; sending now could
			// only overtake that resend.
			workerExchanges.WithLabelValues(string(dest), "stale").Inc()
			return nil
		}
		// The exchange outlives a shutdown of the worker, within the
		// hub's deadline, so that what is sent is also answered.
		ctx, cancel := context.WithDeadline(context.WithoutCancel(msg.Context()), req.Deadline)
		var reply outbox.Reply
		if m.Stage == outbox.StagePoll {
			reply, err = sender.Poll(ctx, m)
		} else {
			reply, err = sender.Send(ctx, m)
		}
		cancel()
		resp := response{Correlation: msg.UUID, Worker: w.cfg.Name}
		outcome := "answered"
		if err != nil {
			resp.Error, outcome = toWire(err), "failed"
		} else {
			resp.Reply = &reply
		}
		b, err := json.Marshal(resp)
		if err != nil {
			return fmt.Errorf("encode answer: %w", err)
		}
		if err := answers.Publish(req.ReplyTo, message.NewMessage(watermill.NewUUID(), b)); err != nil {
			return fmt.Errorf("answer on %s: %w", req.ReplyTo, err)
		}
		workerExchanges.WithLabelValues(string(dest), outcome).Inc()
		w.log.Debug("exchange performed", "message_id", m.ID, "action_id", m.ActionID, "destination", dest, "stage", m.Stage, "outcome", outcome)
		return nil
	}
}
