package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/action"
	"github.com/reghub/reghub/outbox"
)

var (
	forwarded = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "reghub_jetstream_forwarded_total",
		Help: "Exchanges forwarded to delivery workers through JetStream, by destination and outcome (answered, no_answer, publish_failed).",
	}, []string{"destination", "outcome"})
	strayAnswers = promauto.NewCounter(prometheus.CounterOpts{
		Name: "reghub_jetstream_stray_answers_total",
		Help: "Worker answers that came after the hub stopped waiting (the relay resends; the upstream deduplicates).",
	})
)

// Connect opens a NATS connection that reconnects for ever: an outage of the
// broker is a delivery failure the relay retries, not a reason to stop.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// EnsureStream creates the stream if it is missing. Work-queue retention
// removes a request once a worker acknowledged it; an hour's age limit drops
// requests no hub waits for any longer (the relay resent them meanwhile).
func EnsureStream(nc *nats.Conn) error {
	js, err := nc.JetStream()
	if err != nil {
		return fmt.Errorf("open JetStream context: %w", err)
	}
	_, err = js.StreamInfo(StreamName)
	if err == nil {
		return nil
	}
	if !errors.Is(err, nats.ErrStreamNotFound) {
		return fmt.Errorf("look up stream %s: %w", StreamName, err)
	}
	_, err = js.AddStream(&nats.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{subjectPrefix + ">"},
		Retention:  nats.WorkQueuePolicy,
		Storage:    nats.FileStorage,
		MaxAge:     time.Hour,
		Duplicates: 2 * time.Minute,
	})
	if err != nil && !errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create stream %s: %w", StreamName, err)
	}
	return nil
}

// Forwarder is the hub's side: it hands exchanges to workers and waits for
// their answers.
type Forwarder struct {
	pub     message.Publisher
	replies message.Subscriber
	inbox   string
	log     *slog.Logger

	mu      sync.Mutex
	waiting map[string]chan response
	done    chan struct{}
}

// NewForwarder prepares the stream and starts listening for answers on a
// reply subject of this hub's own; Close stops it.
func NewForwarder(ctx context.Context, nc *nats.Conn, log *slog.Logger) (*Forwarder, error) {
	if err := EnsureStream(nc); err != nil {
		return nil, err
	}
	wlog := watermillLogger(log)
	pub, err := wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		// The message UUID becomes Nats-Msg-Id, so a publish repeated by
		// the client library is stored once.
		JetStream: wmnats.JetStreamConfig{TrackMsgId: true},
	}, wlog)
	if err != nil {
		return nil, fmt.Errorf("JetStream publisher: %w", err)
	}
	// Answers travel on core NATS: if one is lost the relay's timeout
	// covers it, so they need no stream of their own.
	sub, err := wmnats.NewSubscriberWithNatsConn(nc, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:    &wmnats.NATSMarshaler{},
		AckWaitTimeout: time.Second,
		JetStream:      wmnats.JetStreamConfig{Disabled: true},
	}, wlog)
	if err != nil {
		return nil, fmt.Errorf("answer subscriber: %w", err)
	}
	f := &Forwarder{pub: pub, replies: sub, inbox: "reghub.answers." + watermill.NewUUID(), log: log,
		waiting: map[string]chan response{}, done: make(chan struct{})}
	msgs, err := sub.Subscribe(ctx, f.inbox)
	if err != nil {
		return nil, fmt.Errorf("subscribe to answers on %s: %w", f.inbox, err)
	}
	go f.dispatch(msgs)
	return f, nil
}

// Close stops listening for answers; exchanges still waiting time out.
func (f *Forwarder) Close() error {
	err := errors.Join(f.replies.Close(), f.pub.Close())
	<-f.done
	return err
}

func (f *Forwarder) dispatch(msgs <-chan *message.Message) {
	defer close(f.done)
	for msg := range msgs {
		msg.Ack()
		resp, err := decodeResponse(msg.Payload)
		if err != nil {
			f.log.Warn("unreadable answer from a delivery worker", "err", err)
			continue
		}
		f.mu.Lock()
		ch, ok := f.waiting[resp.Correlation]
		delete(f.waiting, resp.Correlation)
		f.mu.Unlock()
		if !ok {
			strayAnswers.Inc()
			continue
		}
		ch <- resp
	}
}

// Sender forwards the destination's exchanges; local is the sender a worker
// runs for it, used here only to show operators the message (Render).
func (f *Forwarder) Sender(dest action.Destination, local outbox.Sender) outbox.Sender {
	return &forwardSender{f: f, dest: dest, local: local}
}

type forwardSender struct {
	f     *Forwarder
	dest  action.Destination
	local outbox.Sender
}

func (s *forwardSender) Send(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	return s.f.exchange(ctx, m)
}

func (s *forwardSender) Poll(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	return s.f.exchange(ctx, m)
}

// Render shows what a worker sends: the mapping is the same on both sides.
func (s *forwardSender) Render(m outbox.Message) ([]byte, error) {
	r, ok := s.local.(outbox.Renderer)
	if !ok {
		return nil, fmt.Errorf("destination %s cannot render its messages", s.dest)
	}
	return r.Render(m)
}

// exchange publishes one request and waits, until ctx ends, for its answer.
func (f *Forwarder) exchange(ctx context.Context, m outbox.Message) (outbox.Reply, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	payload, err := json.Marshal(request{Message: m, ReplyTo: f.inbox, Deadline: deadline})
	if err != nil {
		return outbox.Reply{}, outbox.Permanent(outbox.ClassMapping, fmt.Errorf("encode forwarded exchange: %w", err))
	}
	corr := watermill.NewUUID()
	ch := make(chan response, 1)
	f.mu.Lock()
	f.waiting[corr] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.waiting, corr)
		f.mu.Unlock()
	}()

	msg := message.NewMessage(corr, payload)
	if err := f.pub.Publish(Subject(m.Destination, m.PersonKey), msg); err != nil {
		forwarded.WithLabelValues(string(m.Destination), "publish_failed").Inc()
		return outbox.Reply{}, outbox.Transient(outbox.ClassTransport, fmt.Errorf("forward to JetStream: %w", err))
	}
	select {
	case resp := <-ch:
		forwarded.WithLabelValues(string(m.Destination), "answered").Inc()
		if resp.Error != nil {
			return outbox.Reply{}, resp.Error.err()
		}
		return *resp.Reply, nil
	case <-ctx.Done():
		forwarded.WithLabelValues(string(m.Destination), "no_answer").Inc()
		return outbox.Reply{}, outbox.Transient(outbox.ClassTimeout,
			fmt.Errorf("no answer from a delivery worker in time: %w", ctx.Err()))
	}
}

// watermillLogger keeps watermill's chatter at debug.
func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}
