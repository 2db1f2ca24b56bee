-- The spine: inbound events, intents, their steps, and the audit chain.
-- Times are integer milliseconds since the Unix epoch; ids are ULIDs.

CREATE TABLE intents (
    id             TEXT PRIMARY KEY,
    source         TEXT NOT NULL,          -- the channel it came through
    actor          TEXT NOT NULL,
    reason         TEXT,
    text           TEXT NOT NULL,
    state          TEXT NOT NULL,
    risk           TEXT NOT NULL,
    plan           TEXT,                   -- JSON array of planned steps
    agent          TEXT NOT NULL,
    agent_version  TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    deadline       INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX intents_by_state ON intents (state, id);

-- One row per inbound event; (channel, external_id) makes redelivery harmless.
CREATE TABLE inbox (
    id           TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    actor        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    intent_id    TEXT REFERENCES intents (id),
    received_at  INTEGER NOT NULL,
    UNIQUE (channel, external_id)
);

CREATE TABLE steps (
    intent_id       TEXT NOT NULL REFERENCES intents (id),
    seq             INTEGER NOT NULL,
    adapter         TEXT NOT NULL,
    action          TEXT NOT NULL,
    args            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    deadline        INTEGER,
    idempotency_key TEXT NOT NULL UNIQUE,
    result          TEXT,
    error           TEXT,
    compensation    TEXT,
    PRIMARY KEY (intent_id, seq)
);
CREATE INDEX steps_due ON steps (state, next_attempt_at);

-- Append-only and hash-chained: hash = sha256(prev_hash || canonical content).
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_by_subject ON audit (subject, seq);

-- Defence in depth: the application never updates or deletes audit rows, and
-- SQLite refuses it too. Someone with the file can drop these; the hash chain
-- is what catches that.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
