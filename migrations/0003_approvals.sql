-- Risk policy and durable approvals.

-- How the policy judged each intent: its mode, and whether it may run only
-- with an approved approval (the runner refuses to claim its steps otherwise).
ALTER TABLE intents ADD COLUMN mode TEXT;
ALTER TABLE intents ADD COLUMN requires_approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE intents ADD COLUMN risk_rule TEXT;
ALTER TABLE intents ADD COLUMN review_window_ms INTEGER;   -- set when judged review-after

CREATE TABLE approvals (
    id           TEXT PRIMARY KEY,
    intent_id    TEXT NOT NULL REFERENCES intents (id),
    kind         TEXT NOT NULL,            -- approve_before | review_after
    state        TEXT NOT NULL,
    risk         TEXT NOT NULL,
    rule         TEXT NOT NULL,
    request      TEXT NOT NULL,            -- everything needed to decide, as JSON
    requested_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    next_ping_at INTEGER,
    pings        INTEGER NOT NULL DEFAULT 0,
    escalate_at  INTEGER,
    decided_at   INTEGER,
    decided_by   TEXT,
    decided_via  TEXT,
    comment      TEXT,
    token        TEXT NOT NULL UNIQUE      -- unguessable, for channel buttons
);
-- At most one open request and one open review per intent.
CREATE UNIQUE INDEX approvals_one_pending ON approvals (intent_id, kind) WHERE state = 'pending';
CREATE INDEX approvals_by_state ON approvals (state, requested_at);

-- Budgets and the breaker count recent step outcomes from the audit log.
CREATE INDEX audit_by_action ON audit (action, at);

-- The circuit breaker: while open, everything waits for the operator.
CREATE TABLE breaker (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    opened_at INTEGER NOT NULL,
    reason    TEXT NOT NULL
);
