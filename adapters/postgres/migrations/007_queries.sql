-- Authorities' queries (issue "Authorities query with a cited legal basis").

-- An authority client belongs to a category of requesters (notary, social
-- protection…) that the legal-basis catalogue grants bases to.
ALTER TABLE clients ADD COLUMN category text NOT NULL DEFAULT '';

-- The local read model: each person's registration as completed actions
-- left it (action.Registration as JSON), with the columns queries search by.
CREATE TABLE registrations (
    person_key  text PRIMARY KEY,
    unzr        text,
    rnokpp      text,
    surname     text NOT NULL,
    given_names text NOT NULL,
    birth_date  text NOT NULL,
    katottg     text,
    street      text,
    building    text,
    apartment   text,
    registered  boolean NOT NULL,
    record      jsonb NOT NULL,
    action_id   uuid NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX registrations_unzr ON registrations (unzr) WHERE unzr IS NOT NULL;
CREATE INDEX registrations_rnokpp ON registrations (rnokpp) WHERE rnokpp IS NOT NULL;
CREATE INDEX registrations_name ON registrations (lower(surname), lower(given_names), birth_date);
-- Who lives at an address now: only current registrations are indexed.
CREATE INDEX registrations_address ON registrations (katottg, lower(street), lower(building), lower(coalesce(apartment, '')))
    WHERE registered;

-- Granted queries waiting for a source that was down, and their answers
-- until fetched. A query answered at once is not kept here: the audit log
-- records it, and its answer is not stored anywhere.
CREATE TABLE pending_queries (
    id          uuid PRIMARY KEY,
    org         text NOT NULL,
    official    text NOT NULL,
    query       jsonb NOT NULL,
    decision    jsonb NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'answered', 'failed')),
    answer      jsonb,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    due_at      timestamptz NOT NULL,
    next_try_at timestamptz NOT NULL,
    answered_at timestamptz
);
CREATE INDEX pending_queries_next ON pending_queries (next_try_at) WHERE status = 'pending';
CREATE INDEX pending_queries_org ON pending_queries (org, created_at);
