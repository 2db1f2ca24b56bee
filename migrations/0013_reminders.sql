-- Reminders from chat ("remind me tomorrow at 9 to call Bob"). Each is a
-- built-in workflow the scheduler runs like any other: a one-time `at`
-- trigger or a `cron` one, a notify step to the chat it came from. `key`
-- is the chat event that asked for it: a redelivery creates nothing new.
CREATE TABLE reminders (
    id           TEXT PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    actor        TEXT NOT NULL,
    chat         TEXT NOT NULL,
    task         TEXT NOT NULL,
    -- One of: a time (once), or a cron expression in `timezone`.
    at           INTEGER,
    cron         TEXT,
    timezone     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    cancelled_at INTEGER,
    CHECK ((at IS NULL) != (cron IS NULL))
);
CREATE INDEX reminders_active ON reminders (cancelled_at, actor);
