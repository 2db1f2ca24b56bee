-- A question's answer (an `ask` step): the choice, or its default when
-- nobody answered in time.
ALTER TABLE approvals ADD COLUMN answer TEXT;

-- A run goes on after its first intent. Steps that need what came before
-- (an earlier step's result, an `ask`'s answer, an event a `wait_for`
-- waits for) are rendered when the run gets there, into the run's next
-- intent. `cursor` is the next step of the file to render (NULL: nothing
-- after the current intent); `current` the intent running now; `step_ids`
-- the file's ids of that intent's steps, in order; `results` what every
-- step so far gave, by id. A run that waits has `resume_at` (a wait's end,
-- or a `wait_for`'s timeout) and, for a `wait_for`, the event it waits
-- for: a delivery to `wait_source` whose correlation is `wait_key`.
ALTER TABLE workflow_runs ADD COLUMN cursor INTEGER;
ALTER TABLE workflow_runs ADD COLUMN current TEXT REFERENCES intents (id);
ALTER TABLE workflow_runs ADD COLUMN step_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE workflow_runs ADD COLUMN results TEXT NOT NULL DEFAULT '{}';
ALTER TABLE workflow_runs ADD COLUMN resume_at INTEGER;
ALTER TABLE workflow_runs ADD COLUMN wait_step TEXT;
ALTER TABLE workflow_runs ADD COLUMN wait_source TEXT;
ALTER TABLE workflow_runs ADD COLUMN wait_key TEXT;
-- How the run ended, once it has (`succeeded`, `failed` …, or the reason
-- a later part could not start); NULL while it goes.
ALTER TABLE workflow_runs ADD COLUMN ended TEXT;
UPDATE workflow_runs SET current = intent_id;
UPDATE workflow_runs SET ended = 'skipped' WHERE outcome = 'skipped';
CREATE INDEX workflow_runs_going ON workflow_runs (cursor) WHERE cursor IS NOT NULL;
CREATE INDEX workflow_runs_waiting ON workflow_runs (wait_source, wait_key) WHERE wait_step IS NOT NULL;

-- What started the run, as its templates see it (`trigger`): later parts
-- render over it too.
ALTER TABLE workflow_runs ADD COLUMN cause TEXT NOT NULL DEFAULT '{}';

-- Each workflow version a run started with, so that a run goes on with the
-- file it started with even after the file changed.
CREATE TABLE workflow_versions (
    workflow TEXT NOT NULL,
    version  TEXT NOT NULL,
    text     TEXT NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (workflow, version)
);
