-- Webhooks: a client may be told of its actions' status changes by an HTTP
-- POST, signed with its own secret. Notifications travel through the outbox
-- like any delivery (retries, backoff, dead, operators), but do not count
-- towards the action's status.

ALTER TABLE clients
    ADD COLUMN webhook_url    text NOT NULL DEFAULT '',
    -- The HMAC key must be usable to sign, so it is kept as is; only the
    -- bearer tokens are hashed.
    ADD COLUMN webhook_secret text NOT NULL DEFAULT '';

ALTER TABLE outbox_messages
    -- What a notification sends (the lifecycle event); NULL for deliveries,
    -- which send the action's submission.
    ADD COLUMN payload           jsonb,
    ADD COLUMN counts_for_status boolean NOT NULL DEFAULT true;

INSERT INTO destinations (name) VALUES ('webhook') ON CONFLICT DO NOTHING;
