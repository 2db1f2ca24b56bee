-- Reasoning: the cost ledger (one row per model call) and the reply an
-- inbound event got, so a redelivered event is answered the same way
-- without reasoning again.

CREATE TABLE model_calls (
    id           TEXT PRIMARY KEY,
    at           INTEGER NOT NULL,
    -- UTC day, `YYYY-MM-DD`, for the daily budget and the summaries.
    day          TEXT NOT NULL,
    tier         INTEGER NOT NULL CHECK (tier IN (2, 3)),
    role         TEXT NOT NULL,
    role_version TEXT NOT NULL,
    model        TEXT NOT NULL,
    tokens_in    INTEGER NOT NULL,
    tokens_out   INTEGER NOT NULL,
    cost_usd     REAL NOT NULL,
    latency_ms   INTEGER NOT NULL,
    -- ok | invalid_output | http_error | timeout
    outcome      TEXT NOT NULL,
    detail       TEXT,
    -- The inbound event that asked, `channel:external_id`.
    request      TEXT
);
CREATE INDEX model_calls_at ON model_calls (at);
CREATE INDEX model_calls_day ON model_calls (day);

ALTER TABLE inbox ADD COLUMN reply TEXT;
