-- Operators resolve failed deliveries: destinations they can pause (and a
-- circuit breaker can open), and an append-only record of every step.

CREATE TABLE destinations (
    name                 text PRIMARY KEY,
    paused               boolean NOT NULL DEFAULT false,
    paused_reason        text NOT NULL DEFAULT '',
    -- closed: deliver; open: wait until circuit_open_until, then one relay
    -- probes with a single message (half_open) before the rest may follow.
    circuit_state        text NOT NULL DEFAULT 'closed' CHECK (circuit_state IN ('closed', 'open', 'half_open')),
    circuit_open_until   timestamptz,
    circuit_opened_count integer NOT NULL DEFAULT 0,
    probe_until          timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
INSERT INTO destinations (name) VALUES ('dms'), ('eddr');

-- Who did what, when and why. Rows are never changed or removed: the
-- trigger below refuses it, so a correction is a new step.
CREATE TABLE operator_steps (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    role       text NOT NULL,
    operation  text NOT NULL,
    target     text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX operator_steps_target ON operator_steps (target, id);

CREATE FUNCTION operator_steps_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_steps is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER operator_steps_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON operator_steps
    FOR EACH STATEMENT EXECUTE FUNCTION operator_steps_append_only();

-- Listing deliveries by status for operators.
CREATE INDEX outbox_messages_state_dest ON outbox_messages (state, destination, seq)
    WHERE state IN ('pending', 'awaiting_ack', 'dead', 'rejected', 'cancelled');
