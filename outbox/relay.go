package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/google/uuid"

	"github.com/reghub/reghub/action"
)

// Result is the outcome of one claimed message, to be written back.
type Result struct {
	MessageID  uuid.UUID
	ActionID   uuid.UUID
	ClaimToken uuid.UUID
	// State is the message's new state; DueAt when it may be claimed again
	// (retry or next poll) for the non-terminal states.
	State       action.DeliveryStatus
	DueAt       time.Time
	Receipt     string
	AckDeadline *time.Time
	UpstreamRef string
	LastError   string
	ErrorClass  ErrorClass
	Sent        bool
	Attempt     Attempt
}

// Attempt records one exchange with an upstream, for operators.
type Attempt struct {
	Number     int
	Stage      Stage
	StartedAt  time.Time
	Duration   time.Duration
	Outcome    string
	ErrorClass ErrorClass
	Detail     string
}

// StatusChange is an action whose status moved when results were written.
type StatusChange struct {
	ActionID uuid.UUID
	Status   action.Status
}

// Store is the relay's persistence port.
type Store interface {
	// Claim leases up to limit due messages, oldest due first, skipping rows
	// other relays hold and messages queued behind an unresolved earlier one
	// for the same person and destination. A send claim counts an attempt.
	Claim(ctx context.Context, limit int, lease time.Duration, token uuid.UUID) ([]Message, error)
	// Complete writes results (ignoring any whose lease was lost) and moves
	// the actions concerned to their derived status, in one transaction.
	Complete(ctx context.Context, results []Result) ([]StatusChange, error)

	// Switches reads each destination's pause and circuit state; Claim
	// skips paused destinations and those whose circuit is not closed.
	Switches(ctx context.Context) ([]Switches, error)
	// OpenCircuit stops claims for a destination for a cool-down that grows
	// with each consecutive opening; it reports whether this call opened it.
	OpenCircuit(ctx context.Context, dest action.Destination, cooldown, max time.Duration, why string) (bool, error)
	CloseCircuit(ctx context.Context, dest action.Destination, why string) error
	// ClaimProbe claims one message of a destination whose cool-down is over.
	ClaimProbe(ctx context.Context, dest action.Destination, lease time.Duration, token uuid.UUID) ([]Message, error)
}

// Config tunes the relay.
type Config struct {
	BatchSize    int           // most messages claimed at once
	Concurrency  int           // most messages in flight
	IdlePoll     time.Duration // wait between empty claims unless woken
	SendTimeout  time.Duration // one exchange with an upstream
	AckPoll      time.Duration // between status polls of a receipt
	AckTimeout   time.Duration // a receipt not decided by then is resent
	MaxAttempts  int           // sends before a message is dead
	RetryInitial time.Duration
	RetryMax     time.Duration
	FlushEvery   time.Duration // longest a result waits to be written
	// Lease is how long a claim holds a message; 0 derives it from
	// SendTimeout. A relay that dies releases its messages when it ends.
	Lease time.Duration
	// CircuitThreshold consecutive failures that say an upstream is down
	// open its circuit for CircuitCooldown (doubling while probes fail, up
	// to CircuitMaxCooldown); 0 disables the breaker.
	CircuitThreshold   int
	CircuitCooldown    time.Duration
	CircuitMaxCooldown time.Duration
}

// DefaultConfig is what `reghub serve` runs with.
func DefaultConfig() Config {
	return Config{
		BatchSize:    128,
		Concurrency:  256,
		IdlePoll:     200 * time.Millisecond,
		SendTimeout:  10 * time.Second,
		AckPoll:      500 * time.Millisecond,
		AckTimeout:   5 * time.Minute,
		MaxAttempts:  12,
		RetryInitial: time.Second,
		RetryMax:     5 * time.Minute,
		FlushEvery:   2 * time.Millisecond,

		CircuitThreshold:   20,
		CircuitCooldown:    5 * time.Second,
		CircuitMaxCooldown: 30 * time.Second,
	}
}

// lease is how long a claim holds a message: long enough for the exchange and
// for writing the result back, short enough that a crashed relay's messages
// are soon taken up by another.
func (c Config) lease() time.Duration {
	if c.Lease > 0 {
		return c.Lease
	}
	return 2*c.SendTimeout + 5*time.Second
}

// Relay moves messages from the outbox to their destinations.
type Relay struct {
	store   Store
	senders map[action.Destination]Sender
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	wake    chan struct{}
	breaker breaker
	// Changed, if set, is told of every action status change after commit.
	Changed func([]StatusChange)
}

// NewRelay builds a relay; senders maps each destination to its client.
func NewRelay(store Store, senders map[action.Destination]Sender, cfg Config, log *slog.Logger) *Relay {
	def := DefaultConfig()
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = def.BatchSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = def.Concurrency
	}
	if cfg.IdlePoll <= 0 {
		cfg.IdlePoll = def.IdlePoll
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = def.SendTimeout
	}
	if cfg.AckPoll <= 0 {
		cfg.AckPoll = def.AckPoll
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = def.AckTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.RetryInitial <= 0 {
		cfg.RetryInitial = def.RetryInitial
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = def.RetryMax
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = def.FlushEvery
	}
	if cfg.CircuitCooldown <= 0 {
		cfg.CircuitCooldown = def.CircuitCooldown
	}
	if cfg.CircuitMaxCooldown <= 0 {
		cfg.CircuitMaxCooldown = def.CircuitMaxCooldown
	}
	if log == nil {
		log = slog.Default()
	}
	return &Relay{store: store, senders: senders, cfg: cfg, log: log, now: time.Now, wake: make(chan struct{}, 1),
		breaker: breaker{fails: map[action.Destination]int{}}}
}

// Wake makes an idle relay claim at once; the accepting side calls it after
// each commit so a new action does not wait for the next poll.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and delivers until ctx is cancelled, then lets messages in
// flight finish and writes their results before returning.
func (r *Relay) Run(ctx context.Context) error {
	slots := make(chan struct{}, r.cfg.Concurrency)
	results := make(chan Result, r.cfg.Concurrency)
	token := uuid.New()
	var workers sync.WaitGroup
	completerDone := make(chan struct{})
	go func() {
		defer close(completerDone)
		r.complete(results, slots)
	}()
	defer func() {
		workers.Wait()
		close(results)
		<-completerDone
	}()

	// Switches are read at most this often: pausing and the circuit act
	// within a second, without a query per claim.
	const probeEvery = time.Second
	var lastProbe time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		free := cap(slots) - len(slots)
		if free == 0 {
			// Every slot is busy: wait for one before claiming more.
			select {
			case slots <- struct{}{}:
				<-slots
				continue
			case <-ctx.Done():
				return nil
			}
		}
		var probes []Message
		if time.Since(lastProbe) >= probeEvery {
			lastProbe = time.Now()
			probes = r.probe(ctx, token)
		}
		msgs, err := r.store.Claim(ctx, min(free, r.cfg.BatchSize), r.cfg.lease(), token)
		if err != nil && ctx.Err() == nil {
			r.log.Error("claim outbox messages", "err", err)
			claimErrors.Inc()
		}
		msgs = append(probes, msgs...)
		for _, m := range msgs {
			slots <- struct{}{}
			workers.Add(1)
			go func(m Message) {
				defer workers.Done()
				results <- r.deliver(ctx, m)
			}(m)
		}
		if len(msgs) == 0 || err != nil {
			r.sleep(ctx, r.cfg.IdlePoll)
		}
	}
}

func (r *Relay) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.wake:
	case <-t.C:
	case <-ctx.Done():
	}
}

// complete gathers results for up to FlushEvery and writes them in one
// transaction; a slot is freed only once its result is durable.
func (r *Relay) complete(results <-chan Result, slots chan struct{}) {
	var batch []Result
	flush := func() {
		if len(batch) == 0 {
			return
		}
		r.flush(batch)
		for range batch {
			<-slots
		}
		batch = batch[:0]
		// Results may have unblocked messages queued behind them.
		r.Wake()
	}
	for {
		res, ok := <-results
		if !ok {
			flush()
			return
		}
		batch = append(batch, res)
		timer := time.NewTimer(r.cfg.FlushEvery)
	gather:
		for len(batch) < r.cfg.BatchSize {
			select {
			case res, ok := <-results:
				if !ok {
					timer.Stop()
					flush()
					return
				}
				batch = append(batch, res)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		flush()
	}
}

// flush writes a batch, retrying while the database is away: the results are
// only in memory, and losing them would cost a resend (harmless, deduplicated
// upstream) but also the attempt history.
func (r *Relay) flush(batch []Result) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 50 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	b.MaxElapsedTime = r.cfg.lease()
	op := func() ([]StatusChange, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return r.store.Complete(ctx, batch)
	}
	changes, err := backoff.RetryNotifyWithData(op, b, func(err error, d time.Duration) {
		r.log.Warn("write delivery results; retrying", "err", err, "results", len(batch), "retry_in", d)
	})
	if err != nil {
		// The leases will expire and the messages be resent; the upstreams
		// deduplicate by message id, so nothing is applied twice.
		r.log.Error("write delivery results; giving up, messages will be resent after their lease", "err", err, "results", len(batch))
		completeErrors.Inc()
		return
	}
	for _, c := range changes {
		r.log.Info("action status changed", "action_id", c.ActionID, "status", c.Status)
		actionStatusChanges.WithLabelValues(string(c.Status)).Inc()
	}
	if r.Changed != nil && len(changes) > 0 {
		r.Changed(changes)
	}
}

// deliver performs one exchange for m and decides what becomes of it.
func (r *Relay) deliver(ctx context.Context, m Message) Result {
	log := r.log.With("message_id", m.ID, "action_id", m.ActionID, "destination", m.Destination, "stage", m.Stage)
	res := Result{MessageID: m.ID, ActionID: m.ActionID, ClaimToken: m.ClaimToken, Receipt: m.Receipt, AckDeadline: m.AckDeadline}
	sender, ok := r.senders[m.Destination]
	start := r.now()
	var reply Reply
	var err error
	if !ok {
		err = Permanent(ClassNoSender, fmt.Errorf("no sender for destination %q", m.Destination))
	} else {
		// The exchange outlives a shutdown request by at most its timeout, so
		// a message sent is also recorded.
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.SendTimeout)
		if m.Stage == StagePoll {
			reply, err = sender.Poll(sendCtx, m)
		} else {
			reply, err = sender.Send(sendCtx, m)
		}
		cancel()
		r.observe(m, err)
	}
	now := r.now()
	res.Attempt = Attempt{Number: m.Attempt, Stage: m.Stage, StartedAt: start, Duration: now.Sub(start)}
	deliveryDuration.WithLabelValues(string(m.Destination), string(m.Stage)).Observe(res.Attempt.Duration.Seconds())

	if err != nil {
		class, permanent := Classify(err)
		res.Attempt.Outcome, res.Attempt.ErrorClass, res.Attempt.Detail = "error", class, truncate(err.Error(), 2000)
		res.LastError, res.ErrorClass = truncate(err.Error(), 2000), class
		deliveryAttempts.WithLabelValues(string(m.Destination), "error", string(class)).Inc()
		if m.Stage == StagePoll && !permanent && !r.ackExpired(m, now) {
			// A failed poll says nothing about the message: ask again later.
			res.State, res.DueAt = action.DeliveryAwaitingAck, now.Add(r.cfg.AckPoll)
			log.Warn("status poll failed; will poll again", "err", err, "class", class)
			return res
		}
		return r.retryOrDie(log, m, res, now, permanent)
	}

	res.Attempt.Outcome, res.Attempt.Detail = string(reply.Kind), replyDetail(reply)
	deliveryAttempts.WithLabelValues(string(m.Destination), string(reply.Kind), "").Inc()
	switch reply.Kind {
	case ReplyAcknowledged:
		res.State, res.UpstreamRef, res.Sent = action.DeliveryAcknowledged, reply.Reference, true
		deliveryLatency.WithLabelValues(string(m.Destination), "acknowledged").Observe(now.Sub(m.CreatedAt).Seconds())
		res.LastError, res.ErrorClass = "", ""
		log.Info("delivery acknowledged", "upstream_ref", reply.Reference)
	case ReplyReceipt:
		deadline := now.Add(r.cfg.AckTimeout)
		res.State, res.Receipt, res.AckDeadline, res.Sent = action.DeliveryAwaitingAck, reply.Reference, &deadline, true
		res.DueAt = now.Add(r.cfg.AckPoll)
		log.Debug("delivery receipted; polling for acknowledgement", "receipt", reply.Reference)
	case ReplyPending:
		if r.ackExpired(m, now) {
			res.Attempt.ErrorClass = ClassAckTimeout
			res.LastError, res.ErrorClass = "no acknowledgement before the deadline; resending", ClassAckTimeout
			return r.retryOrDie(log, m, res, now, false)
		}
		res.State, res.DueAt = action.DeliveryAwaitingAck, now.Add(r.cfg.AckPoll)
	case ReplyRejected:
		res.State, res.Sent = action.DeliveryRejected, true
		deliveryLatency.WithLabelValues(string(m.Destination), "rejected").Observe(now.Sub(m.CreatedAt).Seconds())
		res.LastError, res.ErrorClass = truncate(replyDetail(reply), 2000), ""
		log.Info("delivery rejected by upstream", "reason_code", reply.ReasonCode, "reason", reply.Reason)
	default:
		res.Attempt.Outcome = "error"
		err := Transient(ClassMalformedReply, fmt.Errorf("sender returned unknown reply kind %q", reply.Kind))
		res.LastError, res.ErrorClass = err.Error(), ClassMalformedReply
		return r.retryOrDie(log, m, res, now, false)
	}
	return res
}

func (r *Relay) ackExpired(m Message, now time.Time) bool {
	return m.AckDeadline != nil && now.After(*m.AckDeadline)
}

// retryOrDie schedules a resend with capped exponential backoff and jitter,
// or declares the message dead for operators.
func (r *Relay) retryOrDie(log *slog.Logger, m Message, res Result, now time.Time, permanent bool) Result {
	res.Receipt, res.AckDeadline = "", nil
	if permanent || m.Attempt >= r.cfg.MaxAttempts {
		res.State = action.DeliveryDead
		log.Error("delivery dead", "attempts", m.Attempt, "class", res.ErrorClass, "err", res.LastError, "permanent", permanent)
		return res
	}
	res.State, res.DueAt = action.DeliveryPending, now.Add(r.backoff(m.Attempt))
	log.Warn("delivery failed; will retry", "attempt", m.Attempt, "class", res.ErrorClass, "err", res.LastError, "retry_at", res.DueAt)
	return res
}

// backoff is the wait after the given failed attempt (1-based).
func (r *Relay) backoff(attempt int) time.Duration {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = r.cfg.RetryInitial
	b.Multiplier = 2
	b.MaxInterval = r.cfg.RetryMax
	b.MaxElapsedTime = 0
	b.Reset()
	d := b.InitialInterval
	for i := 0; i < attempt && i < 64; i++ {
		d = b.NextBackOff()
	}
	return d
}

func replyDetail(r Reply) string {
	s := string(r.Kind)
	if r.Reference != "" {
		s += " ref=" + r.Reference
	}
	if r.ReasonCode != "" {
		s += " code=" + r.ReasonCode
	}
	if r.Reason != "" {
		s += " reason=" + r.Reason
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
