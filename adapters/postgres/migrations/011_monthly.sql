-- The monthly sets (package monthly) are actions of the hub's own client:
-- the unique (client_id, idempotency_key) makes each recipient's set of a
-- month exactly once, whatever the replicas or restarts. The client's
-- token hash is of random bytes nobody was shown, so it cannot sign in.
ALTER TABLE clients DROP CONSTRAINT clients_role_check;
ALTER TABLE clients ADD CONSTRAINT clients_role_check
    CHECK (role IN ('registry', 'authority', 'operator', 'auditor', 'admin', 'system'));
-- A client already called reghub would own the sets (and could read them,
-- or take a month's key first): the upgrade stops instead.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM clients WHERE id = 'reghub' AND role <> 'system') THEN
        RAISE EXCEPTION 'a client named reghub exists (role %): rename it before upgrading; the id is the hub''s own',
            (SELECT role FROM clients WHERE id = 'reghub');
    END IF;
END $$;
INSERT INTO clients (id, name, role, token_hash)
VALUES ('reghub', 'reghub (monthly sets; no token)', 'system', sha256(gen_random_uuid()::text::bytea))
ON CONFLICT (id) DO NOTHING;

-- No index on completed_at: a set reads a month's actions once a month, and
-- a sequential scan then costs less than one more index entry on every
-- completion of the hot path.
