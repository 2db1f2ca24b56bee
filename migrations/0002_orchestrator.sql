-- The orchestrator's timers and the outbox.

-- A step's own deadline, relative to when it becomes due.
ALTER TABLE steps ADD COLUMN within_ms INTEGER;

-- Steps that are due (or whose lease runs out) are found by time.
CREATE INDEX steps_next_attempt ON steps (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX steps_leased ON steps (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX intents_deadline ON intents (deadline) WHERE deadline IS NOT NULL;

-- Everything steward says is a row here before it is sent (invariant 5).
CREATE TABLE outbox (
    id                  TEXT PRIMARY KEY,
    destination         TEXT NOT NULL,
    payload             TEXT NOT NULL,
    state               TEXT NOT NULL,      -- pending | sent
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER,
    lease_until         INTEGER,
    platform_message_id TEXT,
    last_error          TEXT,
    dedup_key           TEXT UNIQUE,        -- the same notice is queued once
    created_at          INTEGER NOT NULL,
    sent_at             INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';

-- What the `note` adapter writes: one row per idempotency key.
CREATE TABLE notes (
    key        TEXT PRIMARY KEY,
    intent_id  TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
