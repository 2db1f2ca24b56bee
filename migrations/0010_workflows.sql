-- One row per workflow run, keyed by what started it: a cron period, a
-- one-shot time, an Idempotency-Key, a chat event. The key is unique, and
-- the row commits with the run's intent, so a period, a redelivery or a
-- retried request starts nothing new, across restarts and processes.
CREATE TABLE workflow_runs (
    key        TEXT PRIMARY KEY,
    workflow   TEXT NOT NULL,
    -- The workflow file's content hash when the run started.
    version    TEXT NOT NULL,
    trigger    TEXT NOT NULL,
    -- NULL when the run was skipped (an overlap, or no step to take).
    intent_id  TEXT REFERENCES intents (id),
    -- The resolved arguments, and their hash: a replayed key with other
    -- arguments is a conflict, never the first run's answer.
    args       TEXT NOT NULL,
    args_hash  TEXT NOT NULL,
    actor      TEXT NOT NULL,
    -- A cron or `at` run: the period it ran for, and whether it was late.
    period_at  INTEGER,
    catch_up   INTEGER NOT NULL DEFAULT 0,
    -- `started` or `skipped`, and why a skip happened.
    outcome    TEXT NOT NULL,
    note       TEXT,
    started_at INTEGER NOT NULL
);
CREATE INDEX workflow_runs_by_workflow ON workflow_runs (workflow, started_at);
CREATE INDEX workflow_runs_periods ON workflow_runs (workflow, trigger, period_at);

-- Per workflow: periods after `due_since` are due (set when a workflow is
-- first seen and when it is resumed, so neither runs the past), and whether
-- the operator paused it.
CREATE TABLE workflow_state (
    workflow  TEXT PRIMARY KEY,
    due_since INTEGER NOT NULL,
    paused_at INTEGER
);
