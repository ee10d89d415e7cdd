-- The audit trail (package audit): every query, granted or refused, and
-- every operator step, in one global hash chain, with signed checkpoints.

-- One row per record, numbered from 1 without gaps. body is the record's
-- canonical encoding exactly as hashed: hash = SHA-256(prev_hash || seq as
-- 8 bytes big-endian || body). The other columns repeat what the listings
-- search and show by; `reghub audit verify` checks them against body.
CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    kind       text NOT NULL,
    org        text NOT NULL,
    official   text NOT NULL,
    basis      text NOT NULL,
    purpose    text NOT NULL,
    case_ref   text NOT NULL,
    query_id   text NOT NULL,
    decision   text NOT NULL,
    reason     text NOT NULL,
    -- Whose data was delivered ("unzr:…", "rnokpp:…"): the data subject's
    -- listing (who accessed my data, on what basis).
    persons    text[] NOT NULL,
    body       text NOT NULL,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL
);
CREATE INDEX audit_log_persons ON audit_log USING gin (persons);
CREATE INDEX audit_log_org ON audit_log (org, seq);

-- The end of the chain. Appenders lock this one row (SELECT … FOR UPDATE) in
-- the transaction that appends, so records are chained in commit order,
-- without gaps, whichever replica writes them.
CREATE TABLE audit_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

-- Signed checkpoints: Ed25519 over (seq, hash, at) of the head when signed;
-- the public key is kept beside its id for reference (verification should
-- use a key held outside the database).
CREATE TABLE audit_checkpoints (
    seq        bigint PRIMARY KEY,
    hash       bytea NOT NULL,
    at         timestamptz NOT NULL,
    key_id     text NOT NULL,
    public_key bytea NOT NULL,
    signature  bytea NOT NULL
);

-- Records and checkpoints are never changed or removed; the head is never
-- removed. Someone able to disable these triggers is who the hash chain and
-- the signatures are for.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_head_kept BEFORE DELETE OR TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
