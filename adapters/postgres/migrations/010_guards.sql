-- The register's guards (001 §2.5.16–2.5.18; package guard): court
-- injunctions that block registration actions at an address, and the
-- warnings an accepted action carries.

-- Injunctions operators record (package ops). The address is kept as given
-- and as matched (guard.Key: trimmed, white space collapsed, lower case,
-- apostrophes unified); an empty apartment_key covers the whole building.
-- An injunction is never deleted: lifting it stamps lifted_at.
CREATE TABLE injunctions (
    id            uuid PRIMARY KEY,
    court         text NOT NULL,
    reference     text NOT NULL,
    decided_on    date NOT NULL,
    katottg       text NOT NULL,
    street        text NOT NULL DEFAULT '',
    building      text NOT NULL,
    block         text NOT NULL DEFAULT '',
    apartment     text NOT NULL DEFAULT '',
    street_key    text NOT NULL,
    building_key  text NOT NULL,
    block_key     text NOT NULL,
    apartment_key text NOT NULL,
    valid_from    date NOT NULL,
    valid_until   date CHECK (valid_until >= valid_from),
    note          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    created_by    text NOT NULL,
    lifted_at     timestamptz,
    lifted_by     text NOT NULL DEFAULT '',
    lift_reason   text NOT NULL DEFAULT ''
);
-- What an accept looks up: the injunctions not lifted on one building.
CREATE INDEX injunctions_building ON injunctions (katottg, street_key, building_key)
    WHERE lifted_at IS NULL;
-- One ruling is recorded once per address while it is not lifted.
CREATE UNIQUE INDEX injunctions_once ON injunctions (reference, katottg, street_key, building_key, block_key, apartment_key)
    WHERE lifted_at IS NULL;
CREATE INDEX injunctions_created ON injunctions (created_at DESC, id DESC);

-- The warnings the guards raised when the action was accepted, as
-- [{"code": …, "detail": …}]; NULL when there were none.
ALTER TABLE actions ADD COLUMN warnings jsonb;
