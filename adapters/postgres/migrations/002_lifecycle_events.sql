-- Action lifecycle events (topic action_lifecycle): the tables of
-- watermill-sql v3.1.0 for that topic, exactly as its DefaultPostgreSQLSchema
-- and DefaultPostgreSQLOffsetsAdapter create them (SchemaInitializingQueries).
-- They are created here because the subscriber runs with InitializeSchema off
-- and the events are written inside the hub's own transactions, where
-- watermill refuses AutoInitializeSchema.
--
-- transaction_id is the writer's pg_current_xact_id(): a subscriber reads only
-- rows of transactions older than every transaction still in progress
-- (transaction_id < pg_snapshot_xmin(pg_current_snapshot())), so events are
-- seen in commit order and none is skipped by a late commit. The primary key
-- (transaction_id, offset) is that order.
CREATE TABLE IF NOT EXISTS "watermill_action_lifecycle" (
    "offset" BIGSERIAL,
    "uuid" VARCHAR(36) NOT NULL,
    "created_at" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload" JSON DEFAULT NULL,
    "metadata" JSON DEFAULT NULL,
    "transaction_id" xid8 NOT NULL,
    PRIMARY KEY ("transaction_id", "offset")
);

-- One row per consumer group: the last acknowledged (transaction_id, offset).
-- The subscriber inserts its group's zero row when it subscribes.
CREATE TABLE IF NOT EXISTS "watermill_offsets_action_lifecycle" (
    consumer_group VARCHAR(255) NOT NULL,
    offset_acked BIGINT,
    last_processed_transaction_id xid8 NOT NULL,
    PRIMARY KEY(consumer_group)
);
