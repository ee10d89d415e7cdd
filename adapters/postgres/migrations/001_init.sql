-- The core schema: clients, actions, their outgoing messages (the
-- transactional outbox) and every delivery attempt.

CREATE TABLE clients (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('registry', 'authority', 'operator', 'auditor', 'admin')),
    -- SHA-256 of the bearer token: a leaked table gives no usable token.
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE actions (
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    id              uuid PRIMARY KEY,
    reference       text NOT NULL,
    client_id       text NOT NULL REFERENCES clients (id),
    idempotency_key text NOT NULL,
    body_hash       bytea NOT NULL,
    kind            text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'completed', 'rejected', 'dead', 'cancelled')),
    status_reason   text NOT NULL DEFAULT '',
    person_key      text NOT NULL,
    -- json, not jsonb: the body is kept exactly as the registry sent it.
    body            json NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    completed_at    timestamptz,
    UNIQUE (client_id, idempotency_key)
);
CREATE UNIQUE INDEX actions_seq ON actions (seq);
CREATE INDEX actions_status_seq ON actions (status, seq);
CREATE INDEX actions_client_seq ON actions (client_id, seq);

CREATE TABLE outbox_messages (
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    -- The X-Road message id and the upstream's idempotency key.
    id            uuid PRIMARY KEY,
    action_id     uuid NOT NULL REFERENCES actions (id),
    destination   text NOT NULL,
    person_key    text NOT NULL,
    state         text NOT NULL CHECK (state IN ('pending', 'awaiting_ack', 'acknowledged', 'rejected', 'dead', 'cancelled')),
    attempts      integer NOT NULL DEFAULT 0,
    -- When the relay may next claim the row; a claim pushes it forward by
    -- the lease, so a relay that dies mid-send releases its rows by itself.
    due_at        timestamptz NOT NULL,
    claim_token   uuid,
    receipt       text NOT NULL DEFAULT '',
    ack_deadline  timestamptz,
    upstream_ref  text NOT NULL DEFAULT '',
    last_error    text NOT NULL DEFAULT '',
    error_class   text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    sent_at       timestamptz,
    acked_at      timestamptz
);
CREATE UNIQUE INDEX outbox_messages_seq ON outbox_messages (seq);
CREATE INDEX outbox_messages_action ON outbox_messages (action_id);
-- What the relay may claim.
CREATE INDEX outbox_messages_due ON outbox_messages (due_at) WHERE state IN ('pending', 'awaiting_ack');
-- Per person and destination, a message waits while an earlier one is
-- unresolved (still pending, awaiting its acknowledgement, or dead).
CREATE INDEX outbox_messages_fifo ON outbox_messages (destination, person_key, seq)
    WHERE state IN ('pending', 'awaiting_ack', 'dead');

CREATE TABLE delivery_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  uuid NOT NULL REFERENCES outbox_messages (id),
    attempt     integer NOT NULL,
    stage       text NOT NULL,
    started_at  timestamptz NOT NULL,
    duration_us bigint NOT NULL,
    outcome     text NOT NULL,
    error_class text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_message ON delivery_attempts (message_id, id);
