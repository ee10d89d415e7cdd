// Package lifecycle consumes the action lifecycle events that
// adapters/postgres publishes (postgres.PublishLifecycle) in the transaction
// that changes an action's status: a watermill router over watermill-sql's
// PostgreSQL subscriber.
//
// Each Handler gets its own subscriber and consumer group
// (ConsumerGroupPrefix + Name), so every handler sees every event, in the
// order of the messages table ((transaction_id, offset): writer transaction
// id, then insert order), once per group: its offset is stored in the same
// transaction that reads the batch, and several replicas share a group
// safely. A handler that keeps failing holds back its own group only (that
// subscriber is ordered and serial, by design), never the delivery relay,
// which does not run on watermill.
//
// Delivery to a handler is at least once: a crash, an error or a shutdown in
// the middle of a batch makes the whole batch come again. A handler that needs
// exactly-once effects writes them in the subscriber's transaction,
// wmsql.TxFromContext(msg.Context()), which commits with the offset.
package lifecycle

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/adapters/postgres"
)

// ConsumerGroupPrefix prefixes a handler's name to make its consumer group,
// the key of its row in watermill_offsets_action_lifecycle.
const ConsumerGroupPrefix = "reghub."

// MetricsHandlerName is the name of the built-in handler that every router
// runs (consumer group "reghub.metrics").
const MetricsHandlerName = "metrics"

// Handler is one consumer of lifecycle events. Name is stable across
// releases: it names the consumer group, so renaming a handler makes it start
// again from the first event. Fn returns an error to have the event retried
// (with backoff, then again and again: later events wait, in order).
type Handler struct {
	Name string
	Fn   message.NoPublishHandlerFunc
}

// Subscription and retry settings.
const (
	pollInterval   = 100 * time.Millisecond
	batchSize      = 100
	resendInterval = time.Second
	retryInterval  = time.Second
	ackDeadline    = 30 * time.Second
	closeTimeout   = 10 * time.Second
	maxGroupLen    = 255 // consumer_group VARCHAR(255)
)

var lifecycleEvents = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "reghub_lifecycle_events_total",
	Help: "Action lifecycle events consumed by the metrics handler, by the action's new status.",
}, []string{"status"})

// NewRouter builds a router that runs the built-in metrics handler and the
// given handlers on the lifecycle topic. db is typically
// stdlib.OpenDBFromPool(pool) over the hub's pool; the tables come from the
// migrations (the subscribers do not create them). Start it with
// router.Run(ctx), which returns once ctx is done and the handlers have
// finished (or after a close timeout).
func NewRouter(db *sql.DB, logger *slog.Logger, handlers ...Handler) (*message.Router, error) {
	if db == nil {
		return nil, errors.New("lifecycle: db is nil")
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "lifecycle")
	// Watermill reports its start and stop steps at info; they are debug
	// detail for the hub.
	wlog := watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})

	all := append([]Handler{{Name: MetricsHandlerName, Fn: metricsHandler(logger)}}, handlers...)
	seen := make(map[string]bool, len(all))
	for i, h := range all {
		switch {
		case h.Name == "":
			return nil, fmt.Errorf("lifecycle: handler %d has no name", i)
		case h.Fn == nil:
			return nil, fmt.Errorf("lifecycle: handler %q has no function", h.Name)
		case seen[h.Name]:
			return nil, fmt.Errorf("lifecycle: handler name %q used twice (%q is built in)", h.Name, MetricsHandlerName)
		case len(ConsumerGroupPrefix+h.Name) > maxGroupLen:
			return nil, fmt.Errorf("lifecycle: handler name %q is too long", h.Name)
		}
		seen[h.Name] = true
	}

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: closeTimeout}, wlog)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	// First added runs outermost: a panic becomes an error (Recoverer)
	// that Retry retries; after the last retry the message is nacked and the
	// subscriber sends it again after resendInterval.
	router.AddMiddleware(
		middleware.CorrelationID,
		middleware.Retry{
			MaxRetries:          3,
			InitialInterval:     100 * time.Millisecond,
			MaxInterval:         time.Second,
			Multiplier:          2,
			RandomizationFactor: 0.5,
			MaxElapsedTime:      ackDeadline / 3,
			Logger:              wlog,
		}.Middleware,
		middleware.Recoverer,
	)
	for _, h := range all {
		sub, err := wmsql.NewSubscriber(db, wmsql.SubscriberConfig{
			ConsumerGroup:    ConsumerGroupPrefix + h.Name,
			PollInterval:     pollInterval,
			ResendInterval:   resendInterval,
			RetryInterval:    retryInterval,
			AckDeadline:      new(ackDeadline),
			SchemaAdapter:    wmsql.DefaultPostgreSQLSchema{SubscribeBatchSize: batchSize},
			OffsetsAdapter:   wmsql.DefaultPostgreSQLOffsetsAdapter{},
			InitializeSchema: false,
		}, wlog)
		if err != nil {
			return nil, fmt.Errorf("lifecycle: subscriber of %q: %w", h.Name, err)
		}
		router.AddConsumerHandler(h.Name, postgres.LifecycleTopic, sub, h.Fn)
	}
	return router, nil
}

// metricsHandler counts each event by status and logs it at debug. An
// undecodable payload is logged and skipped: retrying cannot fix it.
func metricsHandler(logger *slog.Logger) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		e, err := postgres.DecodeLifecycleEvent(msg)
		if err != nil {
			logger.Error("skipping undecodable lifecycle event", "err", err, "event_id", msg.UUID)
			return nil
		}
		if e.Status == "" {
			// A notice relayed to the registry, on the same feed: not a
			// status change.
			return nil
		}
		lifecycleEvents.WithLabelValues(string(e.Status)).Inc()
		logger.Debug("action lifecycle event", "event_id", msg.UUID, "action_id", e.ActionID, "status", e.Status, "kind", e.Kind)
		return nil
	}
}
