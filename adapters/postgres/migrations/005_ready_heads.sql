-- Per person and destination, only the oldest unresolved message (the
-- head) may be claimed. Finding heads at claim time costs a look at every
-- queued message behind them; with long queues per person (a backlog after
-- an outage) that made each claim scan the backlog. Instead the head is
-- marked when it becomes one: at accept when nothing is queued before it,
-- or when the message before it is resolved.
ALTER TABLE outbox_messages ADD COLUMN ready boolean NOT NULL DEFAULT true;

UPDATE outbox_messages m SET ready = false
WHERE m.state IN ('pending', 'awaiting_ack', 'dead')
  AND EXISTS (
    SELECT 1 FROM outbox_messages e
    WHERE e.destination = m.destination AND e.person_key = m.person_key AND e.seq < m.seq
      AND e.state IN ('pending', 'awaiting_ack', 'dead'));

DROP INDEX outbox_messages_due;
CREATE INDEX outbox_messages_due ON outbox_messages (due_at)
    WHERE ready AND state IN ('pending', 'awaiting_ack');
