-- The migration service's notices to the registration body (002 §7.7–7.8,
-- package notice): an action to re-check, or residence records to cancel.
-- Each is stored here and, in the same transaction, relayed to the local
-- registry as an event of type notice on the lifecycle topic
-- (watermill_action_lifecycle), which the pull feed reads; the event
-- carries only ids, the feed takes the notice from this table.
--
-- Both the X-Road message id and the migration service's notice id are
-- unique: a notice sent again under either is a duplicate, acknowledged
-- again and not relayed twice. Notices are kept (retention does not touch
-- them): they are the record of what the migration service asked.
CREATE TABLE notices (
    id           uuid PRIMARY KEY,
    message_id   text NOT NULL UNIQUE,
    notice_id    text NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('recheck_action', 'cancel_invalid_document', 'cancel_annulled_civil_record')),
    -- The X-Road client that sent it, the official (userId) and case
    -- (issue) it named.
    sender       text NOT NULL,
    user_id      text NOT NULL DEFAULT '',
    issue        text NOT NULL DEFAULT '',
    -- The hub's action it concerns, when the hub knows it. No foreign key:
    -- retention may delete the action, the notice stays.
    action_id    uuid,
    -- The registry clients it was relayed to.
    recipients   text[] NOT NULL,
    -- The notice in canonical form (notice.Notice as JSON).
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL
);
CREATE INDEX notices_action ON notices (action_id) WHERE action_id IS NOT NULL;
