-- The email adapter's record of accepted sends (by step idempotency key),
-- and schedules: when each was first seen, and one row per fired period.

CREATE TABLE emails_sent (
    key         TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL,
    recipients  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    response    TEXT NOT NULL,
    accepted_at INTEGER NOT NULL
);

CREATE TABLE schedules (
    name       TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL
);

CREATE TABLE schedule_runs (
    schedule    TEXT NOT NULL,
    -- The period's wall-clock time in the schedule's zone, `YYYY-MM-DDTHH:MM:SS`:
    -- a time that occurs twice when clocks go back is still one period.
    period      TEXT NOT NULL,
    -- The period's instant (UTC ms) and when it fired.
    period_at   INTEGER NOT NULL,
    fired_at    INTEGER NOT NULL,
    catch_up    INTEGER NOT NULL DEFAULT 0,
    -- sent | skipped (nothing happened) | manual
    outcome     TEXT NOT NULL,
    destination TEXT NOT NULL,
    intent_id   TEXT,
    PRIMARY KEY (schedule, period)
);
CREATE INDEX schedule_runs_latest ON schedule_runs (schedule, period_at);
