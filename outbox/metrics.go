package outbox

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Relay metrics. Labels never carry a person's data: destination, stage,
// outcome and error class only.
var (
	deliveryAttempts = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "reghub_delivery_attempts_total",
		Help: "Exchanges with upstreams, by destination, outcome and error class.",
	}, []string{"destination", "outcome", "error_class"})
	deliveryDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "reghub_delivery_exchange_seconds",
		Help:    "Duration of one exchange with an upstream.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"destination", "stage"})
	deliveryLatency = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "reghub_delivery_latency_seconds",
		Help:    "From acceptance to the destination's acknowledgement (or rejection), per destination.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 18),
	}, []string{"destination", "outcome"})
	actionStatusChanges = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "reghub_action_status_changes_total",
		Help: "Actions that moved to a status after delivery results were written.",
	}, []string{"status"})
	claimErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "reghub_outbox_claim_errors_total",
		Help: "Failed attempts to claim outbox messages.",
	})
	completeErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "reghub_outbox_complete_errors_total",
		Help: "Batches of delivery results that could not be written (they are resent after their lease).",
	})
)
