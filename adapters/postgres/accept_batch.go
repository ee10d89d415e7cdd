package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/reghub/reghub/action"
)

var acceptBatchSize = promauto.NewHistogram(prometheus.HistogramOpts{
	Name:    "reghub_accept_batch_actions",
	Help:    "Actions stored per accept transaction (group commit).",
	Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
})

// GroupAccepts makes concurrent accepts share transactions: an accept joins
// the queue, and up to committers goroutines each take what has queued (at
// most maxBatch actions) and store it in one transaction — one commit, one
// WAL flush, for many actions. Nothing waits on a timer: under light load a
// batch is one action and costs what a lone accept costs; under heavy load
// the batches grow by themselves while the previous commit is under way.
//
// Every action still answers only once its own rows are committed.
func (s *Store) GroupAccepts(maxBatch, committers int) {
	if maxBatch <= 1 || committers <= 0 {
		s.accepts = nil
		return
	}
	s.accepts = &acceptGroup{store: s, max: maxBatch, committers: committers}
}

type acceptGroup struct {
	store      *Store
	max        int
	committers int

	mu      sync.Mutex
	queue   []*acceptReq
	running int
}

type acceptReq struct {
	a       action.NewAction
	created bool
	err     error
	done    chan struct{}
}

// insert queues a and waits for its transaction. Once queued, the accept
// goes through whatever ctx says: the client may have gone, but the action
// may be stored, and it will find it under its key when it comes back.
func (g *acceptGroup) insert(ctx context.Context, a action.NewAction) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("insert action: %w", err)
	}
	req := &acceptReq{a: a, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, req)
	start := g.running < g.committers
	if start {
		g.running++
	}
	g.mu.Unlock()
	if start {
		go g.commitAll()
	}
	<-req.done
	return req.created, req.err
}

// commitAll stores batches until the queue is empty, then ends.
func (g *acceptGroup) commitAll() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.max)
		if n == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		batch := make([]*acceptReq, n)
		copy(batch, g.queue)
		g.queue = g.queue[n:]
		g.mu.Unlock()
		g.commit(batch)
	}
}

// commit stores one batch in one transaction. Should the transaction fail,
// each action is tried alone, so that one action's trouble (a deadlock
// over idempotency keys resubmitted in another order, say) is not every
// action's.
func (g *acceptGroup) commit(batch []*acceptReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	acceptBatchSize.Observe(float64(len(batch)))
	if len(batch) == 1 {
		batch[0].created, batch[0].err = g.store.insertOne(ctx, batch[0].a)
		return
	}
	if err := g.store.insertMany(ctx, batch); err == nil {
		return
	}
	for _, r := range batch {
		r.created, r.err = g.store.insertOne(ctx, r.a)
	}
}

// insertMany stores the batch's actions in one round trip and one implicit
// transaction: every person's lock first, then the actions in queue order.
// An action a court injunction covers is refused by its own statement
// (queueInsert) and stores nothing; the others go on.
func (s *Store) insertMany(ctx context.Context, batch []*acceptReq) error {
	b := &pgx.Batch{}
	keys := make([]string, len(batch))
	for i, r := range batch {
		keys[i] = r.a.PersonKey
	}
	queueLock(b, keys)
	for _, r := range batch {
		queueInsert(b, r.a)
	}
	br := s.pool.SendBatch(ctx, b)
	_, err := br.Exec()
	created := make([]bool, len(batch))
	// An action under an injunction is not stored; the others are.
	blocked := make([]*action.InjunctionError, len(batch))
	for i := range batch {
		if err != nil {
			break
		}
		created[i], blocked[i], err = scanInsert(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("insert %d actions: %w", len(batch), err)
	}
	for i, r := range batch {
		r.created = created[i]
		if blocked[i] != nil {
			r.err = blocked[i]
		}
	}
	return nil
}
